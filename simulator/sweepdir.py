"""A sweep directory: its point files, its tables, and reading it back.

Layout (``rumorsim sweep FILE -o DIR``)::

    DIR/sweep.yaml           the resolved sweep file (written first)
    DIR/sweep.json           format, fingerprint, design, parameters, outcomes (the marker)
    DIR/base_scenario.yaml   the resolved base scenario
    DIR/design.csv           the design's points (before any run)
    DIR/samples.csv          sampled designs: the sampler's numbers (log space, unrounded)
    DIR/points/p0000012.json one file per finished (or failed) point, renamed into place
    DIR/results.parquet/.csv one row per (point, replicate): point, replicate, seed, one
                             column per parameter (its dotted path), one per outcome
    DIR/points.parquet/.csv  one row per point: parameters, status, each outcome's mean,
                             median, p5 and p95 over replicates, error
    DIR/failures.csv         failed points and their messages (only when some failed)
    DIR/provenance.json      version, seed, command, design, timings, machine
    DIR/sensitivity.csv, variance.csv, figures/, report.html

A point file is written aside and renamed, so a sweep killed at any moment leaves each
point either committed whole or absent; the tables are rebuilt from the point files at
the end of every run, sorted by (point, replicate), so a resumed sweep's table is the
uninterrupted one's, byte for byte. This module is numba-free: reading, plotting and
reporting a sweep never load the kernel.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from .errors import OutputError
from .outputs import replacing, write_text_atomic

PathLike = Union[str, os.PathLike]

#: Bumped when the layout of a sweep directory changes incompatibly.
SWEEP_FORMAT = "rumorsim-sweep/1"
#: Columns that come before the parameters in the results table.
ID_COLUMNS = ("point", "replicate", "seed")


# ------------------------------------------------------------ directory


def write_frame(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` to ``path`` (.parquet or .csv, no index) atomically."""
    with replacing(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
    return path


def point_file(d: Path, point: int) -> Path:
    """Where point ``point``'s result is committed."""
    return d / "points" / f"p{point:07d}.json"


def commit_point(d: Path, result: Dict[str, Any]) -> None:
    """Commit one point's result (renamed into place; no fsync: a killed process loses
    nothing the operating system has, and after a power cut a point file that cannot be
    read is simply computed again, see :func:`load_point_results`)."""
    write_text_atomic(point_file(d, int(result["point"])), json.dumps(result))


def prepare_directory(out: Path, fingerprint: str, *, overwrite: bool) -> bool:
    """Make ``out`` ready; True if it holds an earlier run of the same sweep (resume)."""
    marker = out / "sweep.json"
    if out.exists() and not out.is_dir():
        raise OutputError(f"`{out}` exists and is a file", file=str(out), suggestion="Choose another -o")
    if out.is_dir() and any(out.iterdir()):
        if marker.is_file():
            try:
                old = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint")
            except (OSError, ValueError):
                old = None
            if old == fingerprint and not overwrite:
                return True
            if not overwrite:
                raise OutputError(
                    "this directory holds the results of a different sweep (another sweep file, "
                    "base scenario or --set); nothing was changed", file=str(out),
                    suggestion="Pass --overwrite to replace it, or choose another directory with -o")
        elif not overwrite:
            raise OutputError("the output directory exists, is not empty and is not a sweep directory; "
                              "nothing was written", file=str(out),
                              suggestion="Choose a new or empty directory with -o")
        here = Path.cwd().resolve()
        if not marker.is_file() or out.resolve() == here or out.resolve() in here.parents:
            raise OutputError(f"`{out}` does not look like a Rumorsim sweep directory; refusing to "
                              "replace it", file=str(out), suggestion="Choose a new or empty directory with -o")
        shutil.rmtree(out)
    return False


def load_point_results(out: Path) -> Dict[int, Dict[str, Any]]:
    """Every committed point of a sweep directory (finished or failed)."""
    found: Dict[int, Dict[str, Any]] = {}
    d = out / "points"
    if not d.is_dir():
        return found
    for f in sorted(d.glob("p*.json")):
        try:
            r = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # cannot happen with atomic writes; a hand-edited file is recomputed
        found[int(r["point"])] = r
    return found



# ------------------------------------------------------------- tables


def build_rows(points: pd.DataFrame, seeds: Mapping[int, int], results: Mapping[int, Dict[str, Any]],
          replicates: int, outcomes: Sequence[str]) -> pd.DataFrame:
    """The tidy results table: one row per (point, replicate), sorted."""
    ok = sorted(p for p, r in results.items() if r.get("status") == "ok")
    R = int(replicates)
    cols: Dict[str, Any] = {
        "point": np.repeat(np.asarray(ok, dtype=np.int64), R),
        "replicate": np.tile(np.arange(R, dtype=np.int64), len(ok)),
        "seed": np.repeat(np.asarray([seeds[p] for p in ok], dtype=np.int64), R),
    }
    for path in points.columns:
        cols[path] = np.repeat(points.loc[ok, path].to_numpy(dtype=float), R) if ok else np.zeros(0)
    for o in outcomes:
        cols[o] = (np.concatenate([np.asarray(results[p]["values"][o], dtype=float) for p in ok])
                   if ok else np.zeros(0))
    return pd.DataFrame(cols)


def summarise_points(points: pd.DataFrame, rows: pd.DataFrame, seeds: Mapping[int, int],
                     outcomes: Sequence[str], failures: Mapping[int, str] = {}) -> pd.DataFrame:
    """One row per point: parameters, status, and each outcome's mean, median, p5, p95."""
    from .results import BAND_PERCENTILES

    lo_q, mid_q, hi_q = BAND_PERCENTILES
    out = points.copy()
    out.insert(0, "seed", [seeds[int(p)] for p in out.index])
    out.insert(0, "point", out.index.to_numpy(dtype=np.int64))
    finished = set(rows["point"].tolist())
    out["status"] = ["failed" if int(p) in failures else ("ok" if int(p) in finished else "missing")
                     for p in out.index]
    g = rows.groupby("point")
    for o in outcomes:
        vals = {p: v.to_numpy(dtype=float) for p, v in g[o]}
        def stat(fn: Callable[[np.ndarray], float]) -> List[float]:
            return [float(fn(vals[int(p)])) if int(p) in vals else float("nan") for p in out.index]
        out[f"{o}_mean"] = stat(np.mean)
        out[f"{o}_median"] = stat(lambda v: np.percentile(v, mid_q))
        out[f"{o}_p5"] = stat(lambda v: np.percentile(v, lo_q))
        out[f"{o}_p95"] = stat(lambda v: np.percentile(v, hi_q))
    out["error"] = [failures.get(int(p), "") for p in out.index]
    return out.reset_index(drop=True)


def write_tables(out: Path, spec: Any, points: pd.DataFrame, seeds: Mapping[int, int],
                 results: Mapping[int, Dict[str, Any]], failures: Mapping[int, str]) -> List[Path]:
    """results.parquet/.csv, points.parquet/.csv and failures.csv (atomically)."""
    rows = build_rows(points, seeds, results, spec.replicates, spec.outcomes)
    summary = summarise_points(points, rows, seeds, spec.outcomes, failures)
    written = []
    for name, df in (("results", rows), ("points", summary)):
        for ext in (".parquet", ".csv"):
            write_frame(df, out / f"{name}{ext}")
            written.append(out / f"{name}{ext}")
    fail_path = out / "failures.csv"
    if failures:
        write_frame(pd.DataFrame({"point": sorted(failures), "error": [failures[p] for p in sorted(failures)]}),
                      fail_path)
        written.append(fail_path)
    else:
        fail_path.unlink(missing_ok=True)
    return written


def read_sweep(out: PathLike) -> Tuple[Dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """(sweep.json, results table, points table) of a sweep directory."""
    out = Path(out)
    meta_path = out / "sweep.json"
    if not meta_path.is_file():
        raise OutputError("not a sweep directory (no sweep.json)", file=str(out),
                          suggestion="Give a folder written by `rumorsim sweep`")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if not (out / "results.parquet").is_file():
        raise OutputError("the sweep has not finished writing its tables (no results.parquet)",
                          file=str(out), suggestion="Run the same `rumorsim sweep` command again to finish it")
    return meta, pd.read_parquet(out / "results.parquet"), pd.read_parquet(out / "points.parquet")


def is_sweep_dir(path: PathLike) -> bool:
    """Whether ``path`` is a directory written by ``rumorsim sweep``."""
    return (Path(path) / "sweep.json").is_file()
