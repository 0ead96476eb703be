"""The run directory: writing a finished run to disk and reading it back.

A run directory holds everything needed to read, plot and report a run without
re-running it (and without loading numba or the kernel)::

    scenario.yaml        the resolved scenario (overrides applied)
    timeseries.csv       replicate,time,trait,state,count,people   (+ .parquet with pyarrow)
    signals.csv          replicate,time,signal,value               (scenarios with signals)
    fired.csv            replicate,time,event,count,people
    transitions.csv      replicate,event,kind,fired
    outcomes.csv         replicate,outcome,value
    meanfield.csv        time,trait,state,fraction,people         (run --meanfield)
    summary.json         Results.summary(): per replicate and ensemble
    provenance.json      version, seed, command, timings, network statistics
    model_info.json      states, events, signals, report times (ModelInfo)
    raw.npz              the engine's arrays (RawRun), what read_run rebuilds Results from
    figures/             traits, dashboard, signals (PNG + SVG)

**Compact time series.** A replicate's rows in ``timeseries``, ``fired`` and ``signals``
stop at its last change (any count, firing or signal value): from that report time to
``until`` nothing moves, so the last row holds. ``raw.npz`` likewise keeps report rows
up to the last change of any replicate. :func:`read_run` expands both back, exactly: its
tables, outcomes, summary and figures run flat to ``until`` as the run that wrote them.
To expand a table read with pandas alone, forward-fill each replicate's last row over the
report times in ``model_info.json``.

The directory is written all at once (:func:`rumorsim.outputs.write_directory_atomically`):
an interrupted write leaves nothing half-written, and an existing run is replaced only
when asked (``overwrite``).

Examples
--------
>>> path = write_run(res, "runs/wechat")                     # doctest: +SKIP
>>> read_run(path).outcome_table()                           # doctest: +SKIP
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List

import numpy as np
import yaml

from .errors import OutputError
from .modelinfo import InterventionMarker, ModelInfo
from .outputs import PathLike, json_number, write_directory_atomically, write_json
from .results import RUN_FORMAT, RawRun, Results, expand_raw, truncate_raw
from .scenario import Scenario, scenario_yaml

if TYPE_CHECKING:  # pandas only for the annotation; Results brings it in anyway
    import pandas as pd

#: The files a directory needs to be read back as a run.
REQUIRED_FILES = ("scenario.yaml", "model_info.json", "raw.npz")


# -------------------------------------------------------------------------- writing


def write_run(results: Results, run_dir: PathLike, *, overwrite: bool = False,
              figures: bool = True) -> Path:
    """Write ``results`` as a run directory, atomically, and return its path.

    Everything is written into a hidden temporary sibling directory which is then
    renamed into place, so an interrupted write never leaves a half-written run.

    Parameters
    ----------
    results : a finished run.
    run_dir : where the run goes; must not exist or be empty unless ``overwrite``.
    overwrite : replace an existing run directory (one holding Rumorsim outputs).
    figures : also render ``figures/`` (PNG + SVG); sweeps may turn this off.

    Raises
    ------
    OutputError
        The directory exists and is not empty (and ``overwrite`` is false), is a
        file, does not look like a run directory, or cannot be written.
    """
    run_dir = Path(run_dir)
    write_directory_atomically(run_dir, lambda tmp: _write_into(results, tmp, figures=figures),
                               overwrite=overwrite, what="run directory")
    return run_dir


def _write_into(res: Results, d: Path, *, figures: bool) -> None:
    (d / "scenario.yaml").write_text(scenario_yaml(res.scenario), encoding="utf-8")
    # Per-report tables hold each replicate's rows up to its last change only (many
    # small cascades stop after ~35 of 1,001 report times); read_run expands them.
    tables = {**res.compact_tables(), "transitions": res.transitions,
              "outcomes": res.outcome_values()}
    if res.meanfield is not None:  # rumorsim run --meanfield
        tables["meanfield"] = res.meanfield
    for name, df in tables.items():
        write_table(df, d / name)
    write_json(d / "summary.json", res.summary())
    write_json(d / "provenance.json", {**res.provenance, "network_stats": res.network_stats})
    write_json(d / "model_info.json", info_to_json(res.info))
    # rows after every replicate's last change dropped
    compact = truncate_raw(res.raw, res.last_change)
    arrays = {f.name: np.asarray(getattr(compact, f.name)) for f in fields(RawRun)}
    if arrays["replicate_seeds"].dtype.kind == "O":
        arrays["replicate_seeds"] = arrays["replicate_seeds"].astype(str)
    save_npz(d / "raw.npz", arrays)
    if figures:
        draw_figures(res, d / "figures", atomic=False)


def save_npz(path: Path, arrays: Dict[str, np.ndarray]) -> None:
    """``np.savez_compressed``'s file (``np.load`` reads it), compressed at zlib's level 1:
    3x faster on the repetitive rows of many replicates than the default level 6, for a
    file ~6 % larger."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, a in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(a), allow_pickle=False)


def write_table(df: pd.DataFrame, stem: Path) -> List[Path]:
    """Write ``df`` as ``<stem>.csv`` and, with pyarrow, ``<stem>.parquet``; returns the paths.

    With pyarrow the frame is converted to an Arrow table once and both files are written
    from it, columnar and in C++ (pandas' ``to_csv`` formats row by row, several times
    slower); without it, pandas writes the CSV. Arrow's CSV quotes strings and writes
    whole floats without ``.0`` (``1`` for 1.0); the Parquet twin keeps the exact dtypes.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq
    except ImportError:
        df.to_csv(stem.with_suffix(".csv"), index=False)
        return [stem.with_suffix(".csv")]
    table = pa.Table.from_pandas(df, preserve_index=False)
    pa_csv.write_csv(table, stem.with_suffix(".csv"))
    pq.write_table(table, stem.with_suffix(".parquet"))
    return [stem.with_suffix(".csv"), stem.with_suffix(".parquet")]


def draw_figures(results: Results, fig_dir: PathLike, *, atomic: bool = True) -> List[Path]:
    """Render the standard figures of ``results`` into ``fig_dir`` (PNG + SVG each).

    Returns the paths written.
    """
    from . import plots  # matplotlib only when figures are drawn

    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    written: List[Path] = []
    for name, fig in plots.standard_figures(results):
        written += plots.save_figure(fig, fig_dir / name, atomic=atomic)
    return written


def redraw_figures(run_dir: PathLike) -> List[Path]:
    """Read the run in ``run_dir`` and render its ``figures/`` again (each file replaced
    atomically). Returns the paths written."""
    return draw_figures(read_run(run_dir), Path(run_dir) / "figures", atomic=True)


# -------------------------------------------------------------------------- reading


def read_run(run_dir: PathLike) -> Results:
    """Rebuild :class:`~rumorsim.results.Results` from a run directory written by
    :func:`write_run` (no re-running; numba is never loaded).

    Raises
    ------
    OutputError
        Not a directory, a needed file missing or unreadable.
    """
    d = Path(run_dir)
    if not d.is_dir():
        raise OutputError(f"`{d}` is not a directory", file=str(d),
                          expected="a run directory written by `rumorsim run`")
    for f in REQUIRED_FILES:
        if not (d / f).is_file():
            raise OutputError(
                f"`{d}` is not a complete run directory: `{f}` is missing", file=str(d),
                expected="a run directory written by `rumorsim run` "
                "(scenario.yaml, model_info.json, raw.npz)",
            )
    try:
        scenario = Scenario.model_validate(
            yaml.safe_load((d / "scenario.yaml").read_text(encoding="utf-8")))
        info = info_from_json(json.loads((d / "model_info.json").read_text(encoding="utf-8")))
        with np.load(d / "raw.npz", allow_pickle=False) as z:
            kw = {f.name: z[f.name] for f in fields(RawRun)}
        kw["wall_seconds"] = float(kw["wall_seconds"])
        prov_path = d / "provenance.json"
        provenance = json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.is_file() else {}
    except (OSError, ValueError, KeyError, yaml.YAMLError) as e:
        raise OutputError(f"cannot read the run directory `{d}`: {e}", file=str(d)) from e
    network_stats = provenance.pop("network_stats", {}) or {}
    raw = expand_raw(RawRun(**kw), len(info.report_times))  # flat again up to `until`
    res = Results(scenario, info, raw, network_stats, provenance)
    if (d / "meanfield.csv").is_file():  # written by --meanfield: the figures overlay it
        import pandas as pd

        res.meanfield = pd.read_csv(d / "meanfield.csv")
    return res


# ---------------------------------------------------------------- model_info.json


def info_to_json(info: ModelInfo) -> Dict[str, Any]:
    """``ModelInfo`` as the JSON of ``model_info.json`` (floats round-trip exactly)."""
    return {
        "format": RUN_FORMAT,
        "traits": [[t, list(s)] for t, s in info.traits],
        "joint_states": np.asarray(info.joint_states).tolist(),
        "event_names": list(info.event_names),
        "event_kinds": list(info.event_kinds),
        "signal_names": list(info.signal_names),
        "signal_labels": list(info.signal_labels),
        "signal_units": list(info.signal_units),
        "signal_alert_above": [json_number(x) for x in np.asarray(info.signal_alert_above, float)],
        "interventions": [
            {"name": m.name, "label": m.label, "kind": m.kind, "at": m.at, "until": m.until}
            for m in info.interventions
        ],
        # repr of a Python float round-trips exactly through JSON
        "report_times": [float(t) for t in np.asarray(info.report_times, float)],
    }


def info_from_json(d: Dict[str, Any]) -> ModelInfo:
    """The inverse of :func:`info_to_json`."""
    return ModelInfo(
        traits=tuple((t, tuple(s)) for t, s in d["traits"]),
        joint_states=np.asarray(d["joint_states"], dtype=np.int64).reshape(-1, len(d["traits"])),
        event_names=tuple(d["event_names"]),
        event_kinds=tuple(d["event_kinds"]),
        signal_names=tuple(d["signal_names"]),
        signal_labels=tuple(d["signal_labels"]),
        signal_units=tuple(d["signal_units"]),
        signal_alert_above=np.array(
            [np.nan if x is None else x for x in d["signal_alert_above"]], dtype=float),
        interventions=tuple(InterventionMarker(**m) for m in d["interventions"]),
        report_times=np.asarray(d["report_times"], dtype=float),
    )
