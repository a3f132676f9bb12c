"""Scenario schema and loading: YAML (safe_load) -> ``extends:`` deep merge -> pydantic validation.

Every problem becomes a :class:`UserError` naming the file, the field path, the bad value and
what was expected.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import yaml
from pydantic import Field, PrivateAttr, ValidationError

from experiments.scenario.errors import UserError, format_path, from_validation
from experiments.scenario.yamlfile import load_text, read_yaml
from experiments.scenario.blocks import SweepSpec
from model.actors import ACTORS, enabled
from model.config import ModelConfig, float_paths, validate_rules
from model.params import Strict


class Uncertainty(Strict):
    """Where per-replicate parameter draws come from (e.g. the calibration posterior)."""

    posterior: str | None = Field(
        None, description="Parquet file of parameter draws: one column per dotted float path, optional 'weight'"
    )


class Scenario(ModelConfig):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100, description="also the default output folder name")
    description: str = ""
    seed: int = Field(20231007, ge=0, le=2**63 - 1, description="root of every random stream (numpy SeedSequence)")
    replicates: int = Field(100, ge=1, le=10_000_000)
    block_size: int = Field(
        1000, ge=1, le=100_000, description="replicates per batched model; part of the random-stream layout"
    )
    extends: str | None = Field(None, description="parent scenario file, deep-merged under this one")
    uncertainty: Uncertainty | None = None
    sweep: SweepSpec | None = None
    # the folder of the file it was read from: relative paths inside it (uncertainty.posterior) mean
    # "relative to that file" also after with_overrides and in worker processes
    _base_dir: Path | None = PrivateAttr(default=None)
    # the command line's --set values it was loaded with: manifests record them beside the scenario
    _overrides: dict[str, Any] = PrivateAttr(default_factory=dict)
    # dotted paths set explicitly (--set, a sweep lever, a compare lever's overrides): posterior draws never
    # override them (experiments.scenario.held)
    _held: tuple[str, ...] = PrivateAttr(default=())

    @property
    def base_dir(self) -> Path | None:
        return self._base_dir

    @property
    def held(self) -> tuple[str, ...]:
        """Paths set explicitly: every replicate runs their set value, over any posterior draws."""
        return self._held

    def holding(self, paths: Iterable[str]) -> "Scenario":
        """This scenario also holding ``paths`` fixed (a copy)."""
        out = self.model_copy()
        out._base_dir, out._overrides = self._base_dir, dict(self._overrides)
        out._held = tuple(dict.fromkeys((*self._held, *paths)))
        return out

    @property
    def overrides(self) -> dict[str, Any]:
        return self._overrides

    def identity_hash(self) -> str:
        """Hash of everything that defines the scenario's outcomes except seed and replicate count.

        Posterior draws count by their contents, not their file name: results from draws that were
        recalibrated since are not mistaken for results of this scenario."""
        data = self.model_dump(mode="json", exclude={"seed", "replicates", "extends"})
        for actor in ACTORS:  # an optional actor that is off changes no outcome: adding one keeps every identity
            if not enabled(actor, self):
                data.pop(actor.FIELD, None)
        if self.held:  # a held parameter runs its set value instead of its draws: other numbers
            data["held"] = sorted(self.held)
        if self.uncertainty is not None and self.uncertainty.posterior is not None:
            found = self.posterior_file()
            if found is not None:  # the draws' contents stand for the file name
                data["uncertainty"]["posterior"] = "sha256:" + file_digest(found)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def posterior_file(self, base_dir: Path | None = None) -> Path | None:
        """The file ``uncertainty.posterior`` names: relative to the scenario's folder first, then the
        working folder, then the project (None when absent)."""
        if self.uncertainty is None or self.uncertainty.posterior is None:
            return None
        path = Path(self.uncertainty.posterior)
        base_dir = base_dir or self.base_dir
        return next((c for c in posterior_candidates(path, base_dir) if c.is_file()), None)


def inside(path: Path, *roots: Path | None) -> bool:
    """Whether ``path`` (symlinks resolved) lies inside one of ``roots`` (or the project)."""
    real = Path(os.path.realpath(path))
    for root in (PROJECT_ROOT, *roots):
        if root is not None and real.is_relative_to(Path(os.path.realpath(root))):
            return True
    return False


def check_inside(name: str, own_dir: Path, file: Any, where: tuple[Any, ...] | str, what: str,
                 project_relative: bool = False) -> Path:
    """The file a scenario names, refused (without reading it) when it resolves outside the project and
    outside the naming scenario's own folder (``project_relative``: a relative name may also mean one
    inside the project, as posterior paths do)."""
    target = Path(name) if Path(name).is_absolute() else own_dir / name
    if project_relative and not Path(name).is_absolute() and not inside(target, own_dir) and inside(PROJECT_ROOT / name):
        return PROJECT_ROOT / name
    if not inside(target, own_dir):
        raise UserError(f"{what} {name!r} resolves outside the project and outside this scenario's folder; "
                        "copy it into one of them", file=file, path=where)
    return target


def posterior_candidates(path: Path, base_dir: Path | None) -> list[Path]:
    """Where a posterior path may be: relative to the scenario's folder, the working folder or the project,
    only inside the project or the scenario's folder (a path outside them is never read)."""
    candidates = [path] if path.is_absolute() else ([base_dir / path] if base_dir else []) + [Path.cwd() / path, PROJECT_ROOT / path]
    return [c for c in candidates if inside(c, base_dir)]


PROJECT_ROOT = Path(__file__).resolve().parents[2]
_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (cached by path, size and modification time)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists included) in ``override`` replaces ``base``."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out




def resolve_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The scenario mapping with its ``extends:`` chain merged in (parents first)."""
    path = Path(path)
    real = path.resolve()
    if real in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, real))
        raise UserError(f"extends forms a cycle: {chain}", file=path, path=("extends",))
    data = read_yaml(path)
    _check_posterior_path(data, path)
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise UserError(f"expected a file name, got {parent!r}", file=path, path=("extends",))
    parent_path = check_inside(parent, path.parent, path, ("extends",), "parent scenario")
    try:
        parent_path.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:  # a name too long, a symlink loop, a folder that cannot be searched: one line
        raise UserError(f"parent scenario {parent!r} cannot be looked up: {exc.strerror}", file=path, path=("extends",)) from None
    if not parent_path.exists():
        raise UserError(f"parent scenario {parent!r} not found (looked for {parent_path})", file=path, path=("extends",))
    if not parent_path.is_file():
        raise UserError(f"parent scenario {parent!r} is not a regular file (a folder or device?)", file=path, path=("extends",))
    parent_raw = rebase_posterior(resolve_raw(parent_path, (*_seen, real)), parent_path.parent, path.parent)
    check_structure(parent_raw, data, path)
    merged = deep_merge(parent_raw, data)
    merged["extends"] = parent
    return merged


def _check_posterior_path(data: dict[str, Any], path: Path) -> None:
    unc = data.get("uncertainty")
    post = unc.get("posterior") if isinstance(unc, dict) else None
    if isinstance(post, str):
        check_inside(post, path.parent, path, ("uncertainty", "posterior"), "parameter draws", project_relative=True)


def _structure(militias: Any) -> list[tuple[Any, Any]] | None:
    """(short, name) of each group of a raw militias list (None when the list is left to the defaults)."""
    if militias is None:
        from model.actors.militias import default_militias

        return [(m.short, m.name) for m in default_militias()]
    if not isinstance(militias, list):
        return None
    return [(m.get("short"), m.get("name")) if isinstance(m, dict) else (None, None) for m in militias]


def check_structure(parent: dict[str, Any], child: dict[str, Any], file: Path) -> None:
    """A posterior applies only to the groups it was fitted for: a file that replaces the groups of a
    parent carrying posterior draws must drop them (``uncertainty: {posterior: null}``) or name its own."""
    unc = parent.get("uncertainty")
    post = unc.get("posterior") if isinstance(unc, dict) else None
    if not isinstance(post, str) or "militias" not in child or "uncertainty" in child:
        return
    before, after = _structure(parent.get("militias")), _structure(child.get("militias"))
    if before is None or after is None or before == after:
        return
    if len(before) != len(after):
        what = f"{len(before)} groups ({', '.join(str(s) for s, _ in before)}); this file lists {len(after)} ({', '.join(str(s) for s, _ in after)})"
    else:
        i = next(k for k, (a, b) in enumerate(zip(before, after)) if a != b)
        what = f"group {i} {before[i][0]!r} ({before[i][1]}); this file has {after[i][0]!r} ({after[i][1]}) there"
    raise UserError(f"the inherited posterior {post!r} was fitted for {what}; its draws would replace these groups' values "
                    "by position. Drop it with `uncertainty: {posterior: null}` or give a posterior fitted for these groups",
                    file=file, path=("militias",))


def rebase_posterior(raw: dict[str, Any], parent_dir: Path, child_dir: Path) -> dict[str, Any]:
    """A parent's relative ``uncertainty.posterior`` re-expressed from the child's folder, so the
    path always means "relative to the file that wrote it" (as ``extends`` itself does)."""
    unc = raw.get("uncertainty")
    post = unc.get("posterior") if isinstance(unc, dict) else None
    if not isinstance(post, str) or Path(post).is_absolute() or parent_dir.resolve() == child_dir.resolve():
        return raw
    try:
        rebased = Path(os.path.relpath(parent_dir.resolve() / post, child_dir.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        rebased = (parent_dir.resolve() / post).as_posix()
    return {**raw, "uncertainty": {**unc, "posterior": rebased}}


def replay_inputs(data: dict[str, Any]) -> dict[str, Any]:
    """Dated inputs a scenario takes from the observed data (the model reads no files): ``houthis.strikes:
    observed`` becomes the U.S./UK strikes in Yemen of experiments/scenario/data/observed_red_sea.yaml."""
    h = data.get("houthis")
    if isinstance(h, dict) and h.get("strikes") == "observed":
        from experiments.scenario.observed import red_sea_strikes

        data = {**data, "houthis": {**h, "strikes": red_sea_strikes()}}
    return data


def validate_data(data: dict[str, Any], file: str | Path | None = None) -> Scenario:
    data = replay_inputs(data)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, file) from None
    problems = validate_rules(scenario)
    if problems:
        path, msg = problems[0]
        raise UserError(msg, file=file, path=path)
    return scenario


Overrides = Mapping[str, Any]  # dotted path -> value, as in sweeps (``--set PATH=VALUE`` on the command line)


def load_scenario(path: str | Path, overrides: Overrides | None = None) -> Scenario:
    """Read, merge and validate a scenario file; ``overrides`` are set in the merged YAML before
    validation, so an overridden value is checked exactly as if the file held it."""
    raw = apply_overrides(resolve_raw(path), overrides, file=path)
    with blame_overrides(overrides):
        scenario = validate_data(raw, file=path)
    scenario._base_dir = Path(path).resolve().parent
    scenario._overrides = _recorded(overrides)
    scenario._held = tuple(overrides or ())
    return scenario


def as_scenario(scenario_or_path: Scenario | str | Path, overrides: Overrides | None = None) -> Scenario:
    """Library entry points take a scenario or its file; ``overrides`` apply to either."""
    if isinstance(scenario_or_path, Scenario):
        if not overrides:
            return scenario_or_path
        with blame_overrides(overrides):
            out = with_overrides(scenario_or_path, overrides)
        out._overrides = {**scenario_or_path.overrides, **_recorded(overrides)}
        out._held = tuple(dict.fromkeys((*scenario_or_path.held, *overrides)))
        return out
    return load_scenario(scenario_or_path, overrides)


def parse_overrides(items: Iterable[str], option: str = "--set") -> dict[str, Any]:
    """``PATH=VALUE`` strings -> {dotted path: value}; the value is read as YAML (``3`` is a number,
    ``[a, b]`` a list, ``null`` nothing). Later settings of the same path win."""
    out: dict[str, Any] = {}
    for item in items:
        path, sep, text = item.partition("=")
        path = path.strip()
        if not sep or not path or any(not part for part in path.split(".")):
            raise UserError(f"expected PATH=VALUE with a dotted path (e.g. militias.*.base_rate=0.5), got {item!r}", path=option)
        if re.search(r"[\[\]\s]", path):  # one path syntax: the dotted one that error messages print
            dotted = re.sub(r"\[\s*([^\]]*?)\s*\]", r".\1", path).replace(" ", "")
            raise UserError(f"paths are dotted, with list positions as numbers: write {dotted!r}, not {path!r}", path=option)
        try:
            out[path] = load_text(text)
        except yaml.YAMLError as exc:
            raise UserError(f"the value {text!r} is not valid YAML: {getattr(exc, 'problem', exc)}", path=f"{option} {path}") from None
    return out


def _recorded(overrides: Overrides | None) -> dict[str, Any]:
    """The overrides as JSON values (a YAML date becomes its ISO text) for manifests."""
    return json.loads(json.dumps(dict(overrides or {}), default=str))


def apply_overrides(raw: dict[str, Any], overrides: Overrides | None, file: str | Path | None = None,
                    option: str = "--set", fill_defaults: bool = True) -> dict[str, Any]:
    """A copy of the raw mapping with each dotted path set (a path that cannot be set names the option).

    A path into a part the file leaves to the defaults (``militias.*.base_rate`` when the file lists
    no militias) first fills that top-level field with its validated value, defaults included
    (``fill_defaults=False``: documents that are not scenarios, e.g. calibration files)."""
    if not overrides:
        return raw
    if fill_defaults:
        from experiments.scenario.held import check_set_paths

        check_set_paths(overrides, option)
        post = overrides.get("uncertainty.posterior", (overrides.get("uncertainty") or {}).get("posterior")
                             if isinstance(overrides.get("uncertainty"), dict) else None)
        if isinstance(post, str):
            own = Path(file).resolve().parent if file is not None else Path.cwd()
            check_inside(post, own, None, f"{option} uncertainty.posterior", "parameter draws", project_relative=True)
    raw = copy.deepcopy(raw)
    for path, value in overrides.items():
        parts = path.split(".")
        if fill_defaults and parts[0] in Scenario.model_fields and not _reaches(raw, parts[:-1]):
            with blame_overrides(overrides, option):
                known = validate_data({k: v for k, v in raw.items() if k in Scenario.model_fields}, file=file)
            raw[parts[0]] = known.model_dump(mode="python")[parts[0]]
        try:
            set_path(raw, path, value)
        except UserError as exc:
            raise UserError(exc.message, path=f"{option} {path}") from None
    return raw


def _reaches(node: Any, parts: list[str]) -> bool:
    """Whether every container along ``parts`` is already in the raw mapping."""
    for part in parts:
        if isinstance(node, dict) and node.get(part) is not None:
            node = node[part]
        elif isinstance(node, list) and node and (part == "*" or (part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node))):
            node = node[0] if part == "*" else node[int(part)]
        else:
            return False
    return True


@contextmanager
def blame_overrides(overrides: Overrides | None, option: str = "--set") -> Iterator[None]:
    """A validation error at or under an overridden path names the option and path, not the file
    (the file may be fine: the value came from the command line)."""
    try:
        yield
    except UserError as exc:
        where = tuple(str(p) for p in exc.path) if isinstance(exc.path, tuple) else ()
        for path in overrides or ():
            parts = path.split(".")
            n = min(len(parts), len(where))
            if n and all(a in ("*", b) for a, b in zip(parts[:n], where[:n])):
                deeper = f"{format_path(exc.path)}: " if n < len(where) else ""
                raise UserError(deeper + exc.message, path=f"{option} {path}") from None
        raise


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path ('militias.0.base_rate', 'militias.*.iran_obedience') in a raw mapping."""
    parts = path.split(".")
    targets: list[Any] = [data]
    for depth, part in enumerate(parts[:-1]):
        nxt: list[Any] = []
        for node in targets:
            if isinstance(node, list):
                idx = range(len(node)) if part == "*" else [_index(part, path, len(node))]
                nxt.extend(node[i] for i in idx)
            elif isinstance(node, dict):
                if part not in node or node[part] is None:
                    node[part] = {}
                nxt.append(node[part])
            else:
                raise UserError(f"cannot descend into {'.'.join(parts[:depth + 1])!r}", path=path)
        targets = nxt
    last = parts[-1]
    for node in targets:
        if isinstance(node, list):
            for i in range(len(node)) if last == "*" else [_index(last, path, len(node))]:
                node[i] = copy.deepcopy(value)
        elif isinstance(node, dict):
            node[last] = copy.deepcopy(value)
        else:
            raise UserError(f"cannot set a field on {type(node).__name__}", path=path)


def _index(part: str, path: str, n: int) -> int:
    try:
        i = int(part)
    except ValueError:
        raise UserError(f"expected a list index or '*', got {part!r}", path=path) from None
    if not -n <= i < n:
        raise UserError(f"index {i} out of range (the list has {n} items)", path=path)
    return i


def with_overrides(scenario: Scenario, overrides: dict[str, Any], file: str | Path | None = None) -> Scenario:
    """A new validated scenario with dotted-path values replaced (levers, sweep points)."""
    data = scenario.model_dump(mode="python")
    for path, value in overrides.items():
        set_path(data, path, value)
    out = validate_data(data, file=file)
    out._base_dir, out._overrides, out._held = scenario.base_dir, scenario.overrides, scenario.held
    return out


# --------------------------------------------------------------------------- scenarios with an analysis block


def spec_hash(scenario: Scenario, spec: Strict) -> str:
    """What identifies an analysis block's results: the scenario and the block's settings (16 hex digits)."""
    data = {"scenario": scenario.identity_hash(), "spec": spec.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def load_block(path: str | Path, key: str, spec_type: type[Strict],
               overrides: Overrides | None = None) -> tuple[Scenario, Any, dict[str, Any]]:
    """Read a scenario file, pop its ``key:`` block and validate both parts (shared by compare,
    sensitivity and phase-map scenarios). Also returns the raw merged mapping (without the block)
    so variants can be built with :func:`variant`. ``overrides`` may set the block's fields too
    (``compare.replicates``)."""
    raw = apply_overrides(resolve_raw(path), overrides, file=path)
    block = raw.pop(key, None)
    if block is None:
        raise UserError(f"required block '{key}:' is missing", file=path, path=(key,))
    with blame_overrides(overrides):
        scenario = validate_data(raw, file=path)
        try:
            spec = spec_type.model_validate(block)
        except ValidationError as exc:
            raise from_validation(exc, path, prefix=(key,)) from None
    scenario._overrides = _recorded(overrides)
    scenario._held = tuple(p for p in overrides or () if p.split(".")[0] in Scenario.model_fields)
    scenario._base_dir = Path(path).resolve().parent
    return scenario, spec, raw


def variant(raw: dict[str, Any], overrides: dict[str, Any], file: str | Path | None = None) -> Scenario:
    """A validated scenario from a raw mapping (a file plus its ``extends`` chain) with dotted-path overrides."""
    return with_overrides(validate_data(raw, file=file), overrides, file=file)


def check_float_paths(scenario: Scenario, paths: list[str], file: Any, where: tuple[Any, ...]) -> None:
    """Every path must be a per-replicate float parameter (``militias.*.x`` checked for militia 0)."""
    allowed = float_paths(scenario)
    for p in paths:
        if p.replace("*", "0") not in allowed:
            raise UserError(
                f"{p!r} is not a float parameter that can vary between replicates "
                "(U.S. policy parameters are levers; see `escalation params`)",
                file=file, path=where + (p,),
            )


__all__ = ["Scenario", "Uncertainty", "as_scenario", "deep_merge", "format_path", "load_scenario", "parse_overrides",
           "validate_data"]
