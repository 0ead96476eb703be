"""Scenario files: YAML in, frozen typed objects out.

The YAML is composed with PyYAML's safe loader (no object construction: a tag such as
``!!python/object`` is an error), every node's line number is kept, ``--set``
overrides are applied to the raw tree, and the result is validated by pydantic into the
frozen models below. Cross references (a transition naming a state or a layer that does
not exist) are checked afterwards, so every error names the file, line and field.
Nothing downstream ever sees a raw dict.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ScenarioError, did_you_mean

# ----------------------------------------------------------------------------- types

StateName = str
#: ``{trait: state}`` or ``{trait: [state, state]}``: which agents a rule applies to.
StateCondition = Dict[str, Union[StateName, List[StateName]]]
#: ``{trait: state}``: what a transition, seed or broadcast sets.
StateAssignment = Dict[str, StateName]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ------------------------------------------------------------------------------ time


class TimeSpec(_Frozen):
    """Discrete time: steps of ``dt`` scenario time units, from 0 to ``until``."""

    dt: float = Field(gt=0, description="Step length in scenario time units.")
    until: float = Field(gt=0, description="End of the run, in scenario time units.")
    unit: str = Field("time unit", description="Name of the time unit (hour, day, ...).")
    report_every: Optional[float] = Field(
        None, gt=0, description="Reporting grid; defaults to about 200 points over the run."
    )
    start: Optional[datetime] = Field(
        None, description="Clock time of t = 0 (ISO 8601, e.g. 2016-01-10T21:00+08:00)."
    )
    daily_activity: Optional[List[float]] = Field(
        None,
        description="24 hourly multipliers (local clock hours 0..23) applied to the rates "
        "of transitions with daily_activity: true. Needs `start` and a unit of "
        "minute, hour or day.",
    )

    @field_validator("daily_activity")
    @classmethod
    def _24_hours(cls, v: Optional[List[float]]) -> Optional[List[float]]:
        if v is not None:
            if len(v) != 24:
                raise ValueError(f"needs exactly 24 hourly values, got {len(v)}")
            if any((not math.isfinite(x)) or x < 0 for x in v):
                raise ValueError("hourly multipliers must be finite and >= 0")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "TimeSpec":
        if self.dt > self.until:
            raise ValueError(f"dt ({self.dt}) is longer than the run (until = {self.until})")
        if self.report_every is not None and self.report_every < self.dt * (1 - 1e-9):
            raise ValueError(
                f"report_every ({self.report_every}) is shorter than one step (dt = {self.dt})"
            )
        if self.daily_activity is not None and self.hours_per_unit is None:
            raise ValueError(
                "daily_activity needs a clock: set `unit` to minute, hour or day"
            )
        return self

    @property
    def hours_per_unit(self) -> Optional[float]:
        """How many clock hours one scenario time unit is, or None if not a clock unit."""
        return {
            "minute": 1 / 60, "minutes": 1 / 60, "min": 1 / 60,
            "hour": 1.0, "hours": 1.0, "h": 1.0,
            "day": 24.0, "days": 24.0, "d": 24.0,
        }.get(self.unit.strip().lower())

    @property
    def n_steps(self) -> int:
        return int(math.ceil(self.until / self.dt - 1e-9))

    @property
    def report_interval(self) -> float:
        """Reporting interval, a whole number of steps."""
        every = self.report_every if self.report_every is not None else self.until / 200
        return max(1, int(round(every / self.dt))) * self.dt


# ------------------------------------------------------------------------ population


class PopulationSpec(_Frozen):
    """How many agents are simulated and how many real people they stand for."""

    agents: int = Field(ge=1, le=2_000_000_000, description="Number of simulated agents.")
    represents: Optional[float] = Field(
        None, gt=0, description="Real population the agents stand for (default: agents)."
    )

    @property
    def people_per_agent(self) -> float:
        return (self.represents or self.agents) / self.agents


# --------------------------------------------------------------------------- network

GeneratorName = Literal[
    "erdos_renyi",
    "barabasi_albert",
    "watts_strogatz",
    "powerlaw_cluster",
    "stochastic_block",
    "configuration",
    "complete",
    "edgelist",
]


class DegreeDistribution(_Frozen):
    """A degree distribution for the configuration / Chung–Lu generator."""

    kind: Literal["powerlaw", "poisson", "lognormal", "fixed"] = "powerlaw"
    exponent: Optional[float] = Field(None, gt=1, description="powerlaw: P(k) ~ k^-exponent.")
    min_degree: int = Field(1, ge=0)
    max_degree: Optional[int] = Field(None, ge=1)
    mean: Optional[float] = Field(None, gt=0, description="poisson / lognormal / fixed mean.")
    sigma: Optional[float] = Field(None, gt=0, description="lognormal: sd of log degree.")


class LayerSpec(_Frozen):
    """One layer of the social network (a platform or a kind of tie).

    Edges say who can influence whom: on a directed layer an edge ``u -> v`` means
    ``v`` sees ``u`` (information flows along the edge); induced transitions count
    in-neighbours.
    """

    generator: GeneratorName
    directed: bool = False
    # erdos_renyi, watts_strogatz (k = mean_degree), configuration (poisson)
    mean_degree: Optional[float] = Field(None, gt=0)
    # barabasi_albert, powerlaw_cluster: edges added per new agent
    m: Optional[int] = Field(None, ge=1)
    # watts_strogatz: rewiring probability; powerlaw_cluster: triangle probability
    rewire: Optional[float] = Field(None, ge=0, le=1)
    triangle_prob: Optional[float] = Field(None, ge=0, le=1)
    # stochastic_block: block sizes as shares of the agents, within/between probabilities
    blocks: Optional[List[float]] = None
    p_in: Optional[float] = Field(None, ge=0, le=1)
    p_out: Optional[float] = Field(None, ge=0, le=1)
    # configuration: degree distribution
    degrees: Optional[DegreeDistribution] = None
    # edgelist
    path: Optional[str] = None
    reverse: bool = Field(False, description="edgelist: flip each edge (e.g. follower lists).")
    weighted: bool = Field(
        False, description="edgelist: third column is an edge weight (influence strength)."
    )
    relabel: bool = Field(
        True,
        description="edgelist: map node ids to 0..n-1 in order of first appearance; "
        "if false, ids must already be 0..agents-1.",
    )
    weight: float = Field(1.0, gt=0, description="Weight of every edge on a generated layer.")
    native: Union[bool, Literal["auto"]] = Field(
        "auto",
        description="Build with Rumorsim's compiled generators (true), networkx (false), "
        "or networkx for small graphs and compiled generators for large ones (auto).",
    )

    @model_validator(mode="after")
    def _needs(self) -> "LayerSpec":
        need = {
            "erdos_renyi": ["mean_degree"],
            "barabasi_albert": ["m"],
            "watts_strogatz": ["mean_degree", "rewire"],
            "powerlaw_cluster": ["m", "triangle_prob"],
            "stochastic_block": ["blocks", "p_in", "p_out"],
            "configuration": ["degrees"],
            "complete": [],
            "edgelist": ["path"],
        }[self.generator]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(
                f"generator `{self.generator}` needs {', '.join('`'+m+'`' for m in missing)}"
            )
        if self.generator == "complete" and self.weight != 1.0:
            raise ValueError(
                "a complete layer takes no `weight`: fold it into the transition's rate "
                "(rate per pair = rate x weight)"
            )
        if self.blocks is not None:
            if any(b <= 0 for b in self.blocks) or abs(sum(self.blocks) - 1) > 1e-6:
                raise ValueError("`blocks` are shares of the agents: positive and summing to 1")
        return self


class NetworkSpec(_Frozen):
    layers: Dict[str, LayerSpec] = Field(min_length=1)


# ------------------------------------------------------------------- seeds & rules

Strategy = Literal["random", "top_degree", "ids", "community"]


class SeedSpec(_Frozen):
    """Put chosen agents into a state at a time (the leak, the rumor's first tellers)."""

    name: Optional[str] = None
    state: StateAssignment
    count: Optional[int] = Field(None, ge=0)
    fraction: Optional[float] = Field(None, ge=0, le=1)
    strategy: Strategy = "random"
    ids: Optional[List[int]] = None
    layer: Optional[str] = Field(None, description="top_degree / community: which layer.")
    community: Optional[int] = Field(None, description="community: the block label.")
    among: Optional[StateCondition] = Field(
        None, description="Choose only among agents in this state (default: everyone)."
    )
    at: float = Field(0.0, ge=0, description="When, in scenario time units.")

    @model_validator(mode="after")
    def _how_many(self) -> "SeedSpec":
        if self.strategy == "ids":
            if not self.ids:
                raise ValueError("strategy `ids` needs a list `ids`")
            if self.count is not None or self.fraction is not None:
                raise ValueError("strategy `ids` takes `ids`, not `count` or `fraction`")
        elif (self.count is None) == (self.fraction is None):
            raise ValueError("give exactly one of `count` or `fraction`")
        if self.strategy == "community" and self.community is None:
            raise ValueError("strategy `community` needs `community` (a block label)")
        return self


class Distribution(_Frozen):
    """A per-agent random threshold."""

    distribution: Literal["fixed", "uniform", "normal", "lognormal"]
    value: Optional[float] = None
    low: Optional[float] = None
    high: Optional[float] = None
    mean: Optional[float] = None
    sd: Optional[float] = Field(None, ge=0)

    @model_validator(mode="after")
    def _params(self) -> "Distribution":
        need = {
            "fixed": ["value"],
            "uniform": ["low", "high"],
            "normal": ["mean", "sd"],
            "lognormal": ["mean", "sd"],
        }[self.distribution]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"distribution `{self.distribution}` needs {', '.join(missing)}")
        if self.distribution == "uniform" and self.high < self.low:
            raise ValueError("uniform needs low <= high")
        return self


class InducedSpec(_Frozen):
    """Hazard = rate × (number, or weight sum, of in-neighbours on `layer` in `state`)."""

    layer: str
    state: StateCondition


class ThresholdSpec(_Frozen):
    """Fires when the fraction (or count) of matching in-neighbours reaches the agent's threshold."""

    layer: str
    state: StateCondition
    fraction: Optional[Union[float, Distribution]] = None
    count: Optional[Union[float, Distribution]] = None

    @model_validator(mode="after")
    def _one(self) -> "ThresholdSpec":
        if (self.fraction is None) == (self.count is None):
            raise ValueError("give exactly one of `fraction` or `count`")
        if isinstance(self.fraction, (int, float)) and not 0 <= self.fraction <= 1:
            raise ValueError(f"a threshold fraction must be in [0, 1], got {self.fraction}")
        if isinstance(self.count, (int, float)) and self.count < 0:
            raise ValueError(f"a threshold count must be >= 0, got {self.count}")
        return self


class SignalRef(_Frozen):
    """An outcome probability read from a signal (e.g. the failure share)."""

    signal: str
    complement: bool = Field(False, description="Use 1 - signal instead.")


class Outcome(_Frozen):
    state: StateAssignment
    p: Union[float, Literal["rest"], SignalRef]

    @field_validator("p")
    @classmethod
    def _prob(cls, v: Any) -> Any:
        if isinstance(v, (int, float)) and not 0 <= v <= 1:
            raise ValueError(f"an outcome probability must be in [0, 1], got {v}")
        return v


class Modulation(_Frozen):
    """Multiply a rate by max(0, 1 + gain × signal): e.g. belief rises with failures."""

    signal: str
    gain: float


class TransitionSpec(_Frozen):
    """A rule moving agents that match `from` to `to` (or to one of several outcomes)."""

    name: str
    from_: StateCondition = Field(alias="from")
    to: Union[StateAssignment, List[Outcome]]
    rate: Optional[float] = Field(None, ge=0, description="Hazard per unit time (per neighbour if induced).")
    probability: Optional[float] = Field(
        None, ge=0, le=1, description="Per-step probability instead of a rate (per neighbour if induced)."
    )
    induced_by: Optional[InducedSpec] = None
    threshold: Optional[ThresholdSpec] = None
    modulated_by: List[Modulation] = Field(default_factory=list)
    daily_activity: bool = Field(True, description="Follow time.daily_activity, if given.")
    label: Optional[str] = None

    @model_validator(mode="after")
    def _kind(self) -> "TransitionSpec":
        if self.induced_by is not None and self.threshold is not None:
            raise ValueError("a transition is either `induced_by` or `threshold`, not both")
        if self.rate is not None and self.probability is not None:
            raise ValueError("give `rate` or `probability`, not both")
        if self.threshold is None and self.rate is None and self.probability is None:
            raise ValueError("needs a `rate` (per unit time) or a `probability` (per step)")
        if isinstance(self.to, list):
            if not self.to:
                raise ValueError("`to` needs at least one outcome")
            rests = sum(1 for o in self.to if o.p == "rest")
            fixed = sum(o.p for o in self.to if isinstance(o.p, (int, float)))
            signals = any(isinstance(o.p, SignalRef) for o in self.to)
            if rests > 1:
                raise ValueError("only one outcome may have p: rest")
            if fixed > 1 + 1e-9:
                raise ValueError(f"outcome probabilities sum to {fixed:g}, more than 1")
            if rests == 0 and not signals and abs(fixed - 1) > 1e-6:
                raise ValueError(
                    f"outcome probabilities sum to {fixed:g}; they must sum to 1 "
                    "(or give one outcome p: rest)"
                )
            if signals and rests == 0:
                raise ValueError("outcomes with a signal probability need one outcome with p: rest")
        return self

    @property
    def kind(self) -> str:
        if self.threshold is not None:
            return "threshold"
        return "induced" if self.induced_by is not None else "spontaneous"

    @property
    def outcomes(self) -> Tuple[Outcome, ...]:
        if isinstance(self.to, list):
            return tuple(self.to)
        return (Outcome(state=self.to, p=1.0),)


# ------------------------------------------------------------------------- signals

SignalKind = Literal["value", "count", "flow", "overload", "ratio", "average"]


class SignalSpec(_Frozen):
    """A global quantity computed every step.

    - ``value``: a number (server capacity), changed by ``set``/``scale`` interventions;
    - ``count``: agents in ``state`` (× people per agent unless ``per: agents``);
    - ``flow``: firings of ``transitions`` this step per unit time (× people per agent);
    - ``overload``: max(0, 1 − capacity / demand), both signal names: the failure share;
    - ``ratio``: numerator / denominator (0 when the denominator is 0);
    - ``average``: exponential moving average of ``of`` with ``half_life`` (time units).

    Signals are evaluated in the order written; each may use the ones before it.
    """

    kind: SignalKind
    value: Optional[float] = None
    state: Optional[StateCondition] = None
    transitions: Optional[List[str]] = None
    per: Literal["people", "agents"] = "people"
    demand: Optional[str] = None
    capacity: Optional[str] = None
    numerator: Optional[str] = None
    denominator: Optional[str] = None
    of: Optional[str] = None
    half_life: Optional[float] = Field(None, gt=0)
    alert_above: Optional[float] = Field(
        None, description="Report how long the signal stays above this level."
    )
    label: Optional[str] = None
    unit: Optional[str] = Field(None, description="Unit for plots, e.g. 'page loads / hour'.")

    @model_validator(mode="after")
    def _params(self) -> "SignalSpec":
        need = {
            "value": ["value"],
            "count": ["state"],
            "flow": ["transitions"],
            "overload": ["demand", "capacity"],
            "ratio": ["numerator", "denominator"],
            "average": ["of", "half_life"],
        }[self.kind]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"signal kind `{self.kind}` needs {', '.join(missing)}")
        if self.kind == "value" and self.value < 0:
            raise ValueError("a value signal must be >= 0")
        return self

    def references(self) -> List[str]:
        """Names of the other signals this one reads."""
        return [
            r
            for r in (self.demand, self.capacity, self.numerator, self.denominator, self.of)
            if r is not None
        ]


# ------------------------------------------------------------------- interventions


class Effect(_Frozen):
    """What a broadcast does to a reached agent in state `from`."""

    from_: StateCondition = Field(alias="from")
    to: StateAssignment
    p: float = Field(1.0, ge=0, le=1)


class InterventionSpec(_Frozen):
    """A dated action by the platform or the company.

    - ``scale`` / ``set``: multiply / replace a transition's rate (``transition:``) or a
      value signal (``signal:``) from ``at`` until ``until`` (default: the end);
    - ``broadcast``: at ``at`` (and every ``every`` until ``until``), reach a share of
      agents (``select``: random, top_degree, community, in_state) and apply ``effects``;
    - ``seed``: at ``at``, put ``count``/``fraction`` agents chosen by ``strategy`` into ``state``.
    """

    kind: Literal["scale", "set", "broadcast", "seed"]
    at: float = Field(ge=0)
    until: Optional[float] = None
    label: Optional[str] = None
    # scale / set
    transition: Optional[str] = None
    signal: Optional[str] = None
    factor: Optional[float] = Field(None, ge=0)
    value: Optional[float] = Field(None, ge=0)
    # broadcast
    reach: Optional[float] = Field(None, ge=0, le=1)
    select: Literal["random", "top_degree", "community", "in_state"] = "random"
    layer: Optional[str] = None
    community: Optional[int] = None
    state: Optional[Union[StateCondition, StateAssignment]] = None
    effects: Optional[List[Effect]] = None
    every: Optional[float] = Field(None, gt=0)
    # seed
    count: Optional[int] = Field(None, ge=0)
    fraction: Optional[float] = Field(None, ge=0, le=1)
    strategy: Strategy = "random"
    ids: Optional[List[int]] = None
    among: Optional[StateCondition] = None

    @model_validator(mode="after")
    def _params(self) -> "InterventionSpec":
        if self.until is not None and self.until < self.at:
            raise ValueError(f"`until` ({self.until}) is before `at` ({self.at})")
        if self.kind in ("scale", "set"):
            if (self.transition is None) == (self.signal is None):
                raise ValueError(f"`{self.kind}` needs exactly one of `transition` or `signal`")
            if self.kind == "scale" and self.factor is None:
                raise ValueError("`scale` needs `factor`")
            if self.kind == "set" and self.value is None:
                raise ValueError("`set` needs `value`")
        elif self.kind == "broadcast":
            if self.reach is None:
                raise ValueError("`broadcast` needs `reach` (share of agents reached, 0..1)")
            if not self.effects:
                raise ValueError("`broadcast` needs `effects`: a list of {from, to, p}")
            if self.select == "in_state" and self.state is None:
                raise ValueError("select: in_state needs `state`")
            if self.select == "community" and self.community is None:
                raise ValueError("select: community needs `community`")
        elif self.kind == "seed":
            if self.state is None:
                raise ValueError("`seed` needs `state`")
            if self.strategy == "ids":
                if not self.ids:
                    raise ValueError("strategy `ids` needs `ids`")
            elif (self.count is None) == (self.fraction is None):
                raise ValueError("`seed` needs exactly one of `count` or `fraction`")
        return self

    def as_seed(self, name: str) -> SeedSpec:
        """The seeding this intervention performs (kind: seed only)."""
        return SeedSpec(
            name=name, state=self.state, count=self.count, fraction=self.fraction,
            strategy=self.strategy, ids=self.ids, layer=self.layer,
            community=self.community, among=self.among, at=self.at,
        )


# ------------------------------------------------------------ outputs & the whole


class OutcomeSpec(_Frozen):
    """A headline number per replicate, for summaries and what-if tables. Give one kind."""

    label: Optional[str] = None
    peak: Optional[StateCondition] = Field(None, description="Max over time of people in state.")
    final: Optional[StateCondition] = Field(None, description="People in state at the end.")
    ever: Optional[List[str]] = Field(
        None, description="Total firings of these transitions (people who ever did it)."
    )
    signal_peak: Optional[str] = None
    time_above: Optional[str] = Field(
        None, description="Time a signal spends above its alert_above (scenario time units)."
    )
    time_of_peak: Optional[StateCondition] = None

    @model_validator(mode="after")
    def _one(self) -> "OutcomeSpec":
        kinds = [k for k in self.kinds() if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of {', '.join(self.kinds())}")
        return self

    @staticmethod
    def kinds() -> Tuple[str, ...]:
        return ("peak", "final", "ever", "signal_peak", "time_above", "time_of_peak")

    @property
    def kind(self) -> str:
        return next(k for k in self.kinds() if getattr(self, k) is not None)


class SeriesSpec(_Frozen):
    """One line on a dashboard panel: a state count, cumulative firings, or a signal."""

    state: Optional[StateCondition] = None
    fired: Optional[List[str]] = None
    signal: Optional[str] = None
    label: Optional[str] = None
    axis: Literal["left", "right"] = "left"

    @model_validator(mode="after")
    def _one(self) -> "SeriesSpec":
        if sum(x is not None for x in (self.state, self.fired, self.signal)) != 1:
            raise ValueError("give exactly one of `state`, `fired` or `signal`")
        return self


class PanelSpec(_Frozen):
    title: str
    series: List[SeriesSpec] = Field(min_length=1)
    ylabel: Optional[str] = None
    right_ylabel: Optional[str] = None


class RunSpec(_Frozen):
    replicates: int = Field(20, ge=1, le=1_000_000)
    seed: int = Field(0, ge=0)


class Scenario(_Frozen):
    """A whole scenario: graph, states, rules, signals, interventions, reporting."""

    name: str
    description: str = ""
    theory: Optional[str] = Field(None, description="The known result this scenario should match.")
    assumptions: List[str] = Field(default_factory=list)
    time: TimeSpec
    population: PopulationSpec
    network: NetworkSpec
    traits: Dict[str, List[str]] = Field(min_length=1)
    seed: List[SeedSpec] = Field(default_factory=list)
    transitions: List[TransitionSpec] = Field(default_factory=list)
    signals: Dict[str, SignalSpec] = Field(default_factory=dict)
    interventions: Dict[str, InterventionSpec] = Field(default_factory=dict)
    outcomes: Dict[str, OutcomeSpec] = Field(default_factory=dict)
    dashboard: Optional[List[PanelSpec]] = None
    run: RunSpec = Field(default_factory=RunSpec)

    # Set by the loader, not by the file: where it came from, for relative paths and errors.
    source: Optional[str] = Field(None, exclude=True, json_schema_extra={"readOnly": True})

    @property
    def base_dir(self) -> Path:
        return Path(self.source).resolve().parent if self.source else Path.cwd()

    def transition(self, name: str) -> TransitionSpec:
        for t in self.transitions:
            if t.name == name:
                return t
        raise KeyError(name)

    def all_seeds(self) -> List[Tuple[str, SeedSpec]]:
        """Initial seeds and seed interventions, named, in time order."""
        out = [(s.name or f"seed[{i}]", s) for i, s in enumerate(self.seed)]
        out += [(n, iv.as_seed(n)) for n, iv in self.interventions.items() if iv.kind == "seed"]
        return sorted(out, key=lambda x: x[1].at)


# ==================================================================== loading


Path_ = Tuple[Union[str, int], ...]


def _field_path(path: Path_) -> str:
    """``('transitions', 1, 'rate')`` -> ``transitions[1].rate``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "(top level)"


class _Tree:
    """The raw YAML tree plus the line of every node, keyed by its path."""

    def __init__(self, data: Any, lines: Dict[Path_, int], source: str) -> None:
        self.data = data
        self.lines = lines
        self.source = source
        self.overridden: Dict[Path_, str] = {}

    def line(self, path: Path_) -> Optional[int]:
        """Line of the deepest node on ``path`` that the file has."""
        for k in range(len(path), -1, -1):
            if path[:k] in self.lines:
                return self.lines[path[:k]]
        return None

    def error(self, path: Path_, message: str, **kw: Any) -> ScenarioError:
        for k in range(len(path), 0, -1):
            if path[:k] in self.overridden:
                return ScenarioError(
                    message, file=f"--set {self.overridden[path[:k]]}",
                    field=_field_path(path), **kw,
                )
        return ScenarioError(
            message, file=self.source, line=self.line(path), field=_field_path(path), **kw
        )


# Plain data only: any other tag (``!!python/object``, ``!!binary``, custom ``!tags``) is refused.
_SAFE_TAGS = {f"tag:yaml.org,2002:{t}" for t in
              ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


def _compose(text: str, source: str) -> _Tree:
    """Parse YAML text into plain data, keeping line numbers, constructing no objects."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(
            f"this is not valid YAML: {problem}",
            file=source, line=(mark.line + 1) if mark else None,
            suggestion="Check indentation and that every `key: value` has a space after the colon",
        ) from None
    if root is None:
        raise ScenarioError("the file is empty", file=source, expected="a YAML mapping with name, time, population, network, traits, transitions")
    lines: Dict[Path_, int] = {}
    constructor = yaml.constructor.SafeConstructor()

    def build(node: yaml.Node, path: Path_) -> Any:
        lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in _SAFE_TAGS:
            raise ScenarioError(
                f"the YAML tag `{node.tag}` is not allowed: scenario files hold plain data only",
                file=source, line=node.start_mark.line + 1, field=_field_path(path),
                suggestion="Remove the tag and write the value as a plain number, string, list or mapping",
            )
        if isinstance(node, yaml.MappingNode):
            out: Dict[Any, Any] = {}
            for knode, vnode in node.value:
                key = build(knode, path + ("<key>",))
                if not isinstance(key, (str, int, float, bool)):
                    raise ScenarioError("a mapping key must be a plain name", file=source, line=knode.start_mark.line + 1, field=_field_path(path))
                key = str(key) if not isinstance(key, str) else key
                if key in out:
                    raise ScenarioError(
                        f"the key `{key}` appears twice", file=source,
                        line=knode.start_mark.line + 1, field=_field_path(path + (key,)),
                        suggestion="Keep one of them",
                    )
                lines[path + (key,)] = knode.start_mark.line + 1
                out[key] = build(vnode, path + (key,))
            lines.pop(path + ("<key>",), None)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(v, path + (i,)) for i, v in enumerate(node.value)]
        try:
            return constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise ScenarioError(f"cannot read this value: {exc}", file=source, line=node.start_mark.line + 1, field=_field_path(path)) from None

    data = build(root, ())
    if not isinstance(data, dict):
        raise ScenarioError(
            "a scenario must be a YAML mapping at the top level", file=source, line=1,
            found=type(data).__name__, expected="keys such as name, time, population, network, traits, transitions",
        )
    return _Tree(data, lines, source)


# Lists whose items are addressed by their `name` in dotted paths (``transitions.telling.rate``).
_NAMED_LISTS = ("transitions", "seed")


def apply_override(tree: _Tree, assignment: str) -> None:
    """Apply one ``dotted.path=value`` override to the raw tree (in place).

    List items with a ``name`` are addressed by name (``transitions.telling.rate``) or
    by index; the value is parsed as YAML (``2e7``, ``true``, ``[1, 2]``).
    """
    if "=" not in assignment:
        raise ScenarioError(
            "an override must look like `dotted.path=value`", file="--set", found=assignment,
            suggestion="For example --set population.agents=5000",
        )
    key, _, text = assignment.partition("=")
    parts = [p for p in key.strip().split(".")]
    if not all(parts):
        raise ScenarioError("the path has an empty part", file=f"--set {assignment}", found=key)
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"the value is not valid YAML: {exc}", file=f"--set {assignment}") from None
    node: Any = tree.data
    path: Path_ = ()
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            idx = None
            if part.lstrip("-").isdigit():
                idx = int(part)
                if not -len(node) <= idx < len(node):
                    idx = None
            else:
                names = [x.get("name") for x in node if isinstance(x, dict)]
                if part in names:
                    idx = names.index(part)
            if idx is None:
                names = [str(x.get("name")) for x in node if isinstance(x, dict) and x.get("name")]
                raise ScenarioError(
                    f"`{part}` is not an item of `{_field_path(path)}`",
                    file=f"--set {assignment}", field=_field_path(path),
                    expected=f"an index 0..{len(node) - 1}" + (f" or one of the names {', '.join(names)}" if names else ""),
                    suggestion=did_you_mean(part, names),
                )
            path += (idx,)
            if last:
                node[idx] = value
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                # A new final key is allowed (a field the file left at its default);
                # validation rejects it if no such field exists.
                node[part] = value
                path += (part,)
            elif part not in node and not path:
                # A missing top-level section is created (`signals.x=...` in a file without
                # signals); a misspelt one is then refused by validation, did-you-mean included.
                node[part] = {}
                node = node[part]
                path += (part,)
                tree.overridden[path] = assignment
            elif part not in node:
                raise ScenarioError(
                    f"`{part}` does not exist under `{_field_path(path)}`",
                    file=f"--set {assignment}", field=_field_path(path + (part,)),
                    expected=f"one of {', '.join(map(str, node))}" if node else None,
                    suggestion=did_you_mean(part, node.keys()),
                )
            else:
                node = node[part]
                path += (part,)
        else:
            raise ScenarioError(
                f"`{_field_path(path)}` is a single value, it has no `{part}`",
                file=f"--set {assignment}", field=_field_path(path), found=node,
            )
    tree.overridden[path] = assignment


def _unwrap_models(annotation: Any) -> Tuple[Optional[type], str]:
    """Find the model class a field holds and how: ('one' | 'list' | 'dict')."""
    import typing

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, "one"
    if origin in (list, List):
        inner, how = _unwrap_models(args[0]) if args else (None, "")
        return (inner, "list") if how == "one" else (None, "")
    if origin in (dict, Dict):
        inner, how = _unwrap_models(args[1]) if len(args) == 2 else (None, "")
        return (inner, "dict") if how == "one" else (None, "")
    if origin is Union:
        found = [(m, h) for m, h in (_unwrap_models(a) for a in args) if m is not None]
        if len(found) == 1 and all(
            a is type(None) or _unwrap_models(a)[0] is not None or a in (str, float, int, bool)
            for a in args
        ):
            return found[0]
    return None, ""


def _check_keys(model: type, data: Any, path: Path_, tree: _Tree) -> None:
    """Reject unknown keys anywhere, with a 'did you mean', before pydantic runs."""
    if not isinstance(data, dict):
        return
    fields = {(f.alias or n): f for n, f in model.model_fields.items() if n != "source"}
    for key, value in data.items():
        if key not in fields:
            raise tree.error(
                path + (key,), f"unknown key `{key}`",
                expected=f"one of {', '.join(sorted(fields))}",
                suggestion=did_you_mean(key, fields) or "Remove it or check the spelling",
            )
        inner, how = _unwrap_models(fields[key].annotation)
        if inner is None:
            continue
        if how == "one":
            _check_keys(inner, value, path + (key,), tree)
        elif how == "list" and isinstance(value, list):
            for i, item in enumerate(value):
                _check_keys(inner, item, path + (key, i), tree)
        elif how == "dict" and isinstance(value, dict):
            for name, item in value.items():
                _check_keys(inner, item, path + (key, name), tree)


def _pydantic_error(exc: ValidationError, tree: _Tree) -> ScenarioError:
    """Turn the most specific pydantic error into a ScenarioError with a line."""
    best = None
    for err in exc.errors():
        # Keep only the parts of loc that walk the raw tree (drop union member names).
        node, path = tree.data, ()
        for part in err["loc"]:
            if isinstance(node, dict) and part in node:
                node, path = node[part], path + (part,)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node, path = node[part], path + (part,)
        score = (len(path), err["type"] != "model_type")
        if best is None or score > best[0]:
            best = (score, path, err, node)
    _, path, err, node = best
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "missing":
        field = err["loc"][-1]
        return tree.error(path + (field,), f"the required field `{field}` is missing")
    found = node if not isinstance(node, (dict, list)) else None
    return tree.error(path, msg, found=found)


def parse_scenario(
    text: str, source: str = "<scenario>", overrides: "Overrides" = None
) -> Scenario:
    """Parse, override and validate a scenario given as YAML text.

    ``overrides``: see :func:`override_assignments`.

    Raises
    ------
    ScenarioError
        With the file, line and field of the first problem found.
    """
    return _validated(_compose(text, source), source, overrides)


def scenario_from_data(
    data: Dict[str, Any], source: str = "<scenario>", overrides: "Overrides" = None
) -> Scenario:
    """Validate a scenario given as plain data (``Scenario.model_dump(mode="json",
    by_alias=True)``), with overrides; ``data`` is not changed.

    The same checks as :func:`parse_scenario` without a YAML round trip (errors carry no
    line numbers): sweeps apply each point's overrides to the base this way, which is
    many times faster than dumping and re-reading the YAML.
    """
    import copy

    return _validated(_Tree(copy.deepcopy(data), {}, source), source, overrides)


def _validated(tree: "_Tree", source: str, overrides: "Overrides") -> Scenario:
    for assignment in override_assignments(overrides):
        apply_override(tree, assignment)
    _check_keys(Scenario, tree.data, (), tree)
    try:
        scenario = Scenario.model_validate(tree.data)
    except ValidationError as exc:
        raise _pydantic_error(exc, tree) from None
    scenario = scenario.model_copy(update={"source": source if source != "<scenario>" else None})
    check_references(scenario, tree)
    return scenario


def load_scenario(path: "str | Path", overrides: "Overrides" = None) -> Scenario:
    """Load a scenario file, apply overrides (:func:`override_assignments`), validate it.

    Examples
    --------
    >>> sc = load_scenario("scenarios/classic/sir.yaml", ["population.agents=2000"])
    >>> sc.population.agents
    2000
    """
    p = Path(path)
    if not p.exists():
        raise ScenarioError(
            "no such scenario file", file=str(p),
            suggestion="`rumorsim scenarios` lists the shipped ones",
        )
    if p.is_dir():
        raise ScenarioError("this is a folder, not a scenario file", file=str(p), expected="a .yaml file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file: {exc}", file=str(p)) from None
    return parse_scenario(text, str(p), overrides)


# ================================================================== overrides

#: Overrides as the API takes them: ``{dotted.path: value}``, or ``"dotted.path=value"``
#: strings as ``--set`` gives them (a sequence, or one string), or None.
Overrides = Union[Mapping[str, Any], Sequence[str], str, None]


def yaml_value(value: Any) -> str:
    """A value as the one-line YAML text an override carries (``2e-4``, ``[1, 2]``, ``{a: 1}``)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # a numpy scalar (from np.linspace, say) as the plain number
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 30)
    return text.strip().removesuffix("...").strip()


def override_assignments(changes: Overrides) -> List[str]:
    """Overrides in any accepted form as ``dotted.path=value`` strings, in order.

    Examples
    --------
    >>> override_assignments({"population.agents": 5000, "transitions.telling.rate": 2e-4})
    ['population.agents=5000', 'transitions.telling.rate=0.0002']
    >>> override_assignments(["population.agents=5000"])
    ['population.agents=5000']
    """
    if changes is None:
        return []
    if isinstance(changes, str):
        return [changes]
    if isinstance(changes, Mapping):
        out = []
        for key, value in changes.items():
            if not isinstance(key, str) or not key.strip():
                raise ScenarioError("an override's path must be a dotted name", file="overrides",
                                    found=key, expected="e.g. population.agents")
            out.append(f"{key.strip()}={yaml_value(value)}")
        return out
    out = []
    for item in changes:
        if not isinstance(item, str):
            raise ScenarioError(
                "overrides must be a mapping {dotted.path: value} or `dotted.path=value` strings",
                file="overrides", found=item,
                suggestion="For example {'population.agents': 5000} or ['population.agents=5000']",
            )
        out.append(item)
    return out


def override(scenario: Scenario, changes: Overrides) -> Scenario:
    """A copy of ``scenario`` with overrides applied and validated again.

    Parameters
    ----------
    scenario : a loaded scenario (not changed: scenarios are frozen).
    changes : ``{dotted.path: value}`` or ``"dotted.path=value"`` strings (what ``--set``
        takes). List items with a ``name`` are addressed by it:
        ``transitions.telling.rate``.

    Raises
    ------
    ScenarioError
        A path that does not exist or a value that does not validate, naming the override.

    Examples
    --------
    >>> small = override(load_scenario("scenarios/classic/sir.yaml"), {"population.agents": 300})
    >>> small.population.agents
    300
    """
    assignments = override_assignments(changes)
    if not assignments:
        return scenario
    sc = parse_scenario(scenario_yaml(scenario), scenario.source or "<scenario>", assignments)
    return sc.model_copy(update={"source": scenario.source})


def scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML (what a run directory records)."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    # libyaml's emitter when PyYAML was built with it: the same text as safe_dump (every
    # shipped scenario compared), about 6x faster - every run directory writes one
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)


# ============================================================ cross references


def check_references(sc: Scenario, tree: Optional[_Tree] = None) -> None:
    """Check every name a scenario uses (states, layers, transitions, signals) exists.

    One pass per section, in file order, so the first error reported is the first one
    a reader meets: edge-list files, traits, transitions, seeds, signals,
    interventions, outcomes, dashboard.
    """
    check = _References(sc, tree or _Tree({}, {}, sc.source or "<scenario>"))
    check.edge_list_files()
    check.traits()
    check.transitions()
    check.seeds()
    check.signals()
    check.interventions()
    check.outcomes()
    check.dashboard()


class _References:
    """The cross-reference checks of one scenario: small checks of one name
    (``states_ok``, ``layer_ok`` ...) and one method per section that uses them."""

    def __init__(self, sc: Scenario, tree: _Tree) -> None:
        self.sc = sc
        self.tree = tree
        self.trait_states = sc.traits
        self.layers = sc.network.layers
        self.t_names = [t.name for t in sc.transitions]
        self.n = sc.population.agents
        self.until = sc.time.until

    # ---------------------------------------------------------- one name

    def states_ok(self, cond: Dict[str, Any], path: Path_, assignment: bool = False) -> None:
        traits, tree = self.trait_states, self.tree
        if not isinstance(cond, dict) or not cond:
            raise tree.error(path, "needs at least one `trait: state` pair")
        for trait, wanted in cond.items():
            if trait not in traits:
                raise tree.error(
                    path + (trait,), f"there is no trait `{trait}`",
                    expected=f"one of {', '.join(traits)}", suggestion=did_you_mean(trait, traits),
                )
            values = [wanted] if isinstance(wanted, str) else wanted
            if assignment and not isinstance(wanted, str):
                raise tree.error(path + (trait,), "a target must be one state, not a list", found=wanted)
            for v in values:
                if v not in traits[trait]:
                    raise tree.error(
                        path + (trait,), f"trait `{trait}` has no state `{v}`",
                        expected=f"one of {', '.join(traits[trait])}",
                        suggestion=did_you_mean(v, traits[trait]),
                    )

    def layer_ok(self, name: Optional[str], path: Path_) -> None:
        if name is not None and name not in self.layers:
            raise self.tree.error(
                path, f"there is no layer `{name}`", expected=f"one of {', '.join(self.layers)}",
                suggestion=did_you_mean(name, self.layers),
            )

    def signal_ok(self, name: str, path: Path_, before: Optional[List[str]] = None) -> None:
        signals = self.sc.signals
        pool = list(signals) if before is None else before
        if name not in pool:
            extra = " defined above this one" if before is not None and name in signals else ""
            raise self.tree.error(
                path, f"there is no signal `{name}`{extra}",
                expected=f"one of {', '.join(pool)}" if pool else "a signal defined under `signals`",
                suggestion=did_you_mean(name, pool),
            )

    def transition_ok(self, name: str, path: Path_) -> None:
        if name not in self.t_names:
            raise self.tree.error(
                path, f"there is no transition `{name}`", expected=f"one of {', '.join(self.t_names)}",
                suggestion=did_you_mean(name, self.t_names),
            )

    def time_ok(self, t: Optional[float], path: Path_) -> None:
        if t is not None and not 0 <= t <= self.until:
            raise self.tree.error(path, f"time {t:g} is outside the run",
                                  expected=f"a time in [0, {self.until:g}] ({self.sc.time.unit})")

    def seed_ok(self, s: SeedSpec, path: Path_, assign_key: str = "state") -> None:
        n = self.n
        self.states_ok(s.state, path + (assign_key,), assignment=True)
        if s.among is not None:
            self.states_ok(s.among, path + ("among",))
        self.layer_ok(s.layer, path + ("layer",))
        if s.count is not None and s.count > n:
            raise self.tree.error(path + ("count",), f"cannot seed {s.count} agents out of {n}",
                                  expected=f"at most {n}")
        # On edge-list networks ids are the file's node ids (checked when the network is built).
        if s.ids is not None and not any(ly.generator == "edgelist" for ly in self.layers.values()):
            bad = [i for i in s.ids if not 0 <= i < n]
            if bad:
                raise self.tree.error(path + ("ids",), f"agent id {bad[0]} does not exist",
                                      expected=f"ids in 0..{n - 1}")
        self.time_ok(s.at, path + ("at",))

    # ---------------------------------------------------------- sections

    def edge_list_files(self) -> None:
        """Edge-list files exist where the builder will look (:func:`rumorsim.edgelist.resolve_path`)."""
        from .edgelist import resolve_path  # (numba-free: the parser is imported only to parse)

        for name, layer in self.layers.items():
            if layer.generator == "edgelist":
                p = resolve_path(layer.path, self.sc.base_dir)
                if not p.exists():
                    raise self.tree.error(
                        ("network", "layers", name, "path"),
                        f"the edge-list file `{layer.path}` does not exist",
                        expected=f"a path relative to the scenario's folder ({self.sc.base_dir})",
                        found=str(p),
                    )

    def traits(self) -> None:
        for trait, states in self.trait_states.items():
            if not states:
                raise self.tree.error(("traits", trait), f"trait `{trait}` has no states",
                                      expected="a list of state names")
            dup = {s for s in states if states.count(s) > 1}
            if dup:
                raise self.tree.error(("traits", trait), f"trait `{trait}` lists the state `{dup.pop()}` twice")

    def transitions(self) -> None:
        sc, tree = self.sc, self.tree
        seen: Dict[str, int] = {}
        for i, t in enumerate(sc.transitions):
            path = ("transitions", i)
            if t.name in seen:
                raise tree.error(path + ("name",), f"two transitions are named `{t.name}`",
                                 suggestion="Names must be unique: --set and what-ifs address transitions by name")
            seen[t.name] = i
            self.states_ok(t.from_, path + ("from",))
            for k, o in enumerate(t.outcomes):
                opath = path + (("to", k, "state") if isinstance(t.to, list) else ("to",))
                self.states_ok(o.state, opath, assignment=True)
                if isinstance(o.p, SignalRef):
                    self.signal_ok(o.p.signal, path + ("to", k, "p", "signal"))
            for key, rule in (("induced_by", t.induced_by), ("threshold", t.threshold)):
                if rule is not None:
                    self.layer_ok(rule.layer, path + (key, "layer"))
                    self.states_ok(rule.state, path + (key, "state"))
            for k, m in enumerate(t.modulated_by):
                self.signal_ok(m.signal, path + ("modulated_by", k, "signal"))
            if t.daily_activity and sc.time.daily_activity is not None and sc.time.start is None:
                raise tree.error(("time", "start"), "daily_activity needs a clock start time",
                                 expected="e.g. start: 2016-01-10T21:00+08:00")

    def seeds(self) -> None:
        for i, s in enumerate(self.sc.seed):
            self.seed_ok(s, ("seed", i))

    def signals(self) -> None:
        # a signal may only use signals defined above it (they are computed in order)
        defined: List[str] = []
        for name, sig in self.sc.signals.items():
            path = ("signals", name)
            if sig.state is not None:
                self.states_ok(sig.state, path + ("state",))
            for k, tn in enumerate(sig.transitions or []):
                self.transition_ok(tn, path + ("transitions", k))
            for key in ("demand", "capacity", "numerator", "denominator", "of"):
                ref = getattr(sig, key)
                if ref is not None:
                    self.signal_ok(ref, path + (key,), before=defined)
            defined.append(name)

    def interventions(self) -> None:
        sc, tree = self.sc, self.tree
        for name, iv in sc.interventions.items():
            path = ("interventions", name)
            self.time_ok(iv.at, path + ("at",))
            self.time_ok(iv.until, path + ("until",))
            if iv.kind in ("scale", "set"):
                if iv.transition is not None:
                    self.transition_ok(iv.transition, path + ("transition",))
                else:
                    self.signal_ok(iv.signal, path + ("signal",))
                    if sc.signals[iv.signal].kind != "value":
                        raise tree.error(path + ("signal",), f"signal `{iv.signal}` is computed "
                                         f"({sc.signals[iv.signal].kind}); only `value` signals can be set or scaled")
            elif iv.kind == "broadcast":
                self.layer_ok(iv.layer, path + ("layer",))
                if iv.state is not None:
                    self.states_ok(iv.state, path + ("state",))
                for k, e in enumerate(iv.effects or []):
                    self.states_ok(e.from_, path + ("effects", k, "from"))
                    self.states_ok(e.to, path + ("effects", k, "to"), assignment=True)
            else:
                self.seed_ok(iv.as_seed(name), path)

    def outcomes(self) -> None:
        for name, o in self.sc.outcomes.items():
            path = ("outcomes", name)
            for key in ("peak", "final", "time_of_peak"):
                if getattr(o, key) is not None:
                    self.states_ok(getattr(o, key), path + (key,))
            for k, tn in enumerate(o.ever or []):
                self.transition_ok(tn, path + ("ever", k))
            for key in ("signal_peak", "time_above"):
                if getattr(o, key) is not None:
                    self.signal_ok(getattr(o, key), path + (key,))

    def dashboard(self) -> None:
        for i, panel in enumerate(self.sc.dashboard or []):
            for k, s in enumerate(panel.series):
                path = ("dashboard", i, "series", k)
                if s.state is not None:
                    self.states_ok(s.state, path + ("state",))
                if s.signal is not None:
                    self.signal_ok(s.signal, path + ("signal",))
                for j, tn in enumerate(s.fired or []):
                    if tn not in self.t_names and tn not in self.sc.interventions:
                        self.transition_ok(tn, path + ("fired", j))


def scenario_json_schema() -> Dict[str, Any]:
    """JSON Schema of scenario files (draft 2020-12), for editors and CI checks."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema.get("properties", {}).pop("source", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rumorsim scenario"
    return schema
