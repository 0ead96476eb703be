"""What-if plans (rumorsim.whatif): loading, common random numbers, the table, writing.

Runs are tiny (a few thousand agents, a few replicates): these tests check the
machinery, not the crisis numbers (tests/test_wechat.py does that).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import rumorsim as rs
from rumorsim.cli import cli
from rumorsim.errors import OutputError, ScenarioError
from rumorsim.report import write_report
from rumorsim.whatif import (TABLE_COLUMNS, Comparison, is_whatif_file, load_whatifs,
                              make_plan)

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "wechat_leak_2016.yaml"
SHIPPED_PLAN = ROOT / "scenarios" / "wechat_whatifs.yaml"
SMALL = {"population.agents": 3000}


def write_plan(tmp_path: Path, body: str, name: str = "plan.yaml") -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


def small_plan(tmp_path: Path) -> Path:
    """Baseline, an identical variant, and two real changes, on 3,000 agents."""
    return write_plan(tmp_path, f"""\
name: test plan
baseline: {FLAGSHIP}
replicates: 3
seed: 11
common:
  population.agents: 3000
outcomes: [unbound_ever, peak_believers, opened_link, overload_hours]
variants:
  baseline: {{}}
  same_as_baseline: {{interventions.media_debunk.at: 3.5}}
  debunk_at_1h: {{interventions.media_debunk.at: 1}}
  link_down_1h:
    interventions.take_link_down: {{kind: scale, transition: open_link, at: 1, factor: 0}}
""")


@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> Comparison:
    plan = load_whatifs(small_plan(tmp_path_factory.mktemp("plan")))
    return rs.compare(plan, workers=2)


# ------------------------------------------------------------------ loading


def test_shipped_plan_loads_with_the_baseline_first() -> None:
    plan = load_whatifs(SHIPPED_PLAN, ["population.agents=2000"])
    assert is_whatif_file(SHIPPED_PLAN) and not is_whatif_file(FLAGSHIP)
    assert plan.reference.name == "baseline" and plan.reference.is_baseline
    names = [v.name for v in plan.variants]
    for needed in ("debunk_at_1h", "debunk_at_3h", "debunk_at_6h", "notice_from_start",
                   "servers_x2", "servers_x10", "take_link_down_1h", "no_founder",
                   "consent_screen"):
        assert needed in names
    # --set overrides reach every variant; each variant's own change stays its own
    assert all(v.scenario.population.agents == 2000 for v in plan.variants)
    assert plan.variant("debunk_at_1h").scenario.interventions["media_debunk"].at == 1
    assert plan.reference.scenario.interventions["media_debunk"].at == 3.5
    down = plan.variant("take_link_down_1h").scenario.interventions
    assert down["take_link_down"].factor == 0 and "take_link_down" not in plan.baseline.interventions


def test_make_plan_in_python_matches_the_file_format() -> None:
    plan = make_plan(FLAGSHIP, {"early": {"interventions.media_debunk.at": 1}}, common=SMALL)
    # no empty variant given: the baseline is put first under its default name
    assert [v.name for v in plan.variants] == ["baseline", "early"]
    assert plan.variants[1].overrides == ("interventions.media_debunk.at=1",)


@pytest.mark.parametrize("body, line, words", [
    ("baseline: {base}\nreplicate: 3\nvariants: {{a: {{}}}}\n", 2,
     ["unknown key `replicate`", "Did you mean `replicates`"]),
    ("baseline: no_such_file.yaml\nvariants: {{a: {{}}}}\n", 1,
     ["baseline", "no_such_file.yaml", "does not exist"]),
    ("baseline: {base}\nvariants:\n  a: {{}}\n  early:\n    interventions.media_debunk.at: 1\n"
     "    signals.page_capacty.value: 3\n", 6,
     ["variant `early`", "signals.page_capacty.value", "Did you mean `page_capacity`"]),
    ("baseline: {base}\nvariants:\n  a: {{}}\n  b: {{transitions.no_such.rate: 1}}\n", 4,
     ["variant `b`", "transitions.no_such.rate", "`no_such` is not an item of `transitions`"]),
    ("baseline: {base}\nvariants:\n  a: {{}}\n  wide: {{interventions.media_debunk.reach: 1.5}}\n", 4,
     ["variant `wide`", "interventions.media_debunk.reach", "less than or equal to 1"]),
    ("baseline: {base}\nvariants:\n  a: {{}}\n  b: 3\n", 4,
     ["variants.b", "must be a map of dotted paths"]),
    ("baseline: {base}\n", 1, ["needs `variants`"]),
    ("baseline: {base}\noutcomes: [unbound_evr]\nvariants: {{a: {{}}}}\n", 2,
     ["no outcome `unbound_evr`", "Did you mean `unbound_ever`"]),
])
def test_plan_errors_name_the_file_line_variant_and_path(tmp_path: Path, body: str, line: int,
                                                           words) -> None:
    p = write_plan(tmp_path, body.format(base=FLAGSHIP))
    with pytest.raises(ScenarioError) as e:
        load_whatifs(p)
    msg = str(e.value)
    assert e.value.file == str(p) and e.value.line == line, msg
    for w in words:
        assert w in msg, msg


def test_cli_validate_reports_a_bad_plan_without_a_traceback(tmp_path: Path) -> None:
    p = write_plan(tmp_path, f"baseline: {FLAGSHIP}\nvariants:\n  a: {{interventions.nope.at: 1}}\n")
    out = CliRunner().invoke(cli, ["validate", str(p)])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert "variant `a`" in out.output and "interventions.nope.at" in out.output
    ok = CliRunner().invoke(cli, ["validate", str(SHIPPED_PLAN)])
    assert ok.exit_code == 0 and "variants" in ok.output


# ------------------------------------------------------- common random numbers


def test_identical_variant_differs_by_exactly_zero(comparison: Comparison) -> None:
    base, same = comparison.results["baseline"], comparison.results["same_as_baseline"]
    np.testing.assert_array_equal(base.raw.counts, same.raw.counts)
    tab = comparison.table().set_index(["variant", "outcome"])
    for o in comparison.outcome_names:
        for v in ("baseline", "same_as_baseline"):
            row = tab.loc[(v, o)]
            assert (row["diff_median"], row["diff_low"], row["diff_high"]) == (0.0, 0.0, 0.0)


def test_every_variant_uses_the_same_replicate_seeds(comparison: Comparison) -> None:
    seeds = [np.asarray(r.raw.replicate_seeds) for r in comparison.results.values()]
    for s in seeds[1:]:
        np.testing.assert_array_equal(s, seeds[0])


def test_differences_are_paired_replicate_by_replicate(comparison: Comparison) -> None:
    vals = comparison.values()
    tab = comparison.table().set_index(["variant", "outcome"])
    b = vals[(vals.variant == "baseline") & (vals.outcome == "unbound_ever")].sort_values("replicate")
    v = vals[(vals.variant == "debunk_at_1h") & (vals.outcome == "unbound_ever")].sort_values("replicate")
    diff = v["value"].to_numpy() - b["value"].to_numpy()
    row = tab.loc[("debunk_at_1h", "unbound_ever")]
    lo, med, hi = np.percentile(diff, [5, 50, 95])
    assert (row["diff_low"], row["diff_median"], row["diff_high"]) == pytest.approx((lo, med, hi))
    assert row["median"] == pytest.approx(np.median(v["value"]))


# ------------------------------------------------------------- table & text


def test_table_columns_and_rows(comparison: Comparison) -> None:
    tab = comparison.table()
    assert tuple(tab.columns) == TABLE_COLUMNS
    assert list(dict.fromkeys(tab["variant"])) == list(comparison.results)
    assert list(dict.fromkeys(tab["outcome"])) == ["unbound_ever", "peak_believers",
                                                   "opened_link", "overload_hours"]
    assert len(tab) == 4 * 4
    assert (tab["low"] <= tab["median"]).all() and (tab["median"] <= tab["high"]).all()


def test_markdown_is_a_table_in_real_people(comparison: Comparison) -> None:
    md = comparison.markdown()
    header = [ln for ln in md.splitlines() if ln.startswith("| Outcome")]
    assert header and "90 % interval" in header[0] and "Change vs baseline" in header[0]
    assert " M |" in md                      # real-people numbers such as 3.2 M
    assert " h |" in md                      # hours of overload
    for name in comparison.results:
        assert f"| {name} |" in md
    assert "`interventions.media_debunk.at=1`" in md


# ------------------------------------------------------------------ writing


def test_write_makes_a_comparison_directory_the_report_reads(tmp_path: Path,
                                                             comparison: Comparison) -> None:
    out = comparison.write(tmp_path / "cmp")
    for f in ("compare.csv", "compare.md", "compare_values.csv", "whatifs.json",
              "provenance.json", "summary.json", "raw.npz", "scenario.yaml",
              "figures/compare_overlay.png", "figures/compare_overlay.svg",
              "figures/compare_outcomes.png", "figures/compare_outcomes.svg",
              "figures/dashboard.png"):
        assert (out / f).is_file(), f
    for name in comparison.results:
        assert (out / "variants" / name / "summary.json").is_file()
    csv = pd.read_csv(out / "compare.csv")
    assert tuple(csv.columns) == TABLE_COLUMNS
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["comparison"]["seed"] == 11 and prov["comparison"]["replicates_per_variant"] == 3
    html = write_report(out).read_text(encoding="utf-8")
    assert "What-if comparison" in html and "debunk_at_1h" in html
    assert [p.name for p in tmp_path.iterdir()] == ["cmp"]   # no temporary leftovers


def test_write_refuses_a_non_empty_directory(tmp_path: Path, comparison: Comparison) -> None:
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError):
        comparison.write(out, figures=False)
    with pytest.raises(OutputError):     # not one of ours: even --overwrite refuses
        comparison.write(out, overwrite=True, figures=False)
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp"]


def test_overwrite_replaces_a_previous_comparison(tmp_path: Path, comparison: Comparison) -> None:
    out = comparison.write(tmp_path / "cmp", figures=False)
    (out / "stale.txt").write_text("old")
    comparison.write(out, overwrite=True, figures=False)
    assert not (out / "stale.txt").exists() and (out / "compare.csv").is_file()


def test_interrupted_write_leaves_nothing(tmp_path: Path, comparison: Comparison,
                                         monkeypatch) -> None:
    def boom(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Comparison, "markdown", boom)
    with pytest.raises(RuntimeError):
        comparison.write(tmp_path / "cmp", figures=False)
    assert list(tmp_path.iterdir()) == []


def test_cli_compare_writes_and_prints_the_table(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, f"baseline: {FLAGSHIP}\nvariants:\n  baseline: {{}}\n"
                                "  early: {interventions.media_debunk.at: 1}\n")
    out = tmp_path / "runs"
    res = CliRunner().invoke(cli, ["compare", str(plan), "--reps", "2", "-o", str(out),
                                   "--set", "population.agents=2000"])
    assert res.exit_code == 0, res.output
    assert "| Outcome | Variant |" in res.output and (out / "compare.csv").is_file()
    again = CliRunner().invoke(cli, ["compare", str(plan), "--reps", "2", "-o", str(out)])
    assert again.exit_code == 2 and "not empty" in again.output
