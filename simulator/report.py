"""One self-contained HTML report per run directory.

The report is a single file (figures embedded as base64 PNG, inline CSS, no scripts,
no external links), so it can be mailed or dropped on a shared drive as is. It reads
only the run directory, through :func:`rumorsim.rundir.read_run`, and shows: what was simulated
and under which assumptions, the headline outcomes (median and 90 % interval over
replicates, real people), the what-if table when the directory holds a ``compare.csv``,
the figures, the signals, and the provenance. Every piece of text from the scenario
or the provenance is escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import __version__
from .errors import OutputError
from .formatting import format_change, format_number, format_value
from .outputs import write_text_atomic
from .plots import standard_figures
from .results import Results
from .rundir import read_run

PathLike = Union[str, os.PathLike]

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,"Noto Sans CJK SC",sans-serif;
 max-width:1100px;margin:2em auto;padding:0 1.2em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#555} .note{color:#666;font-size:.9em}
table{border-collapse:collapse;margin:.6em 0;font-size:.95em}
th,td{border-bottom:1px solid #e3e3e3;padding:.35em .7em;text-align:left;vertical-align:top}
th{background:#f5f5f5} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.base td{font-weight:600} .up{color:#b2182b} .down{color:#2166ac}
figure{margin:1.2em 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.9em} code{background:#f4f4f4;padding:0 .25em}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em} dl.kv dt{font-weight:600}
dl.kv dd{margin:0}
"""

# Figures in the order a reader wants them; anything else found in figures/ follows.
_FIGURE_ORDER = ("dashboard", "traits", "signals")
_FIGURE_CAPTIONS = {
    "dashboard": "Crisis dashboard",
    "traits": "Every state of every trait",
    "signals": "Signals (global quantities such as server demand and failures)",
}


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def write_report(run_dir: PathLike, *, out: Optional[PathLike] = None) -> Path:
    """Write ``report.html`` (or ``out``) for the run in ``run_dir``; return its path.

    The file is written to a temporary name beside the target and renamed into
    place, so a reader never sees a half-written report.

    Parameters
    ----------
    run_dir : a run directory written by :func:`rumorsim.rundir.write_run`.
    out : where to write the report (default: ``run_dir/report.html``).

    Raises
    ------
    OutputError
        The run directory cannot be read or the report cannot be written.
    """
    run_dir = Path(run_dir)
    results = read_run(run_dir)
    text = render_report(results, run_dir)
    target = Path(out) if out is not None else run_dir / "report.html"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, text)
    except OSError as e:
        raise OutputError(f"cannot write the report `{target}`: {e.strerror or e}",
                          file=str(target), suggestion="Choose another path with --out") from e
    return target


def render_report(results: Results, run_dir: Optional[PathLike] = None) -> str:
    """The report as an HTML string (figures from ``run_dir/figures`` or drawn afresh)."""
    res = results
    sc = res.scenario
    d = Path(run_dir) if run_dir is not None else None
    parts: List[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(sc.name)} — Rumorsim report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(sc.name)}</h1>",
    ]
    if sc.description:
        parts.append(f"<p>{_e(sc.description)}</p>")
    parts.append(f'<p class="meta">{_e(_run_line(res))}</p>')
    if sc.assumptions:
        parts.append("<h2>Assumptions</h2><ul>")
        parts += [f"<li>{_e(a)}</li>" for a in sc.assumptions]
        parts.append("</ul>")
    if sc.theory:
        parts.append(f'<p class="note"><b>Theory this scenario should match:</b> {_e(sc.theory)}</p>')

    parts.append("<h2>Headline outcomes</h2>")
    parts.append(_outcomes_html(res))

    compare = d / "compare.csv" if d is not None else None
    if compare is not None and compare.is_file():
        parts.append("<h2>What-if comparison</h2>")
        parts.append(_compare_html(compare, res.scenario.time.unit))
        for png in sorted((d / "figures").glob("compare_*.png")) if (d / "figures").is_dir() else []:
            parts.append(_figure_html(png.read_bytes(), png.stem.replace("_", " ")))

    parts.append("<h2>Figures</h2>")
    for name, png in _figures(res, d):
        parts.append(_figure_html(png, _FIGURE_CAPTIONS.get(name, name)))

    parts.append("<h2>States: end of run and peak</h2>")
    parts.append(_states_html(res))

    if len(res.info.signal_names):
        parts.append("<h2>Signals</h2>")
        parts.append(_signals_html(res))

    if res.info.interventions:
        parts.append("<h2>Interventions</h2>")
        parts.append(_interventions_html(res))

    parts.append("<h2>Provenance</h2>")
    parts.append(_provenance_html(res, d))
    parts.append(
        '<p class="note">Medians and 90 % intervals are the 50th, 5th and 95th percentiles '
        "of the replicates (numpy.percentile, linear interpolation): the spread of what "
        "happened across simulated runs, not a confidence interval. Generated by Rumorsim "
        f"{_e(__version__)} on {_e(datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))}.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ----------------------------------------------------------------------- pieces


def _run_line(res: Results) -> str:
    sc = res.scenario
    pop = sc.population
    bits = [f"{res.n_replicates:,} replicates"]
    if res.scaled:
        bits.append(f"{pop.agents:,} agents representing {format_number(pop.represents)} people "
                    f"(1 agent ≈ {format_number(res.people_per_agent)} people)")
    else:
        bits.append(f"{pop.agents:,} agents")
    span = f"{sc.time.until:g} {sc.time.unit}"
    if sc.time.start is not None:
        span += f" from {sc.time.start.strftime('%Y-%m-%d %H:%M')}"
        off = sc.time.start.utcoffset()
        if off is not None:
            span += f" (UTC{'+' if off >= timedelta(0) else '-'}{_hhmm(abs(off))})"
    bits.append(span)
    bits.append(f"step {sc.time.dt:g} {sc.time.unit}")
    return " · ".join(bits)


def _hhmm(td: timedelta) -> str:
    m = int(td.total_seconds() // 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def _clock(res: Results, t: float) -> Optional[str]:
    st = res.scenario.time
    if st.start is None or st.hours_per_unit is None or not np.isfinite(t):
        return None
    return (st.start + timedelta(hours=float(t) * st.hours_per_unit)).strftime("%b %d %H:%M")


def _value(res: Results, x: Optional[float], unit: str) -> str:
    """A value with its unit, readable: '12.3 M', '5.5 hour', '40 %'."""
    return format_value(x, unit, time_unit=res.scenario.time.unit)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], num_cols: Sequence[int] = (),
           row_classes: Optional[Sequence[str]] = None) -> str:
    """An HTML table; cells must already be escaped."""
    out = ["<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr></thead><tbody>"]
    for k, row in enumerate(rows):
        cls = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        cells = "".join(f'<td class="num">{c}</td>' if j in num_cols else f"<td>{c}</td>"
                        for j, c in enumerate(row))
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _outcomes_html(res: Results) -> str:
    tab = res.outcome_table()
    rows = []
    for r in tab.itertuples(index=False):
        unit = r.unit
        interval = f"{_value(res, r.low, unit)} – {_value(res, r.high, unit)}"
        med = _value(res, r.median, unit)
        if r.kind == "time_of_peak":
            c = _clock(res, r.median)
            med += f" ({c})" if c else ""
        rows.append([_e(r.label), _e(med), _e(interval), _e(unit)])
    note = ('<p class="note">Median over replicates and 90 % interval (5th–95th percentile); '
            + ("people are scaled from agents to the real population." if res.scaled
               else "counts are agents.") + "</p>")
    return _table(["Outcome", "Median", "90 % interval", "Unit"], rows, num_cols=(1, 2)) + note


def _compare_html(path: Path, time_unit: str) -> str:
    try:
        df = pd.read_csv(path)
    except Exception as e:  # a damaged compare.csv should not kill the whole report
        return f'<p class="note">compare.csv could not be read: {_e(e)}</p>'
    need = {"variant", "outcome", "median", "low", "high"}
    if not need <= set(df.columns):
        return f'<p class="note">compare.csv lacks columns {_e(sorted(need - set(df.columns)))}.</p>'
    variants = list(dict.fromkeys(df["variant"]))
    rows, classes = [], []
    for outcome, g in df.groupby("outcome", sort=False):
        label = str(g["label"].iloc[0]) if "label" in g.columns else str(outcome)
        unit = str(g["unit"].iloc[0]) if "unit" in g.columns and pd.notna(g["unit"].iloc[0]) else ""
        def val(x: float) -> str:
            return format_value(x, unit, time_unit=time_unit)

        for r in g.itertuples(index=False):
            base = r.variant == variants[0]
            diff = "baseline"
            if not base and "diff_median" in g.columns and pd.notna(r.diff_median):
                cls = "up" if r.diff_median > 0 else "down" if r.diff_median < 0 else ""
                diff = (f'<span class="{cls}">{_e(format_change(r.diff_median, unit, time_unit=time_unit))}</span>'
                        f" ({_e(format_change(r.diff_low, unit, time_unit=time_unit))} to {_e(format_change(r.diff_high, unit, time_unit=time_unit))})")
            rows.append([_e(label) + (f' <span class="note">({_e(unit)})</span>' if unit else ""),
                         _e(r.variant), _e(val(r.median)),
                         _e(f"{val(r.low)} – {val(r.high)}"), diff])
            classes.append("base" if base else "")
    return (_table(["Outcome", "Variant", "Median", "90 % interval",
                    f"Change vs {_e(variants[0])} (90 % interval)"], rows, num_cols=(2, 3, 4),
                   row_classes=classes)
            + '<p class="note">Changes are paired: each replicate of a variant is compared '
              "with the baseline replicate that used the same random numbers.</p>")


def _figures(res: Results, d: Optional[Path]) -> List[tuple]:
    """(name, PNG bytes) from ``d/figures`` if present, else drawn now."""
    found: Dict[str, bytes] = {}
    if d is not None and (d / "figures").is_dir():
        for png in (d / "figures").glob("*.png"):
            if not png.stem.startswith("compare_"):
                found[png.stem] = png.read_bytes()
    if not found:
        for name, fig in standard_figures(res):
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=120)
            found[name] = buf.getvalue()
    order = [n for n in _FIGURE_ORDER if n in found] + sorted(n for n in found if n not in _FIGURE_ORDER)
    return [(n, found[n]) for n in order]


def _figure_html(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _states_html(res: Results) -> str:
    s = res.summary()["ensemble"]["traits"]
    unit = "people" if res.scaled else "agents"
    rows = []
    for trait, states in s.items():
        for state, st in states.items():
            fin, peak = st[f"final_{unit}"], st[f"peak_{unit}"]
            when = st["peak_time"]["median"]
            c = _clock(res, when)
            rows.append([_e(trait), _e(state), _e(format_number(fin["median"])),
                         _e(f"{format_number(fin['p5'])} – {format_number(fin['p95'])}"),
                         _e(format_number(peak["median"])),
                         _e(f"{when:.3g} {res.scenario.time.unit}" + (f" ({c})" if c else ""))])
    return _table(["Trait", "State", f"End ({unit}, median)", "90 % interval",
                   f"Peak ({unit}, median)", "Peak time (median)"], rows, num_cols=(2, 3, 4))


def _signals_html(res: Results) -> str:
    s = res.summary()["ensemble"]["signals"]
    unit_t = res.scenario.time.unit
    rows = []
    for name, st in s.items():
        unit = st["unit"] or ""
        alert = st["alert_above"]
        peak = st["peak"]
        above = st["time_above_alert"]
        c = _clock(res, st["peak_time"]["median"] if st["peak_time"]["median"] is not None else np.nan)
        rows.append([
            _e(st["label"] or name), _e(unit),
            _e("–" if alert is None else _value(res, alert, unit)),
            _e(f"{_value(res, peak['median'], unit)} ({_value(res, peak['p5'], unit)} – "
               f"{_value(res, peak['p95'], unit)})"),
            _e(f"{st['peak_time']['median']:.3g} {unit_t}" + (f" ({c})" if c else "")),
            _e("–" if alert is None else f"{above['median']:.3g} {unit_t} "
               f"({above['p5']:.3g} – {above['p95']:.3g})"),
        ])
    return _table(["Signal", "Unit", "Alert above", "Peak: median (90 %)", "Peak time (median)",
                   "Time above alert: median (90 %)"], rows, num_cols=(2, 3, 4, 5))


def _interventions_html(res: Results) -> str:
    rows = []
    for m in res.info.interventions:
        when = f"{m.at:g}" + (f" – {m.until:g}" if m.until is not None else "")
        c = _clock(res, m.at)
        rows.append([_e(m.label or m.name), _e(m.kind),
                     _e(f"{when} {res.scenario.time.unit}" + (f" ({c})" if c else ""))])
    return _table(["Intervention", "Kind", "When"], rows)


def _kv(data: Mapping[str, Any]) -> str:
    """Nested dicts as definition lists; lists and scalars as escaped text."""
    out = ['<dl class="kv">']
    for k, v in data.items():
        if isinstance(v, Mapping) and v:
            body = _kv(v)
        elif isinstance(v, (list, tuple)):
            body = _e(", ".join(json.dumps(x, ensure_ascii=False) if not isinstance(x, str) else x
                                for x in v))
        elif isinstance(v, float):
            body = _e(f"{v:.6g}")
        else:
            body = _e(v)
        out.append(f"<dt>{_e(k)}</dt><dd>{body}</dd>")
    out.append("</dl>")
    return "".join(out)


def _provenance_html(res: Results, d: Optional[Path]) -> str:
    prov: Dict[str, Any] = dict(res.provenance)
    prov.setdefault("version", "(not recorded)")
    prov.setdefault("seed", res.scenario.run.seed)
    prov["replicates"] = res.n_replicates
    prov["kernel wall time (s)"] = round(float(res.raw.wall_seconds), 3)
    if d is not None:
        prov["run directory"] = str(d)
    parts = [_kv(prov)]
    if res.network_stats:
        parts.append("<h3>Network</h3>")
        parts.append(_kv(res.network_stats))
    return "".join(parts)
