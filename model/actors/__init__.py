"""The actors, one module each, and their registry: ``ACTORS``, in the order they act in a day.

Each actor module holds everything about one actor: its parameters, its agent, its rules and the columns it
records. The model (``model/model.py``) builds the actors in this order and steps them in this order each day;
``model/config.py`` gives each its scenario section, ``model/rules.py`` registers its rules and
``model/outputs.py`` publishes its columns, all from this list.

The actor protocol: an actor module defines

``FIELD``
    its section of the scenario (``ModelConfig.<FIELD>``), e.g. ``"iran"``.
``Params``, ``default_params``
    the type of that section (a :class:`model.params.Strict` model whose numbers are declared with
    :func:`model.params.sourced`, or an annotated list of them) and a callable giving its default value.
``OPTIONAL``
    ``True`` for an actor that is off unless its section says ``enabled: true`` (its ``Params`` then has
    ``enabled: bool = False``). An actor that is off is not built: it draws no random numbers, records no
    columns, and every table is bit-identical to a run without the actor.
``RULES``
    its rule classes (:class:`model.rule.Rule` subclasses with a ``name``, one ``kind`` for the actor, a
    ``source``, a ``classifier`` and ``Params``), in the order the documentation lists them.
``rule_specs(section)``
    yields ``(path within the section, kind, name, params)`` for each named rule the section uses, so a
    scenario's rule names and parameters are checked before any simulating.
``DAILY``
    the daily-table columns it records (:class:`model.columns.Column`); the militias also declare ``GROUPS``,
    the per-group table.
``build(model)``
    returns its agent (a :class:`mesa.Agent`, or an object stepping several, like the militias), which has
    ``step()`` (called once a day, in registry order) and ``record(t)`` (writes its ``DAILY`` columns for day
    ``t`` into ``model.records``, arrays of shape (days, R) allocated from ``DAILY``).

Optionally: ``check(section)`` returns (path, message) problems a field validator cannot see; ``SUMMARY``
declares the actor's columns of the summary table (one row per replicate) beyond the totals of its count
columns, which every summary has, and ``summary(model)`` computes them from ``model.records`` as arrays of
shape (R,) by name (an entry ``X_day``, day numbers with -1 for never, is published as ``SUMMARY``'s
``X_date``).

Random numbers: an actor draws only from its own streams, ``model.streams[ModelStream.X]``; a new actor adds
its key at the end of :class:`model.streams.ModelStream` (the other streams do not move).

Adding an optional actor takes four files: its module here, its line in ``ACTORS`` below, its stream key in
``model/streams.py`` and a scenario that enables it (docs/ODD.md, "Adding an actor").
"""

from __future__ import annotations

from types import ModuleType

from model.actors import houthis, iran, iraq, militias, united_states

# the registry: the actors in the order they act in a day (the militias attack, the United States answers,
# then Iran and Iraq's government take in the day)
ACTORS: tuple[ModuleType, ...] = (
    militias,
    united_states,
    iran,
    iraq,
    houthis,  # optional: the Red Sea theatre (off unless houthis.enabled)
)


def enabled(actor: ModuleType, config) -> bool:
    """Whether ``actor`` takes part in a run of ``config`` (optional actors only when their section enables them)."""
    return not getattr(actor, "OPTIONAL", False) or bool(getattr(getattr(config, actor.FIELD), "enabled", False))
