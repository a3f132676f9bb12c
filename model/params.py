"""Model parameters, each with a default and the source it comes from.

Every numeric parameter is declared with :func:`sourced`, which stores the citation
(seed file + quote, a paper, or the word "assumption") in the field's JSON-schema
metadata. ``docs/ODD.md``'s parameter tables are generated from these declarations
(``escalation params``), so the code and the documentation cannot drift apart.

Source files are abbreviated by their number in ``shared/sources``:
000 = CS Monitor (Feb 6 2024), 001 = The Conversation (early Feb 2024),
002 = AP reprint + Sept 2024 piece, 003 = policy brief (Feb 2024),
004 = AP (mid-Nov 2023).
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

COUNTRIES = ("iraq", "syria", "jordan")
WEAPONS = ("drone", "rocket", "missile")


MAX_MAGNITUDE = 1e6  # largest float any parameter may take (per-field bounds are tighter)


def sourced(default: Any, source: str, **constraints: Any) -> Any:
    """A pydantic field whose default carries its citation."""
    return Field(default, json_schema_extra={"source": source}, **constraints)


def bool_as_number(annotation: Any, value: Any) -> bool:
    """Whether ``value`` holds a boolean where ``annotation`` wants a number (also inside lists,
    tuples and mappings of numbers); a union that takes booleans or anything takes it."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return bool_as_number(args[0], value)
    if origin in (Union, UnionType):
        if isinstance(value, bool):
            return not any(a is bool or a is Any for a in args) and any(a in (int, float) for a in args)
        return any(bool_as_number(a, value) for a in args)
    if isinstance(value, bool):
        return annotation in (int, float)
    if origin in (list, tuple, set, frozenset) and isinstance(value, (list, tuple)):
        items = args[:1] * len(value) if origin is not tuple or (len(args) == 2 and args[1] is Ellipsis) else args
        return any(bool_as_number(a, v) for a, v in zip(items, value))
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return any(bool_as_number(args[1], v) for v in value.values())
    return False


def unknown_field(model: Any, name: str) -> str:
    """An unknown key, in words: "unknown field 'polcy'; did you mean 'policy'? (valid: name, policy, ...)"."""
    import difflib

    fields = list(getattr(model, "model_fields", None) or {})
    if not fields:
        return "unknown field (check the spelling; docs/scenario_reference.md lists the fields)"
    near = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"unknown field {name!r}{hint} (valid: {', '.join(fields)})"


class Strict(BaseModel):
    """Base for every parameter block: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML's ``true`` is not 1: a boolean where a number (or a list or mapping of numbers) is
        expected is refused, instead of pydantic's lax reading of ``true`` as 1 for a seed or a rate."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and bool_as_number(field.annotation, value):
            got = f"the boolean {value!r}" if isinstance(value, bool) else "a boolean among its values"
            raise ValueError(f"expected a number, got {got} (YAML reads true/false/yes/no/on/off as booleans)")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _within_magnitude(cls, value: Any) -> Any:
        """Safety net under the per-field bounds: no float parameter may exceed what float32 records and
        int32 counts can hold once multiplied out (``.inf`` and NaN are refused by ``allow_inf_nan``)."""
        if isinstance(value, float) and abs(value) > MAX_MAGNITUDE:
            raise ValueError(f"expected a number of magnitude at most {MAX_MAGNITUDE:g}")
        return value


class PerCountry(Strict):
    iraq: float = Field(ge=0, le=1e6)
    syria: float = Field(ge=0, le=1e6)
    jordan: float = Field(ge=0, le=1e6)

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.iraq, self.syria, self.jordan)


class PerCountryProbability(PerCountry):
    """Per-country probabilities (bounds on each value: ge/le cannot apply to a whole mapping)."""

    iraq: float = Field(ge=0, le=1)
    syria: float = Field(ge=0, le=1)
    jordan: float = Field(ge=0, le=1)


class PerWeapon(Strict):
    drone: float = Field(ge=0, le=1e6)
    rocket: float = Field(ge=0, le=1e6)
    missile: float = Field(ge=0, le=1e6)

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.drone, self.rocket, self.missile)


class PerWeaponProbability(PerWeapon):
    """Per-weapon probabilities."""

    drone: float = Field(ge=0, le=1)
    rocket: float = Field(ge=0, le=1)
    missile: float = Field(ge=0, le=1)


def _weights_positive(values: tuple[float, ...], what: str) -> None:
    if sum(values) <= 0:
        raise ValueError(f"{what} must not all be zero")


# --------------------------------------------------------------------------- militias


class MilitiaParams(Strict):
    """One armed group under the Islamic Resistance in Iraq umbrella."""

    name: str = Field(min_length=1)
    short: str = Field(min_length=1, max_length=12)
    base_rate: float = sourced(
        0.5,
        "004: '61 attacks ... since Oct. 17' by mid-Nov (~27 days, ~2.3/day for all groups); "
        "the split between groups is an assumption (000: Kata'ib Hezbollah 'long at the forefront of attacks')",
        ge=0, le=100,
        description="attacks per day at full Gaza-war intensity with no deterrence, grievance or restraint",
    )
    target_weights: PerCountry = sourced(
        PerCountry(iraq=29, syria=32, jordan=0.5),
        "004: 'Of those, 29 have been in Iraq and 32 in Syria'; Jordan: the Pentagon tallies to Nov 23 2023 "
        "(shared/data/pentagon_tallies.csv, Reuters, 2023-11-23: 73 attacks, 36 Iraq + 37 Syria) hold no attack "
        "in Jordan, so its weight is half an attack in ~60 (a half-count prior for 0 of 73; assumption); "
        "000: the 'cross-border drone strike' on Tower 22 is the only Jordan attack in the sources",
        description="relative weight of each country's U.S. sites in the group's target choice",
    )
    weapon_mix: PerWeapon = sourced(
        PerWeapon(drone=0.55, rocket=0.4, missile=0.05),
        "004: 'The bulk of the attacks ... have been with one-way suicide drones or rockets'; split is an assumption",
        description="share of attacks by weapon when stocks are full",
    )
    stock: PerWeapon = sourced(
        PerWeapon(drone=80, rocket=80, missile=10),
        "assumption (001: strikes aimed at 'storage locations for rockets, missiles, drones')",
        description="initial weapons stock in attack-equivalents",
    )
    stock_reference: float = sourced(
        40.0,
        "assumption",
        gt=0, le=1e6,
        description="stock at or above which the group is not supply-limited (propensity scales with stock/reference below it)",
    )
    iran_obedience: float = sourced(
        0.6,
        "000: groups 'at times will take orders from Iran – but at other times will diverge' (Mansour); value assumption",
        ge=0,
        le=1,
        description="how strongly Iran's restraint signal lowers the group's attacks and can make it suspend",
    )
    self_excitation: float = sourced(
        0.4,
        "Lewis, Mohler, Brantingham & Bertozzi (2012), 'Self-exciting point process models of civilian deaths in "
        "Iraq', Security Journal 25: 37-50 % of insurgent attacks are triggered by earlier ones (Mohler et al. 2011, "
        "JASA 106, for the method); value: middle of that range",
        ge=0,
        le=0.9,
        description="branching ratio of the self-exciting (Hawkes) attack process: mean attacks triggered per attack",
    )
    excitation_half_life: float = sourced(
        3.0,
        "assumption: triggered attacks follow within days (Lewis et al. 2012 report triggering over days to weeks)",
        gt=0,
        le=60,
        description="days; half-life of the exponential triggering kernel",
    )
    iraq_susceptibility: float = sourced(
        0.3,
        "004: al-Sudani put 'great pressure' on the militias not to attack during Blinken's visit; value assumption",
        ge=0,
        le=1,
        description="how strongly Iraqi government pressure lowers the group's attacks",
    )
    behaviours: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {
            "tit_for_tat": {}, "strike_response": {}, "avoid_exposure": {}, "iran_following": {}, "umbrella_following": {},
            "iraq_pressured": {},
        },
        description="named militia behaviour rules (model.rules) with parameter overrides; combined multiplicatively",
    )

    @model_validator(mode="after")
    def _check(self) -> "MilitiaParams":
        _weights_positive(self.target_weights.as_tuple(), "target_weights")
        _weights_positive(self.weapon_mix.as_tuple(), "weapon_mix")
        return self


def default_militias() -> list[MilitiaParams]:
    """The five groups shipped by default.

    Names from 000/001/004 ('Kata'ib Hezbollah', 'Harakat al-Nujaba', 'Asaib Ahl al-Haq');
    Kata'ib Sayyid al-Shuhada is named in the issue and the literature (Knights, Washington
    Institute 'Militia Spotlight' profiles); the rate split (sums to ~2.3/day) and obedience
    values are assumptions, ordered by the sources' emphasis on Kata'ib Hezbollah.
    """
    return [
        MilitiaParams(name="Kata'ib Hezbollah", short="KH", base_rate=0.8, iran_obedience=0.7, iraq_susceptibility=0.2),
        MilitiaParams(name="Harakat al-Nujaba", short="HaN", base_rate=0.6, iran_obedience=0.4, iraq_susceptibility=0.1),
        MilitiaParams(name="Kata'ib Sayyid al-Shuhada", short="KSS", base_rate=0.35, iran_obedience=0.6),
        MilitiaParams(name="Asa'ib Ahl al-Haq", short="AAH", base_rate=0.15, iran_obedience=0.6, iraq_susceptibility=0.6),
        MilitiaParams(name="Other IRI factions", short="IRI", base_rate=0.4, iran_obedience=0.5),
    ]


# --------------------------------------------------------------------------- attack effects


class AttackEffects(Strict):
    """What an attack does to U.S. forces, by weapon and by country."""

    us_deaths: Literal["endogenous", "replayed"] = sourced(
        "endogenous",
        "design: 'replayed' conditions a historical run on the reported U.S. deaths (exogenous.events of kind "
        "us_casualties, e.g. Tower 22 on Jan 28 2024, 003) the way the historical policy conditions it on the "
        "reported strikes; 'endogenous' (counterfactuals) lets attacks kill with p_fatal_given_harm",
        description="where U.S. deaths come from: drawn from attacks, or replayed from dated casualty events",
    )

    p_harm: PerWeaponProbability = sourced(
        PerWeaponProbability(drone=0.06, rocket=0.04, missile=0.2),
        "004: 'in most cases there were no injuries and only minor damage'; values assumption, tuned to "
        "'at least 60 U.S. personnel have reported minor injuries' (004) after 61 attacks",
        description="probability that an attack injures or kills anyone",
    )
    defense: PerCountry = sourced(
        PerCountry(iraq=1.0, syria=1.0, jordan=2.5),
        "assumption: Tower 22 (000, 003) is a small outpost; the only U.S. deaths in the sources were there",
        description="multiplier on p_harm by country (force protection)",
    )
    injured_per_harm: float = sourced(
        12.0,
        "004: 'at least 60 U.S. personnel have reported minor injuries', most 'in the initial attacks between "
        "Oct. 17 and 21'; 003: Tower 22 'killed three US soldiers and injured 40 others'",
        gt=0, le=1000,
        description="mean U.S. injured per harmful attack (Poisson)",
    )
    p_fatal_given_harm: PerCountryProbability = sourced(
        PerCountryProbability(iraq=0.01, syria=0.01, jordan=0.4),
        "Iraq/Syria: no U.S. death in the 78 attacks to Dec 7 2023 (shared/data/pentagon_tallies.csv, Rudaw, "
        "2023-12-07; 004: one contractor 'suffered a cardiac arrest', not an attack death) nor, by 000, in 'more "
        "than 165 attacks' to Feb 6 2024 except Tower 22; Jordan: 000: 'a cross-border drone strike killed three "
        "American soldiers in Jordan'. Values assumption; they matter only with endogenous deaths (counterfactuals)",
        description="probability that a harmful attack kills U.S. personnel",
    )
    killed_per_fatal: float = sourced(
        3.0,
        "003: Tower 22 attack 'killed three US soldiers'",
        ge=1, le=1000,
        description="mean U.S. killed in a fatal attack (at least one)",
    )


# --------------------------------------------------------------------------- actors


class Posture(Strict):
    """U.S. force posture; troops cap the casualties an attack in that country can cause."""

    troops: PerCountry = sourced(
        PerCountry(iraq=2500, syria=900, jordan=350),
        "000: 'American troops number 2,500 in Iraq and 900 in Syria' (004 says 'about 2,000' in Iraq); "
        "Jordan (Tower 22) figure is an assumption",
    )


class StrikeEffects(Strict):
    """What one U.S. strike target does to the militias and to Iran."""

    militia_killed_per_target: float = sourced(
        0.4,
        "001: Feb 2 strikes on 'over 85 sites', 'at least 18 militia group members' killed in Syria and "
        "'16 of its members' (PMF) in Iraq: 34/85",
        ge=0, le=100,
        description="mean militia fighters killed per target struck (Poisson)",
    )
    stock_destroyed_per_target: float = sourced(
        0.03,
        "004: 'the strikes have degraded the group's military stockpiles and made the sites unusable'; value assumption",
        ge=0,
        le=1,
        description="fraction of the struck group's stock destroyed per target",
    )
    irgc_killed_per_target: float = sourced(
        0.05,
        "004: Nov 12 strike: 'IRGC-related personnel were there and likely struck'; value assumption (the sources "
        "report militia deaths from the Feb 2 strikes on 'over 85 sites' (001) but no IRGC death)",
        ge=0, le=100,
        description="mean IRGC personnel killed per IRGC-linked target",
    )
    p_leader_killed: float = sourced(
        0.8,
        "000: 'a U.S. drone strike in Baghdad killed a leader of the Harakat al-Nujaba militia'; 003: Abu Baqir "
        "al-Saadi 'killed in a US drone strike in Baghdad'; value assumption",
        ge=0,
        le=1,
        description="probability that a strike on a leader kills him",
    )


class UnitedStatesParams(Strict):
    posture: Posture = Field(default_factory=Posture)
    policy: "PolicySpec" = Field(default_factory=lambda: PolicySpec(name="historical"))
    strike_effects: StrikeEffects = Field(default_factory=StrikeEffects)
    attribution_accuracy: float = sourced(
        0.5,
        "001: the umbrella name lets militias 'conceal the identities of the actual perpetrators' and "
        "'hinders direct attribution'; value assumption",
        ge=0,
        le=1,
        description="weight on the true attacker when the U.S. attributes attacks to groups (rest: prior shares)",
    )
    pressure_per_killed: float = sourced(
        1.0,
        "003: 'the Biden administration is facing significant domestic pressure to take tougher measures'; value assumption",
        ge=0, le=1000,
        description="domestic pressure added per U.S. service member killed",
    )
    pressure_per_injured: float = sourced(
        0.01, "assumption (critics: response 'pales in comparison with the 60 attacks and American injuries', 004)", ge=0, le=1000
    )
    pressure_half_life: float = sourced(30.0, "assumption", gt=0, le=3650, description="days")
    blame_half_life: float = sourced(
        14.0, "assumption: how long the U.S. remembers which group it thinks attacked", gt=0, le=3650, description="days"
    )


class IranParams(Strict):
    """IRGC-Quds Force: supplies the militias, wants 'to show force, but not to risk any escalation' (000)."""

    rule: str = Field("show_force_avoid_war", description="named Iran rule (model.rules)")
    restraint_per_us_killed: float = sourced(
        0.5,
        "000: after the three deaths, 'direct intervention by ... Qaani' made Kata'ib Hezbollah cease attacks; value assumption",
        ge=0, le=100,
    )
    restraint_per_irgc_killed: float = sourced(
        0.05, "004: U.S. strikes on IRGC sites aim 'to pressure Iran to tell the militia groups to stop'; value assumption", ge=0, le=100
    )
    restraint_per_target: float = sourced(
        0.002, "000: the 'scale of U.S. counterstrikes'; value assumption (000: airstrikes alone have 'not very "
        "promising' records; 004: strikes 'obviously failed to deter the groups')", ge=0, le=100,
        description="restraint added per U.S. target struck (large strikes raise war risk)",
    )
    restraint_half_life: float = sourced(
        45.0,
        "default assumption; calibrated (scenarios/calibration.yaml, prior log-uniform [15, 180] days: 001, U.S. actions "
        "since 2017 'have not completely halted attacks', pauses end; CRS R46148 on the 2020 exchange) and carried as "
        "posterior draws by scenarios/calibrated.yaml",
        gt=0, le=3650, description="days",
    )
    supply_rate: float = sourced(
        1.5,
        "001: Tehran supports the network 'with money, weapons and training'; value assumption",
        ge=0, le=1000,
        description="attack-equivalents of weapons delivered per group per day, cut by restraint",
    )
    war_hazard: float = sourced(
        5e-4,
        "prior: CRS R46148 (2020), 'U.S. Killing of Qasem Soleimani': the killing of the Qods Force commander drew Iran's "
        "direct missile strike on al-Asad within five days, while U.S. strikes that killed IRGC-linked personnel in Syria "
        "(004: 'IRGC-related personnel were there and likely struck') drew none; so a rank-and-file IRGC death carries a "
        "small cumulative chance of a direct exchange (~1 % at zero restraint: 5e-4/day x ~20 days of pressure). "
        "001: 'any direct U.S. retaliation against Iranian interests could heighten regional tensions'",
        ge=0,
        le=1,
        description="daily hazard of a direct Iranian strike on U.S. forces per unit of war pressure, at zero restraint",
    )
    war_pressure_half_life: float = sourced(
        14.0, "assumption: Iran's 2020 retaliation came within five days (CRS R46148); the grievance fades over weeks",
        gt=0, le=365, description="days",
    )
    war_pressure_per_strike_on_iran: float = sourced(
        50.0,
        "assumption: a U.S. strike on Iranian territory weighs like the 2020 killing of a senior commander "
        "(~40 % chance of a direct exchange at zero restraint)",
        ge=0,
        le=10_000,
        description="war pressure added by a day of U.S. strikes on Iranian territory (in IRGC-killed equivalents)",
    )


class IraqParams(Strict):
    """Iraq's government (al-Sudani): wants good relations with both the U.S. and the groups (004)."""

    rule: str = Field("sudani_balancing", description="named Iraq rule (model.rules)")
    base_pressure: float = sourced(
        0.1, "004: al-Sudani 'came to power with the Iranian-backed groups' support'; value assumption", ge=0, le=1
    )
    pressure_per_us_killed: float = sourced(
        0.15, "000: after the Jordan deaths, intervention by 'Iraqi Prime Minister Mohammed Shia al-Sudani'; value assumption", ge=0, le=100
    )
    pressure_half_life: float = sourced(20.0, "assumption", gt=0, description="days")
    withdrawal_per_iraq_target: float = sourced(
        0.01,
        "004: the U.S. 'doesn't want to risk alienating the Iraqi government by striking within its borders'; "
        "000: counterstrikes 'sparked outrage among Iraqi officials'; value assumption",
        ge=0, le=100,
    )
    withdrawal_per_leader_strike: float = sourced(
        0.25,
        "003: 'The killing of Abu Baqir as-Saadi has spiked anti-US public opinion'; 004: the 2020 Baghdad strike "
        "'spawned demands for the withdrawal of all US forces'; value assumption",
        ge=0, le=100,
    )
    withdrawal_per_iraqi_killed: float = sourced(
        0.01, "001: PMF 'reported that U.S. strikes resulted in the deaths of 16 of its members'; value assumption", ge=0, le=100
    )
    withdrawal_half_life: float = sourced(90.0, "assumption", gt=0, le=3650, description="days")
    withdrawal_threshold: float = sourced(
        1.0, "assumption: level at which Baghdad formally demands a U.S. withdrawal", gt=0, le=1e6
    )


class LadderParams(Strict):
    memory_days: int = sourced(
        14, "assumption: a rung reached stays the current level for this many days", ge=1, le=365
    )


class PolicySpec(Strict):
    """A U.S. deterrence policy by name, with parameter overrides."""

    name: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


UnitedStatesParams.model_rebuild()
