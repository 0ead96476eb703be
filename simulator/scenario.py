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
from typing import Any, Dict, List, Literal, Optional, Tuple, Union

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
        if self.blocks is not None:
            if any(b <= 0 for b in self.blocks) or abs(sum(self.blocks) - 1) > 1e-6:
                raise ValueError("`blocks` are shares of the agents: positive and summing to 1")
        return self


class NetworkSpec(_Frozen):
    layers: Dict[str, LayerSpec] = Field(min_length=1)
