"""Fit files: which scenario to fit to which observed series, with which priors and budget.

A fit file is YAML, read like a scenario file (safe loader, line numbers kept, unknown
keys refused with a did-you-mean) into the frozen :class:`FitSpec`::

    scenario: repost_cascade            # a shipped scenario, or a path relative to this file
    set: [population.agents=20000]      # optional --set overrides of the base scenario
    data:
      path: data/weibo/cumulative_24h.csv.gz   # long format, relative to this file
      cascade: 1018_ynh4iEPSN_2154711647       # which series (or --cascade)
      id_column: cascade_id             # default
      time: minutes                     # the time column; its unit is its name ...
      time_unit: minute                 # ... or given here; converted to the scenario's unit
      value: cumulative_count           # the observed count, in people
      until: 120                        # fit on the data up to here, data's unit (or --until)
      clock:                            # optional: each series' start time (daily activity)
        path: data/weibo/cascades.csv
        column: original_time_unix      # Unix seconds
        utc_offset: "+08:00"
    observe: {state: {post: [reposted, faded]}}   # or {fired: [repost]}: the model's count
    parameters:                         # --set paths and their priors
      transitions.repost.rate: {low: 0.02, high: 3.0, scale: log}
    prior: data/weibo/population.csv.gz # optional: past cascades' posteriors (or --prior-from);
                                        # `uniform` (the default): the priors above
    method: abc-smc
    simulations: 3000                   # total simulation budget of the fit
    forecast_until: 1440                # data's unit
    seed: 16

:func:`load_fit` parses and validates everything that can be checked before a single
simulation runs: the base scenario loads, every parameter path exists in it and accepts
its prior's range, the observed states exist, the data file has the columns and the
series, ``until`` leaves at least two observations to fit, the population prior (if
any) covers every parameter and was not learned from the series being fitted. It
returns the spec (with the population prior read: ``spec.population``) and the observed
series (:class:`Observed`). ``--data``, ``--cascade``, ``--until`` and ``--prior-from``
replace the file's values before validation, so one fit file serves a whole data set;
their errors name the option instead of a line.

``prior`` replaces the uniform priors by the population distribution learned from past
cascades' posteriors (empirical Bayes; see :mod:`rumorsim.fitprior`); the parameters'
``low``/``high`` still bound it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Tuple, Union

import numpy as np
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from .errors import ScenarioError, did_you_mean
from .scenario import (
    Scenario,
    StateCondition,
    _check_keys,
    _compose,
    _Frozen,
    _pydantic_error,
    _Tree,
)

PathLike = Union[str, "os.PathLike[str]"]

#: Hours in one unit of time, by the names a data column or a scenario may use.
_HOURS = {
    "second": 1 / 3600, "seconds": 1 / 3600, "s": 1 / 3600, "sec": 1 / 3600,
    "minute": 1 / 60, "minutes": 1 / 60, "min": 1 / 60, "mins": 1 / 60,
    "hour": 1.0, "hours": 1.0, "h": 1.0,
    "day": 24.0, "days": 24.0, "d": 24.0,
}


def hours_per(unit: str) -> Optional[float]:
    """Clock hours in one ``unit`` (minute, hours, day, ...), or None if not a clock unit."""
    return _HOURS.get(unit.strip().lower())


# ------------------------------------------------------------------------- the spec


class ClockSpec(_Frozen):
    """Where each series' start time is (it sets the scenario's ``time.start``, so
    ``time.daily_activity`` follows the local clock of the real post)."""

    path: str = Field(description="CSV with one row per series, relative to the fit file.")
    column: str = Field("original_time_unix", description="Start time in Unix seconds.")
    id_column: str = Field("cascade_id", description="Column naming the series.")
    utc_offset: str = Field("+00:00", description="Local time zone of the platform, e.g. +08:00.")

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, v: str) -> str:
        _parse_offset(v)
        return v


class DataSpec(_Frozen):
    """The observed series: a long-format CSV (optionally gzipped)."""

    path: str = Field(description="CSV file, relative to the fit file.")
    cascade: Optional[Union[str, int]] = Field(
        None, description="Which series (a value of id_column); needed if the file holds several.")
    id_column: str = "cascade_id"
    time: str = Field("minutes", description="The time column.")
    time_unit: Optional[str] = Field(
        None, description="Unit of the time column (default: the column's name, e.g. minutes).")
    value: str = Field("cumulative_count", description="The observed count column (people).")
    until: Optional[float] = Field(
        None, gt=0, description="Fit on observations up to this time (data's unit); default: all.")
    clock: Optional[ClockSpec] = None

    @property
    def unit(self) -> str:
        return self.time_unit or self.time

    @model_validator(mode="after")
    def _unit(self) -> "DataSpec":
        if self.time_unit is not None and hours_per(self.time_unit) is None:
            raise ValueError(f"`time_unit` {self.time_unit!r} is not a unit of time "
                             "(second, minute, hour or day)")
        return self


class ObserveSpec(_Frozen):
    """The model quantity that matches the data, in people: a state count or cumulative firings."""

    state: Optional[StateCondition] = None
    fired: Optional[List[str]] = None
    label: Optional[str] = Field(None, description="What the count is, for the figure.")

    @model_validator(mode="after")
    def _one(self) -> "ObserveSpec":
        if (self.state is None) == (self.fired is None):
            raise ValueError("give exactly one of `state` (people in a state) or "
                             "`fired` (people who made these transitions)")
        return self


class PriorSpec(_Frozen):
    """A uniform prior on ``[low, high]``, or log-uniform with ``scale: log``."""

    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"
    label: Optional[str] = Field(None, description="What the parameter means, for tables and plots.")

    @model_validator(mode="after")
    def _range(self) -> "PriorSpec":
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("`low` and `high` must be finite numbers")
        if not self.low < self.high:
            raise ValueError(f"`low` ({self.low:g}) must be below `high` ({self.high:g})")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"a log-scale prior needs low > 0, got {self.low:g}")
        return self

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Map values into [0, 1] on the prior's scale (where it is uniform)."""
        x = np.asarray(x, float)
        if self.scale == "log":
            return (np.log(x) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (x - self.low) / (self.high - self.low)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_unit`."""
        u = np.asarray(u, float)
        if self.scale == "log":
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)


class FitSpec(_Frozen):
    """A whole fit: base scenario, data, observation, priors, method and budget."""

    name: Optional[str] = Field(None, description="A title (what `rumorsim scenarios` lists).")
    description: str = ""
    scenario: str = Field(description="A shipped scenario's name, or a path relative to the fit file.")
    set: List[str] = Field(default_factory=list, description="--set overrides of the base scenario.")
    data: DataSpec
    observe: ObserveSpec
    parameters: Dict[str, PriorSpec] = Field(min_length=1)
    method: Literal["abc-smc"] = "abc-smc"
    simulations: int = Field(3000, ge=20, le=10_000_000, description="Total simulation budget.")
    population_size: Optional[int] = Field(
        None, ge=10, description="Particles per ABC-SMC generation (default: about a tenth "
        "of the budget, 100 to 500).")
    forecast_until: Optional[float] = Field(
        None, gt=0, description="Forecast horizon, data's unit (default: the last observation).")
    predictive: int = Field(200, ge=10, le=100_000,
                            description="Posterior predictive paths kept in FitResult.trajectories "
                            "(drawn by weight from the accepted simulations).")
    prior: Optional[str] = Field(
        None, description="Population prior: past cascades' posterior samples (a CSV file, or "
        "a folder of fit directories), relative to the fit file; `uniform` (the default): "
        "each parameter's own uniform prior.")
    seed: int = Field(0, ge=0)

    source: Optional[str] = Field(None, exclude=True)
    # the population prior's samples, read once by load_fit (rumorsim.fitprior.Population)
    _population: Any = PrivateAttr(default=None)

    @property
    def population(self) -> Any:
        """The population prior :func:`load_fit` read (a ``Population``), or None."""
        return self._population

    def with_population(self, population: Any) -> "FitSpec":
        """A copy carrying ``population`` (what :func:`load_fit` does for ``prior``)."""
        out = self.model_copy()
        out._population = population
        return out

    @property
    def base_dir(self) -> Path:
        return Path(self.source).resolve().parent if self.source else Path.cwd()

    @property
    def particles(self) -> int:
        if self.population_size is not None:
            return self.population_size
        return int(min(500, max(min(100, self.simulations // 2), self.simulations // 10)))


# ---------------------------------------------------------------- observed series


@dataclass(frozen=True)
class Observed:
    """One observed series, in the data's unit and in the scenario's unit.

    Attributes
    ----------
    cascade : the series' id.
    time : observation times, data's unit, increasing.
    value : the observed counts at those times.
    unit : the data's time unit.
    to_scenario : scenario time units per data time unit.
    until : end of the fit window (data's unit).
    start : the series' clock start (a timezone-aware datetime) or None.
    """

    cascade: str
    time: np.ndarray
    value: np.ndarray
    unit: str
    to_scenario: float
    until: float
    start: Optional[datetime] = None

    @property
    def fit_mask(self) -> np.ndarray:
        """Observations inside the fit window."""
        return self.time <= self.until + 1e-9


# -------------------------------------------------------------------------- loading


def _parse_offset(text: str) -> timezone:
    s = str(text).strip()
    sign = -1 if s.startswith("-") else 1
    body = s.lstrip("+-")
    try:
        hh, _, mm = body.partition(":")
        delta = timedelta(hours=int(hh), minutes=int(mm or 0))
    except ValueError:
        raise ValueError(f"a UTC offset looks like +08:00, got {text!r}") from None
    if delta > timedelta(hours=14):
        raise ValueError(f"a UTC offset is at most 14 hours, got {text!r}")
    return timezone(sign * delta)


def load_fit(
    path: PathLike,
    *,
    data: Optional[PathLike] = None,
    cascade: Optional[str] = None,
    until: Optional[float] = None,
    prior: Optional[PathLike] = None,
) -> Tuple[FitSpec, Scenario, Observed]:
    """Load and check a fit file; return the spec, the base scenario and the observed series.

    Parameters
    ----------
    path : the fit YAML file.
    data, cascade, until : replace ``data.path`` (relative to the working directory),
        ``data.cascade`` and ``data.until`` (as ``--data``, ``--cascade``, ``--until``).
    prior : replaces ``prior`` (relative to the working directory; ``--prior-from``);
        ``"uniform"``: the parameters' own uniform priors.

    Raises
    ------
    ScenarioError
        With the file, line and field of the first problem (or the option that caused it).

    Examples
    --------
    >>> spec, base, obs = load_fit("scenarios/fit_weibo.yaml", until=60)   # doctest: +SKIP
    >>> obs.time[obs.fit_mask][-1]                                         # doctest: +SKIP
    60.0
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError("no such fit file", file=str(p),
                            suggestion="scenarios/fit_weibo.yaml is a worked example")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file: {exc}", file=str(p)) from None
    try:
        return _load(p, text, data=data, cascade=cascade, until=until, prior=prior)
    except ScenarioError as exc:
        if exc.file and exc.file.startswith("--set --"):  # an option, not a --set
            exc.file = exc.file[len("--set "):]
        raise


def _load(p: Path, text: str, *, data: Optional[PathLike], cascade: Optional[str],
          until: Optional[float], prior: Optional[PathLike]) -> Tuple[FitSpec, Scenario, Observed]:
    tree = _compose(text, str(p))
    if prior is not None and isinstance(tree.data, dict):
        tree.data["prior"] = "uniform" if str(prior) == "uniform" else str(Path(prior).resolve())
        tree.overridden[("prior",)] = f"--prior-from {prior}"
    node = tree.data.get("data")
    if isinstance(node, dict):
        # options replace the file's values; errors in them name the option
        for key, value, option in (("path", data, "--data"), ("cascade", cascade, "--cascade"),
                                   ("until", until, "--until")):
            if value is not None:
                node[key] = str(Path(value).resolve()) if key == "path" else value
                tree.overridden[("data", key)] = f"{option} {value}"
    _check_keys(FitSpec, tree.data, (), tree)
    try:
        spec = FitSpec.model_validate(tree.data)
    except ValidationError as exc:
        raise _pydantic_error(exc, tree) from None
    spec = spec.model_copy(update={"source": str(p)})
    base = _base_scenario(spec, tree)
    _check_parameters(spec, base, tree)
    _check_observe(spec, base, tree)
    observed = _read_observed(spec, base, tree)
    if spec.prior is not None and spec.prior != "uniform":
        spec = spec.with_population(_read_prior(spec, observed, tree))
    return spec, base, observed


def _read_prior(spec: FitSpec, observed: Observed, tree: _Tree) -> Any:
    from .fitprior import read_population

    assert spec.prior is not None
    path = Path(spec.prior) if Path(spec.prior).is_absolute() else spec.base_dir / spec.prior
    try:
        return read_population(path, spec.parameters, fitting=observed.cascade)
    except ScenarioError as exc:
        raise tree.error(("prior",), exc.message, expected=exc.expected,
                         suggestion=exc.suggestion) from None


def _base_scenario(spec: FitSpec, tree: _Tree) -> Scenario:
    from .catalog import find_scenario
    from .scenario import load_scenario

    ref = Path(spec.scenario)
    local = ref if ref.is_absolute() else spec.base_dir / ref
    candidates = [local, local.with_suffix(".yaml")] if not local.suffix else [local]
    target: Any = next((c for c in candidates if c.is_file()), None)
    if target is None:
        try:
            target = find_scenario(spec.scenario)
        except ScenarioError:
            raise tree.error(("scenario",), f"there is no scenario `{spec.scenario}`",
                             expected="a shipped scenario's name (`rumorsim scenarios`) or a "
                             "path relative to the fit file") from None
    try:
        return load_scenario(target, list(spec.set))
    except ScenarioError as exc:
        if exc.file and str(exc.file).startswith("--set"):
            raise tree.error(("set",), f"an override of the base scenario fails: {exc.message}",
                             found=exc.found, expected=exc.expected,
                             suggestion=exc.suggestion) from None
        raise


def _check_parameters(spec: FitSpec, base: Scenario, tree: _Tree) -> None:
    """Every parameter path must exist and accept both ends of its prior."""
    from .scenario import override

    for name, prior in spec.parameters.items():
        for value in (prior.low, prior.high):
            try:
                override(base, [f"{name}={value!r}"])
            except ScenarioError as exc:
                raise tree.error(
                    ("parameters", name),
                    f"the base scenario does not take {name}={value:g}: {exc.message}",
                    expected=exc.expected or "a --set path of the base scenario with a numeric value",
                    suggestion=exc.suggestion,
                ) from None


def _check_observe(spec: FitSpec, base: Scenario, tree: _Tree) -> None:
    obs = spec.observe
    if obs.state is not None:
        for trait, wanted in obs.state.items():
            if trait not in base.traits:
                raise tree.error(("observe", "state", trait), f"the scenario has no trait `{trait}`",
                                 expected=f"one of {', '.join(base.traits)}",
                                 suggestion=did_you_mean(trait, base.traits))
            for w in [wanted] if isinstance(wanted, str) else wanted:
                if w not in base.traits[trait]:
                    raise tree.error(("observe", "state", trait),
                                     f"trait `{trait}` has no state `{w}`",
                                     expected=f"one of {', '.join(base.traits[trait])}",
                                     suggestion=did_you_mean(w, base.traits[trait]))
    else:
        names = [t.name for t in base.transitions] + list(base.interventions)
        for k, name in enumerate(obs.fired or []):
            if name not in names:
                raise tree.error(("observe", "fired", k), f"the scenario has no transition `{name}`",
                                 expected=f"one of {', '.join(names)}",
                                 suggestion=did_you_mean(name, names))


def _read_table(path: Path, columns: Dict[str, Tuple[str, ...]], field: Tuple[str, ...],
                tree: _Tree) -> Any:
    """Read ``columns`` (name -> the fit-file field naming it) of a CSV file."""
    import pandas as pd

    if not path.is_file():
        raise tree.error(field, f"the data file `{path}` does not exist",
                         expected="a CSV file (optionally .gz), relative to the fit file")
    try:
        head = pd.read_csv(path, nrows=0)
    except Exception as exc:  # pandas raises many kinds for a file that is not a CSV
        raise tree.error(field, f"cannot read `{path}` as CSV: {exc}") from None
    for col, where in columns.items():
        if col not in head.columns:
            raise tree.error(where, f"the data file has no column `{col}`",
                             expected=f"one of {', '.join(map(str, head.columns))}",
                             suggestion=did_you_mean(col, list(map(str, head.columns))))
    names = list(columns)
    return pd.read_csv(path, usecols=names, dtype={names[0]: str})


def _read_observed(spec: FitSpec, base: Scenario, tree: _Tree) -> Observed:
    d = spec.data
    path = Path(d.path) if Path(d.path).is_absolute() else spec.base_dir / d.path
    hours = hours_per(d.unit)
    sc_hours = base.time.hours_per_unit
    if hours is not None and sc_hours is not None:
        to_scenario = hours / sc_hours
    elif d.unit.strip().lower() == base.time.unit.strip().lower():
        to_scenario = 1.0
    else:
        raise tree.error(("data", "time_unit" if d.time_unit else "time"),
                         f"cannot convert the data's time unit `{d.unit}` to the scenario's "
                         f"`{base.time.unit}`",
                         expected="a unit of time (second, minute, hour, day) in both, or the same unit",
                         suggestion="Set data.time_unit")
    table = _read_table(path, {d.id_column: ("data", "id_column"), d.time: ("data", "time"),
                               d.value: ("data", "value")}, ("data", "path"), tree)
    ids = table[d.id_column].astype(str)
    available = ids.unique()
    if d.cascade is None:
        if len(available) != 1:
            raise tree.error(("data", "cascade"), f"the data file holds {len(available)} series: "
                             "say which to fit", expected=f"data.cascade (or --cascade), e.g. {available[0]}")
        chosen = str(available[0])
    else:
        chosen = str(d.cascade)
        if chosen not in set(available):
            raise tree.error(("data", "cascade"), f"the data file has no series `{chosen}`",
                             expected=f"a value of column `{d.id_column}`, e.g. {available[0]}",
                             suggestion=did_you_mean(chosen, list(map(str, available))))
    rows = table[ids == chosen]
    t = rows[d.time].to_numpy(float)
    y = rows[d.value].to_numpy(float)
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        raise tree.error(("data", "value"), f"series `{chosen}` has missing or non-numeric values")
    if np.any(y < 0) or np.any(t < 0):
        raise tree.error(("data", "value"), f"series `{chosen}` has negative times or counts")
    if len(np.unique(t)) != len(t):
        raise tree.error(("data", "time"), f"series `{chosen}` repeats a time")
    end = float(t[-1]) if d.until is None else float(d.until)
    if np.sum(t <= end + 1e-9) < 2:
        raise tree.error(("data", "until"), f"the fit window (until {end:g} {d.unit}) holds fewer "
                         "than two observations", expected=f"until >= {t[min(1, len(t) - 1)]:g}")
    horizon = spec.forecast_until if spec.forecast_until is not None else float(t[-1])
    if horizon < end:
        raise tree.error(("forecast_until",), f"the forecast ends ({horizon:g}) before the fit "
                         f"window does ({end:g})", expected=f"forecast_until >= {end:g}")
    start = None
    if d.clock is not None:
        start = _read_clock(spec, chosen, tree)
    return Observed(cascade=chosen, time=t, value=y, unit=d.unit, to_scenario=to_scenario,
                    until=end, start=start)


def _read_clock(spec: FitSpec, chosen: str, tree: _Tree) -> datetime:
    c = spec.data.clock
    assert c is not None
    path = Path(c.path) if Path(c.path).is_absolute() else spec.base_dir / c.path
    table = _read_table(path, {c.id_column: ("data", "clock", "id_column"),
                               c.column: ("data", "clock", "column")}, ("data", "clock", "path"), tree)
    rows = table[table[c.id_column].astype(str) == chosen]
    if len(rows) != 1:
        raise tree.error(("data", "clock", "path"),
                         f"the clock file has {len(rows)} rows for series `{chosen}`",
                         expected="exactly one")
    seconds = float(rows[c.column].iloc[0])
    if not math.isfinite(seconds):
        raise tree.error(("data", "clock", "column"), f"series `{chosen}` has no start time")
    return datetime.fromtimestamp(seconds, _parse_offset(c.utc_offset))
