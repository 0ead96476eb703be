"""The HTML report: one self-contained file with outcomes, figures, what-if and provenance."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from rumorsim.errors import OutputError
from rumorsim.plots import plot_outcome_comparison, save_figure
from rumorsim.report import write_report
from rumorsim.rundir import read_run, write_run

from test_results import wechat_results


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    res = wechat_results(replicates=3)
    return write_run(res, tmp_path_factory.mktemp("runs") / "wechat")


def test_report_is_self_contained_with_outcomes_and_figures(run_dir: Path) -> None:
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # headline outcomes table: labels, median and 90 % interval in people
    assert "Headline outcomes" in html and "90 % interval" in html
    for label in ("peak believers", "cards ever unbound", "cards still unbound at the end",
                  "time of peak belief"):
        assert f"<td>{label}</td>" in html
    res = read_run(run_dir)
    tab = res.outcome_table().set_index("outcome")
    from rumorsim.formatting import format_number
    assert format_number(tab.loc["peak_believers", "median"]) in html
    # figures embedded, nothing fetched from elsewhere
    assert html.count("data:image/png;base64,") >= 3
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html.lower()
    # assumptions, signals, interventions, provenance
    assert "<li>Failed page loads make the rumor more credible.</li>" in html
    assert "failed page loads" in html and "Time above alert" in html
    assert "founder on stage" in html
    assert "rumorsim run wechat --seed 7" in html and "n_edges" in html
    assert "2,000 agents representing 400 M people" in html


def test_report_escapes_text(run_dir: Path) -> None:
    html = write_report(run_dir).read_text(encoding="utf-8")
    # the description says "<not real data>": it must arrive as text, not markup
    assert "&lt;not real data&gt;" in html and "<not real data>" not in html


def test_report_includes_the_what_if_table_and_figures(run_dir: Path, tmp_path: Path) -> None:
    cmp = pd.DataFrame([
        dict(variant="baseline", outcome="peak_believers", label="peak believers", unit="people",
             median=3.6e8, low=3.5e8, high=3.7e8, diff_median=0.0, diff_low=0.0, diff_high=0.0),
        dict(variant="debunk at hour 1", outcome="peak_believers", label="peak believers",
             unit="people", median=2.0e8, low=1.8e8, high=2.2e8, diff_median=-1.6e8,
             diff_low=-1.8e8, diff_high=-1.4e8),
    ])
    cmp.to_csv(run_dir / "compare.csv", index=False)
    save_figure(plot_outcome_comparison(cmp), run_dir / "figures" / "compare_outcomes",
                formats=("png",))
    out = write_report(run_dir, out=tmp_path / "sub" / "r.html")
    assert out == tmp_path / "sub" / "r.html" and not (tmp_path / "sub" / ".r.html.tmp").exists()
    html = out.read_text(encoding="utf-8")
    assert "What-if comparison" in html and "debunk at hour 1" in html
    assert "-160 M" in html and "Change vs baseline" in html
    assert "compare outcomes" in html  # the embedded compare_*.png's caption
    (run_dir / "compare.csv").unlink()
    (run_dir / "figures" / "compare_outcomes.png").unlink()


def test_report_of_a_missing_run_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="not a directory"):
        write_report(tmp_path / "nothing-here")
