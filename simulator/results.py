"""Results of a run: tidy tables, a JSON summary, and the run directory.

The engine hands over a :class:`RawRun` (plain arrays, one row per replicate);
:class:`Results` turns it into what people read:

- tidy DataFrames (``timeseries``, ``signals``, ``fired``, ``transitions``), computed
  once and cached, in agents *and* in real people (``people = count × people_per_agent``);
- headline outcomes per replicate (:meth:`Results.outcome_values`) and their ensemble
  median with the 5–95 % band (:meth:`Results.outcome_table`);
- a JSON-serialisable :meth:`Results.summary`.

Writing a run directory and reading it back is :mod:`rumorsim.rundir`'s job
(``write_run``, ``read_run``); figures are :mod:`rumorsim.plots`'. This module holds
data and the tables derived from it, and imports neither (nor numba).

The ensemble statistics everywhere are ``numpy.percentile`` with the default
(``"linear"``) method over replicates: the median and the 5th and 95th percentiles,
i.e. a central 90 % interval of the replicates (not a confidence interval of the mean).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from .errors import ScenarioError, did_you_mean
from .modelinfo import ModelInfo
from .outputs import json_number as _num, jsonable as _jsonable
from .scenario import OutcomeSpec, Scenario

#: Percentiles (of replicates) for the ensemble band: low, centre, high.
BAND_PERCENTILES: Tuple[float, float, float] = (5.0, 50.0, 95.0)
#: How summary.json and reports name the statistics they show.
ENSEMBLE_STATISTICS: Dict[str, str] = {
    "median": "numpy.percentile(values, 50) over replicates",
    "p5": "numpy.percentile(values, 5) over replicates (method='linear')",
    "p95": "numpy.percentile(values, 95) over replicates (method='linear')",
    "interval": "p5..p95: central 90 % of replicates",
}
#: Bumped when the layout of a run directory changes incompatibly. /2: per-report tables
#: and raw.npz stop at the last change (rumorsim.rundir); /1 directories still read.
RUN_FORMAT = "rumorsim-run/2"

PathLike = Union[str, os.PathLike]
_ByName = Dict[str, Dict[str, np.ndarray]]  # name -> statistic -> values per replicate
Condition = Mapping[str, Union[str, Sequence[str]]]


@dataclass(frozen=True)
class RawRun:
    """What the engine returns: plain arrays, replicates along the first axis.

    Attributes
    ----------
    counts : int32 (R, n_reports, n_joint): agents in each joint state at each report time.
    fired : int64 (R, n_reports, n_events): cumulative firings of each event up to each
        report time.
    signals : float64 (R, n_reports, n_signals): signal values at report times.
    signal_peak : float64 (R, n_signals): max over all steps (not just report times).
    signal_peak_time : float64 (R, n_signals): when that max happened (scenario units).
    signal_time_above : float64 (R, n_signals): time (scenario units) with the signal
        above its ``alert_above`` (0 where the signal has no alert level).
    steps_run : int64 (R,).
    replicate_seeds : uint64 (R, 4), or any per-replicate seed record.
    wall_seconds : float: kernel wall-clock time for all replicates.
    """

    counts: np.ndarray
    fired: np.ndarray
    signals: np.ndarray
    signal_peak: np.ndarray
    signal_peak_time: np.ndarray
    signal_time_above: np.ndarray
    steps_run: np.ndarray
    replicate_seeds: np.ndarray
    wall_seconds: float


# ------------------------------------------------------------------ small helpers


def last_change(raw: RawRun) -> np.ndarray:
    """Per replicate, the last report index at which anything changed, shape (R,) int64.

    "Anything" is a count, a cumulative firing or a signal value (NaN equal to NaN);
    from that index on every report repeats the same row. A replicate that never
    changes gives 0; one still changing at the end gives ``n_reports - 1``.

    Examples
    --------
    >>> c = np.array([[[1], [2], [2], [2]], [[5], [5], [5], [6]]], dtype=np.int32)
    >>> e = np.zeros((2, 4, 0)); sig = np.zeros((2, 4, 0))
    >>> last_change(RawRun(c, e, sig, *[np.zeros((2, 0))] * 3, np.zeros(2), np.zeros(2), 0.0))
    array([1, 3])
    """
    R, T = raw.counts.shape[:2]
    changed = np.zeros((R, max(T - 1, 0)), dtype=bool)  # row t+1 differs from row t
    for a in (raw.counts, raw.fired, raw.signals):
        a = np.asarray(a)
        if a.size == 0 or T < 2:
            continue
        # Each report row as one opaque value, its bytes: rows compare in one pass. Equal
        # bytes are equal values, NaN included (a signal that stays NaN has not changed);
        # a NaN whose bits change, or 0.0 -> -0.0, counts as a change, which only keeps a
        # row more (the truncation stays exact).
        rows = np.ascontiguousarray(a).reshape(R, T, -1)
        v = rows.view(np.dtype((np.void, rows.shape[2] * rows.itemsize))).reshape(R, T)
        changed |= v[:, 1:] != v[:, :-1]
    if changed.shape[1] == 0:
        return np.zeros(R, dtype=np.int64)
    any_change = changed.any(axis=1)
    # (last t with row t+1 != row t) + 1, counted from the end
    last = changed.shape[1] - np.argmax(changed[:, ::-1], axis=1)
    return np.where(any_change, last, 0).astype(np.int64)


def _string_dtype() -> Any:
    """The dtype pandas gives ``astype(str)``: its string dtype (pandas 3), else object."""
    return pd.Series(["x"]).astype(str).dtype


def _pad_rows(a: np.ndarray, n_reports: int) -> np.ndarray:
    """(R, t) -> (R, n_reports): the last column repeated (see :func:`expand_raw`)."""
    missing = n_reports - a.shape[1]
    if missing <= 0 or a.shape[1] == 0:
        return a
    return np.concatenate([a, np.repeat(a[:, -1:], missing, axis=1)], axis=1)


def truncate_raw(raw: RawRun, last: Optional[np.ndarray] = None) -> RawRun:
    """``raw`` with its report rows cut after the last change of any replicate (``last``:
    :func:`last_change` of ``raw``, if already known).

    Exact: :func:`expand_raw` gives the arrays back bit for bit, because every later
    row repeats the last kept one. Many small cascades stop after a few dozen steps of
    a thousand report times; this is what lets a run directory stay small.
    """
    keep = int((last_change(raw) if last is None else last).max(initial=0)) + 1
    return RawRun(**{**_raw_dict(raw), "counts": raw.counts[:, :keep],
                     "fired": raw.fired[:, :keep], "signals": raw.signals[:, :keep]})


def expand_raw(raw: RawRun, n_reports: int) -> RawRun:
    """The inverse of :func:`truncate_raw`: repeat the last report row up to ``n_reports``."""
    def pad(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)
        missing = n_reports - a.shape[1]
        if missing <= 0 or a.shape[1] == 0:
            return a
        return np.concatenate([a, np.repeat(a[:, -1:], missing, axis=1)], axis=1)

    return RawRun(**{**_raw_dict(raw), "counts": pad(raw.counts), "fired": pad(raw.fired),
                     "signals": pad(raw.signals)})


def _raw_dict(raw: RawRun) -> Dict[str, Any]:
    return {k: getattr(raw, k) for k in RawRun.__dataclass_fields__}


def ensemble_band(values: np.ndarray, axis: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and 5–95 % band of ``values`` across replicates.

    Parameters
    ----------
    values : array with replicates along ``axis``.
    axis : the replicate axis.

    Returns
    -------
    (median, low, high), each with ``axis`` removed.

    Examples
    --------
    >>> med, lo, hi = ensemble_band(np.array([[0.0], [10.0], [20.0]]))
    >>> float(med[0]), float(lo[0]), float(hi[0])
    (10.0, 1.0, 19.0)
    """
    lo, med, hi = np.percentile(np.asarray(values, dtype=float), BAND_PERCENTILES, axis=axis)
    return med, lo, hi


def _stats(values: np.ndarray) -> Dict[str, Optional[float]]:
    """``{"median", "p5", "p95"}`` of a 1-d array of replicate values, JSON-ready."""
    med, lo, hi = ensemble_band(np.asarray(values, dtype=float))
    return {"median": _num(med), "p5": _num(lo), "p95": _num(hi)}


# ------------------------------------------------------------------------ Results


class Results:
    """Everything one run produced, as tidy tables and summaries.

    Parameters
    ----------
    scenario : the resolved scenario that was run.
    info : what the compiled model says about states, events, signals, report times.
    raw : the engine's arrays.
    network_stats : graph statistics per layer (for provenance), JSON-serialisable.
    provenance : version, seed, command, timings, ... (JSON-serialisable).

    Examples
    --------
    >>> res = Results(scenario, info, raw)                        # doctest: +SKIP
    >>> res.timeseries.query("state == 'believer'").head()        # doctest: +SKIP
    >>> rs.write_run(res, "runs/wechat")                          # doctest: +SKIP
    >>> rs.read_run("runs/wechat").outcome_table()                # doctest: +SKIP
    """

    def __init__(
        self,
        scenario: Scenario,
        info: ModelInfo,
        raw: RawRun,
        network_stats: Optional[Dict[str, Any]] = None,
        provenance: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.scenario = scenario
        self.info = info
        self.raw = raw
        self.network_stats: Dict[str, Any] = dict(network_stats or {})
        self.provenance: Dict[str, Any] = dict(provenance or {})
        #: The mean-field curves (``rumorsim.meanfield``), when asked for: written as
        #: meanfield.csv and drawn dashed over the bands.
        self.meanfield: Optional[pd.DataFrame] = None
        self._check_shapes()

    def _check_shapes(self) -> None:
        r = self.raw
        R, T = r.counts.shape[:2]
        expect = {
            "counts": (R, T, len(self.info.joint_states)),
            "fired": (R, T, len(self.info.event_names)),
            "signals": (R, T, len(self.info.signal_names)),
            "signal_peak": (R, len(self.info.signal_names)),
            "signal_peak_time": (R, len(self.info.signal_names)),
            "signal_time_above": (R, len(self.info.signal_names)),
            "steps_run": (R,),
        }
        for name, shape in expect.items():
            got = tuple(np.shape(getattr(r, name)))
            if got != shape:
                raise ValueError(f"RawRun.{name} has shape {got}, expected {shape}")
        if T != len(self.info.report_times):
            raise ValueError(
                f"RawRun has {T} report times, ModelInfo.report_times has "
                f"{len(self.info.report_times)}"
            )

    # ------------------------------------------------------------- basic facts

    @property
    def n_replicates(self) -> int:
        """Number of replicates (R)."""
        return int(self.raw.counts.shape[0])

    @property
    def times(self) -> np.ndarray:
        """Report times in scenario time units."""
        return np.asarray(self.info.report_times, dtype=float)

    @property
    def n_agents(self) -> int:
        """Agents simulated."""
        return int(self.scenario.population.agents)

    @property
    def people_per_agent(self) -> float:
        """Real people one agent stands for."""
        return float(self.scenario.population.people_per_agent)

    @property
    def scaled(self) -> bool:
        """True when agents stand for a larger (or smaller) real population."""
        return self.people_per_agent != 1.0

    @property
    def trait_names(self) -> List[str]:
        """Trait names in scenario order."""
        return [t for t, _ in self.info.traits]

    # ------------------------------------------------------- arrays (R, T)

    def _check_condition(self, condition: Condition, where: str = "condition") -> None:
        traits = dict(self.info.traits)
        if not condition:
            raise ScenarioError("an empty state condition matches every agent", field=where,
                                suggestion="Name at least one trait, e.g. {rumor: believer}")
        for trait, wanted in condition.items():
            if trait not in traits:
                raise ScenarioError(
                    f"unknown trait `{trait}`", field=where,
                    expected=f"one of {', '.join(traits)}",
                    suggestion=did_you_mean(trait, traits),
                )
            for s in [wanted] if isinstance(wanted, str) else list(wanted):
                if s not in traits[trait]:
                    raise ScenarioError(
                        f"trait `{trait}` has no state `{s}`", field=where,
                        expected=f"one of {', '.join(traits[trait])}",
                        suggestion=did_you_mean(s, traits[trait]),
                    )

    def count_array(self, condition: Condition) -> np.ndarray:
        """Agents matching ``condition`` at each report time, shape (R, T), int64.

        A condition over several traits (``{rumor: believer, card: bound}``) is read
        from the joint states, so it counts agents in *all* the named states at once.
        """
        self._check_condition(condition)
        mask = self.info.matching_joint_states(dict(condition))
        return self.raw.counts[:, :, mask].sum(axis=2, dtype=np.int64)

    def _event_indices(self, events: Iterable[str]) -> List[int]:
        names = list(self.info.event_names)
        idx = []
        for e in events:
            if e not in names:
                raise ScenarioError(
                    f"unknown event `{e}`", field="events",
                    expected=f"a transition or intervention name: {', '.join(names)}",
                    suggestion=did_you_mean(e, names),
                )
            idx.append(names.index(e))
        return idx

    def fired_array(self, events: Sequence[str]) -> np.ndarray:
        """Cumulative firings of ``events`` (summed) at each report time, (R, T) int64."""
        idx = self._event_indices([events] if isinstance(events, str) else events)
        return self.raw.fired[:, :, idx].sum(axis=2, dtype=np.int64)

    def _signal_index(self, name: str) -> int:
        names = list(self.info.signal_names)
        if name not in names:
            raise ScenarioError(
                f"unknown signal `{name}`", field="signal",
                expected=f"one of {', '.join(names) or '(this scenario has no signals)'}",
                suggestion=did_you_mean(name, names),
            )
        return names.index(name)

    def signal_array(self, name: str) -> np.ndarray:
        """Values of signal ``name`` at each report time, (R, T) float64."""
        return np.asarray(self.raw.signals[:, :, self._signal_index(name)], dtype=float)

    def _marginals(self, full: bool = True) -> List[Tuple[str, str, np.ndarray]]:
        """(trait, state, agents (R, T)) for every trait state, in scenario order; with
        ``full=False`` only the first :attr:`_kept_rows` report times (all later rows
        repeat the last of them), which is all the tables and the summary read."""
        if not full:
            return list(self._marginal_arrays)
        return [(t, s, _pad_rows(a, len(self.times))) for t, s, a in self._marginal_arrays]

    @cached_property
    def _kept_rows(self) -> int:
        """Report rows up to the last change of any replicate: later ones repeat them."""
        return int(self.last_change.max(initial=0)) + 1

    @cached_property
    def _marginal_arrays(self) -> List[Tuple[str, str, np.ndarray]]:
        out = []
        counts = np.asarray(self.raw.counts)[:, :self._kept_rows]
        for k, (trait, states) in enumerate(self.info.traits):
            # one matrix product per trait: joint counts -> marginal counts
            onehot = np.zeros((len(self.info.joint_states), len(states)), dtype=np.int64)
            onehot[np.arange(len(self.info.joint_states)), self.info.joint_states[:, k]] = 1
            marg = counts.astype(np.int64) @ onehot  # (R, kept rows, S)
            out += [(trait, s, marg[:, :, j]) for j, s in enumerate(states)]
        return out

    # ------------------------------------------------------- tidy frames

    def _long(self, arrays: List[np.ndarray], keys: Dict[str, List[Any]],
              value: str, people: bool, compact: bool = False) -> pd.DataFrame:
        """Stack per-key (R, T) arrays into replicate,time,<keys>,value[,people].

        ``compact`` keeps, per replicate, only the report times up to its last change
        (:meth:`last_change`): the rows a run directory's tables hold.
        """
        R, T = self.n_replicates, len(self.times)
        n = len(arrays)
        if compact:  # (nothing after the last change of any replicate is read)
            T = min(T, self._kept_rows)
            arrays = [np.asarray(a)[:, :T] for a in arrays]
        stacked = np.stack(arrays, axis=2) if n else np.zeros((R, T, 0))  # (R, T, n)
        if compact:
            keep = np.arange(T)[None, :] <= self.last_change[:, None]
            rep, t = np.nonzero(keep)  # row-major: replicate, then time, as the full frame
            values = stacked[rep, t].reshape(-1)
        else:
            rep, t = np.repeat(np.arange(R), T), np.tile(np.arange(T), R)
            values = stacked.reshape(-1)
        m = len(rep)
        cols: Dict[str, Any] = {
            "replicate": np.repeat(rep.astype(np.int64), n),
            "time": np.repeat(self.times[t], n),
        }
        codes = np.tile(np.arange(n), m)
        for key, vals in keys.items():
            # plain strings, whatever pandas' default string dtype is: the n labels
            # converted once, then taken per row (not a conversion per row)
            labels = pd.array(np.asarray(vals, dtype=object), dtype=_string_dtype())
            cols[key] = labels[codes]
        cols[value] = values
        if people:
            cols["people"] = cols[value] * self.people_per_agent
        return pd.DataFrame(cols)

    @cached_property
    def last_change(self) -> np.ndarray:
        """Per replicate, the last report index at which anything changed, (R,) int64;
        later reports repeat that one (see :func:`last_change`)."""
        return last_change(self.raw)

    def _timeseries(self, compact: bool = False) -> pd.DataFrame:
        marg = self._marginals(full=not compact)
        return self._long(
            [m for _, _, m in marg],
            {"trait": [t for t, _, _ in marg], "state": [s for _, s, _ in marg]},
            "count", people=True, compact=compact,
        )

    def _signals(self, compact: bool = False) -> pd.DataFrame:
        names = list(self.info.signal_names)
        rows = self._kept_rows if compact else len(self.times)  # (see _long)
        return self._long([self.signal_array(s)[:, :rows] for s in names], {"signal": names},
                          "value", people=False, compact=compact)

    def _fired(self, compact: bool = False) -> pd.DataFrame:
        names = list(self.info.event_names)
        fired = np.asarray(self.raw.fired)[:, :self._kept_rows if compact else len(self.times)]
        arrays = [fired[:, :, i].astype(np.int64) for i in range(len(names))]
        return self._long(arrays, {"event": names}, "count", people=True, compact=compact)

    def compact_tables(self) -> Dict[str, pd.DataFrame]:
        """The per-report tables as a run directory stores them: ``timeseries``,
        ``fired`` (and ``signals`` when the scenario has any), each replicate's rows
        stopping at its last change (:attr:`last_change`); its values hold from there
        to ``until``. The full tables are :attr:`timeseries`, :attr:`fired`, :attr:`signals`.
        """
        out = {"timeseries": self._timeseries(True), "fired": self._fired(True)}
        if len(self.info.signal_names):
            out["signals"] = self._signals(True)
        return out

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """``replicate,time,trait,state,count,people``: agents per trait state (marginals)."""
        return self._timeseries()

    @cached_property
    def signals(self) -> pd.DataFrame:
        """``replicate,time,signal,value``: signal values at report times."""
        return self._signals()

    @cached_property
    def fired(self) -> pd.DataFrame:
        """``replicate,time,event,count,people``: cumulative firings per event."""
        return self._fired()

    @cached_property
    def transitions(self) -> pd.DataFrame:
        """``replicate,event,kind,fired``: total firings per event at the end of the run."""
        R, E = self.n_replicates, len(self.info.event_names)
        total = self.raw.fired[:, -1, :].astype(np.int64) if E else np.zeros((R, 0), np.int64)
        return pd.DataFrame({
            "replicate": np.repeat(np.arange(R, dtype=np.int64), E),
            "event": np.tile(np.asarray(self.info.event_names, dtype=object), R).astype(str),
            "kind": np.tile(np.asarray(self.info.event_kinds, dtype=object), R).astype(str),
            "fired": total.reshape(-1),
        })

    def _frame(self, values: np.ndarray, people: bool = True, value: str = "count") -> pd.DataFrame:
        R, T = values.shape
        df = pd.DataFrame({
            "replicate": np.repeat(np.arange(R, dtype=np.int64), T),
            "time": np.tile(self.times, R),
            value: values.reshape(-1),
        })
        if people:
            df["people"] = df[value] * self.people_per_agent
        return df

    def count_matching(self, condition: Condition) -> pd.DataFrame:
        """``replicate,time,count,people`` for agents matching ``condition``.

        Examples
        --------
        >>> res.count_matching({"rumor": "believer", "card": "unbound"})  # doctest: +SKIP
        """
        return self._frame(self.count_array(condition))

    def fired_total(self, events: Sequence[str]) -> pd.DataFrame:
        """``replicate,time,count,people``: cumulative firings of ``events`` together."""
        return self._frame(self.fired_array(events))

    def signal(self, name: str) -> pd.DataFrame:
        """``replicate,time,value`` for one signal."""
        return self._frame(self.signal_array(name), people=False, value="value")

    # -------------------------------------------------------------- outcomes

    def outcome_specs(self) -> Dict[str, OutcomeSpec]:
        """The scenario's outcomes, or (if it defines none) final and peak people of
        every trait state, named ``final_<trait>_<state>`` and ``peak_<trait>_<state>``."""
        if self.scenario.outcomes:
            return dict(self.scenario.outcomes)
        specs: Dict[str, OutcomeSpec] = {}
        for trait, states in self.info.traits:
            for s in states:
                specs[f"final_{trait}_{s}"] = OutcomeSpec(
                    label=f"{s} ({trait}) at the end", final={trait: s})
                specs[f"peak_{trait}_{s}"] = OutcomeSpec(
                    label=f"peak {s} ({trait})", peak={trait: s})
        return specs

    def outcome_unit(self, spec: OutcomeSpec) -> str:
        """Unit of an outcome's values: people, the time unit, or the signal's unit."""
        if spec.kind in ("peak", "final", "ever"):
            return "people"
        if spec.kind in ("time_above", "time_of_peak"):
            return self.scenario.time.unit
        k = self._signal_index(spec.signal_peak)
        return self.info.signal_units[k] or ""

    def _outcome_array(self, name: str, spec: OutcomeSpec) -> np.ndarray:
        kind = spec.kind
        try:
            if kind == "peak":
                return self.count_array(spec.peak).max(axis=1) * self.people_per_agent
            if kind == "final":
                return self.count_array(spec.final)[:, -1] * self.people_per_agent
            if kind == "ever":
                return self.fired_array(spec.ever)[:, -1] * self.people_per_agent
            if kind == "time_of_peak":
                return self.times[np.argmax(self.count_array(spec.time_of_peak), axis=1)]
            if kind == "signal_peak":
                return self.raw.signal_peak[:, self._signal_index(spec.signal_peak)].astype(float)
            if kind == "time_above":
                return self.raw.signal_time_above[:, self._signal_index(spec.time_above)].astype(float)
        except ScenarioError as e:
            e.field = f"outcomes.{name}.{kind}"
            raise
        raise AssertionError(kind)  # pragma: no cover - OutcomeSpec allows no other kind

    @cached_property
    def _outcomes(self) -> Dict[str, np.ndarray]:
        return {n: np.asarray(self._outcome_array(n, s), dtype=float)
                for n, s in self.outcome_specs().items()}

    def outcome_array(self, name: str) -> np.ndarray:
        """One outcome's value per replicate (float, length R), as in :meth:`outcome_values`."""
        if name not in self._outcomes:
            raise ScenarioError(f"there is no outcome `{name}`", field="outcomes",
                                expected=f"one of {', '.join(self._outcomes)}",
                                suggestion=did_you_mean(name, self._outcomes))
        return self._outcomes[name]

    def outcome_values(self) -> pd.DataFrame:
        """``replicate,outcome,value``: each headline outcome per replicate.

        Values are people for peak/final/ever, scenario time units for
        time_above/time_of_peak, and the signal's own value for signal_peak.
        """
        names = list(self._outcomes)
        R = self.n_replicates
        vals = np.stack([self._outcomes[n] for n in names], axis=1) if names else np.zeros((R, 0))
        return pd.DataFrame({
            "replicate": np.repeat(np.arange(R, dtype=np.int64), len(names)),
            "outcome": np.tile(np.asarray(names, dtype=object), R).astype(str),
            "value": vals.reshape(-1).astype(float),
        })

    def outcome_table(self) -> pd.DataFrame:
        """``outcome,label,kind,unit,median,low,high``: ensemble median and 5–95 % band."""
        rows = []
        for name, spec in self.outcome_specs().items():
            med, lo, hi = ensemble_band(self._outcomes[name])
            rows.append({
                "outcome": name, "label": spec.label or name, "kind": spec.kind,
                "unit": self.outcome_unit(spec),
                "median": float(med), "low": float(lo), "high": float(hi),
            })
        return pd.DataFrame(rows, columns=["outcome", "label", "kind", "unit",
                                           "median", "low", "high"])

    # --------------------------------------------------------------- summary

    # The summary's phases share per-replicate arrays, {trait: {state: {statistic: (R,)}}}
    # and {signal: {statistic: (R,)}}: each replicate's value and the ensemble's
    # percentiles are read off the same arrays.

    def _trait_statistics(self) -> Dict[str, _ByName]:
        """Final counts, peaks and peak times of every trait state, per replicate."""
        traits: Dict[str, Dict[str, Dict[str, np.ndarray]]] = {}
        # (over the kept rows: later ones repeat the last, so finals, peaks and the first
        # time of a peak are the same)
        for trait, state, a in self._marginals(full=False):
            traits.setdefault(trait, {})[state] = {
                "final_agents": a[:, -1].astype(float),
                "final_people": a[:, -1] * self.people_per_agent,
                "peak_agents": a.max(axis=1).astype(float),
                "peak_people": a.max(axis=1) * self.people_per_agent,
                "peak_time": self.times[np.argmax(a, axis=1)],
            }
        return traits

    def _signal_statistics(self) -> _ByName:
        """Peak, peak time and time above the alert level of every signal, per replicate."""
        sigs: Dict[str, Dict[str, np.ndarray]] = {}
        for k, name in enumerate(self.info.signal_names):
            has_alert = np.isfinite(self.info.signal_alert_above[k])
            sigs[name] = {
                "peak": self.raw.signal_peak[:, k].astype(float),
                "peak_time": self.raw.signal_peak_time[:, k].astype(float),
                "time_above_alert": (self.raw.signal_time_above[:, k].astype(float)
                                     if has_alert else np.full(self.n_replicates, np.nan)),
            }
        return sigs

    def _replicate_summaries(self, traits: Dict[str, _ByName],
                             sigs: _ByName) -> List[Dict[str, Any]]:
        """``summary()["replicates"]``: one entry per replicate.

        Each statistic's array becomes a list of JSON numbers once (``tolist``), rather
        than a numpy scalar converted per replicate: thousands of replicates stay cheap."""
        def col(v: np.ndarray) -> list:  # (as json_number: integers stay, others are floats)
            a = np.asarray(v)
            if a.dtype.kind not in "iu":
                a = a.astype(float)
            return [x if type(x) is int or math.isfinite(x) else None for x in a.tolist()]

        seeds = np.asarray(self.raw.replicate_seeds)
        seed_rows = _jsonable(seeds) if len(seeds) else [None] * self.n_replicates
        steps = np.asarray(self.raw.steps_run).astype(np.int64).tolist()
        tcols = {t: {s: {k: col(v) for k, v in d.items()} for s, d in st.items()}
                 for t, st in traits.items()}
        scols = {n: {k: col(v) for k, v in d.items()} for n, d in sigs.items()}
        ocols = {n: col(v) for n, v in self._outcomes.items()}
        return [{
            "replicate": i,
            "seed": seed_rows[i],
            "steps_run": steps[i],
            "traits": {t: {s: {k: v[i] for k, v in d.items()} for s, d in st.items()}
                       for t, st in tcols.items()},
            "signals": {n: {k: v[i] for k, v in d.items()} for n, d in scols.items()},
            "outcomes": {n: v[i] for n, v in ocols.items()},
        } for i in range(self.n_replicates)]

    def _ensemble_summary(self, traits: Dict[str, _ByName],
                          sigs: _ByName) -> Dict[str, Any]:
        """``summary()["ensemble"]``: median, p5 and p95 over replicates, with labels and units."""
        specs = self.outcome_specs()
        info = self.info
        return {
            "traits": {t: {s: {k: _stats(v) for k, v in d.items()} for s, d in st.items()}
                       for t, st in traits.items()},
            "signals": {
                n: {
                    "label": info.signal_labels[k],
                    "unit": info.signal_units[k],
                    "alert_above": _num(info.signal_alert_above[k]),
                    **{key: _stats(v) for key, v in sigs[n].items()},
                }
                for k, n in enumerate(info.signal_names)
            },
            "outcomes": {
                n: {"label": specs[n].label or n, "kind": specs[n].kind,
                    "unit": self.outcome_unit(specs[n]), **_stats(v)}
                for n, v in self._outcomes.items()
            },
        }

    def summary(self) -> Dict[str, Any]:
        """A JSON-serialisable digest of the run.

        Per replicate and for the ensemble (median, p5, p95 over replicates): final
        counts, peaks and peak times of every trait state (agents and people), signals'
        peak / peak time / time above the alert level, and the outcomes.
        """
        sc = self.scenario
        traits = self._trait_statistics()
        sigs = self._signal_statistics()
        return _jsonable({
            "format": RUN_FORMAT,
            "scenario": sc.name,
            "n_replicates": self.n_replicates,
            "n_agents": self.n_agents,
            "scale": {
                "agents": self.n_agents,
                "represents": float(sc.population.represents or sc.population.agents),
                "people_per_agent": self.people_per_agent,
            },
            "time": {"unit": sc.time.unit, "until": sc.time.until, "dt": sc.time.dt,
                     "start": sc.time.start.isoformat() if sc.time.start else None},
            "ensemble_statistics": ENSEMBLE_STATISTICS,
            "wall_seconds": float(self.raw.wall_seconds),
            "ensemble": self._ensemble_summary(traits, sigs),
            "replicates": self._replicate_summaries(traits, sigs),
        })

    def __repr__(self) -> str:
        return (f"<Results {self.scenario.name!r}: {self.n_replicates} replicates, "
                f"{len(self.times)} report times, {self.n_agents:,} agents>")
