"""One self-contained HTML report of a sweep directory (``rumorsim report DIR``).

Like the run report (:mod:`rumorsim.report`): one file, figures embedded as PNG, no
scripts, every piece of text escaped. It shows what was swept and how, the sensitivity
indices and the replicate share of variance (Sobol / Morris), the figures, the points
table (median and 5-95 % band of each outcome), failures, and the provenance.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional, Union

import pandas as pd

from .formatting import format_number
from .report import _CSS, _e, _figure_html, _kv, _table
from .sweepdir import read_sweep

PathLike = Union[str, os.PathLike]
#: Rows of the points table shown in the report (all are in points.csv).
MAX_POINT_ROWS = 60


def _num(x: object) -> str:
    try:
        return format_number(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(x)


def render_sweep_report(d: PathLike) -> str:
    """The HTML text of the report of sweep directory ``d``."""
    d = Path(d)
    meta, rows, points = read_sweep(d)
    prov = json.loads((d / "provenance.json").read_text(encoding="utf-8")) if (d / "provenance.json").is_file() else {}
    parts: List[str] = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(meta['name'])}</title>"
                        f"<style>{_CSS}</style></head><body>", f"<h1>{_e(meta['name'])}</h1>"]
    n_ok = int((points["status"] == "ok").sum())
    parts.append(
        f"<p class='meta'>{_e(meta['design'])} design over {len(meta['parameters'])} parameters: "
        f"{meta['points']} points x {meta['replicates']} replicates, seed {meta['seed']}"
        f"{' (common random numbers)' if meta.get('common_random_numbers') else ' (a seed per point)'}; "
        f"{n_ok} points finished.</p>")
    parts.append("<h2>Parameters</h2>" + _table(["Dotted path", "Min", "Max"], [
        [f"<code>{_e(p)}</code>", _e(_num(points[p].min())), _e(_num(points[p].max()))]
        for p in meta["parameters"]], num_cols=(1, 2)))
    if (d / "sensitivity.csv").is_file():
        sens = pd.read_csv(d / "sensitivity.csv")
        cols = [c for c in sens.columns if c not in ("outcome", "parameter")]
        parts.append("<h2>Sensitivity</h2>" + _table(
            ["Outcome", "Parameter"] + cols,
            [[_e(r["outcome"]), f"<code>{_e(r['parameter'])}</code>"] + [_e(f"{r[c]:.3g}") for c in cols]
             for _, r in sens.iterrows()], num_cols=tuple(range(2, 2 + len(cols)))))
        parts.append("<p class='note'>Computed by SALib on the mean over replicates of each point; "
                     "conf columns are 95 % bootstrap half-widths.</p>")
    if (d / "variance.csv").is_file():
        var = pd.read_csv(d / "variance.csv")
        parts.append("<h3>How much is the seed?</h3>" + _table(
            ["Outcome", "Replicate share of the variance", "Noise share of the point means"],
            [[_e(r["outcome"]), _e(f"{r['replicate_share']:.1%}"), _e(f"{r['mean_noise_share']:.1%}")]
             for _, r in var.iterrows()], num_cols=(1, 2)))
    figs = sorted((d / "figures").glob("*.png")) if (d / "figures").is_dir() else []
    contour = (meta.get("contour") or {}).get("outcome")
    first = ["sensitivity", "sweep_curves", f"heatmap_{contour}"] + [f"heatmap_{o}" for o in meta["outcomes"]]
    figs.sort(key=lambda f: first.index(f.stem) if f.stem in first else len(first))
    if figs:
        parts.append("<h2>Figures</h2>")
        parts += [_figure_html(f.read_bytes(), f.stem.replace("_", " ")) for f in figs]
    shown = points.head(MAX_POINT_ROWS)
    cols = ["point"] + meta["parameters"] + [f"{o}_median" for o in meta["outcomes"][:4]]
    parts.append("<h2>Points</h2>" + _table(
        [_e(c) for c in cols], [[_e(_num(r[c])) for c in cols] for _, r in shown.iterrows()],
        num_cols=tuple(range(len(cols)))))
    if len(points) > MAX_POINT_ROWS:
        parts.append(f"<p class='note'>First {MAX_POINT_ROWS} of {len(points)} points; all are in "
                     "points.csv (with the 5-95 % band of every outcome) and every replicate in "
                     "results.parquet.</p>")
    failed = points[points["status"] == "failed"]
    if len(failed):
        parts.append("<h2>Failed points</h2>" + _table(["Point", "Error"], [
            [_e(r["point"]), _e(r["error"])] for _, r in failed.iterrows()]))
    if prov:
        parts.append("<h2>Provenance</h2>" + _kv({k: v for k, v in prov.items()}))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_sweep_report(d: PathLike, *, out: Optional[PathLike] = None) -> Path:
    """Write ``report.html`` into sweep directory ``d`` (or to ``out``), atomically."""
    d = Path(d)
    target = Path(out) if out is not None else d / "report.html"
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render_sweep_report(d), encoding="utf-8")
    os.replace(tmp, target)
    return target
