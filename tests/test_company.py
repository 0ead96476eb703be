"""Case 003, the ordinary company's dilemma: reach is not spread, and there is a tipping point.

The shipped files must load, and the model must show what they claim: at the same reach
(1 % of users see the company's post), a message just below the critical threshold
cascades to nearly everyone while one above it stays with a small share of the platform.
Each point is two replicates of the shipped 20,000-agent scenario; the two outcomes are
far apart (the sweep's heatmap: 20 M against 1-3 M people), so two replicates decide it.
"""

from __future__ import annotations

from rumorsim.design import design_points
from rumorsim.sweep import run_points
from rumorsim.sweepfile import load_sweep
from rumorsim.whatif import load_whatifs

from conftest import SCENARIOS


def test_company_files_load() -> None:
    spec = load_sweep(SCENARIOS / "company_dilemma_sweep.yaml")
    assert spec.design == "grid" and len(design_points(spec)) == 72
    assert spec.contour_outcome == "shared" and spec.contour_level == 1e7
    plan = load_whatifs(SCENARIOS / "company_ab_test.yaml")
    assert [v.name for v in plan.variants] == ["message_a", "message_b", "message_a_5x_reach"]
    sens = load_sweep(SCENARIOS / "wechat_sensitivity.yaml")
    assert sens.design == "sobol" and len(design_points(sens)) == 32 * 8


def test_a_more_appealing_message_crosses_the_tipping_point_at_the_same_reach() -> None:
    spec = load_sweep(SCENARIOS / "company_dilemma_sweep.yaml")
    path = "transitions.social_proof.threshold.fraction.mean"
    df = run_points(spec.base, [{path: 0.26}, {path: 0.38}], replicates=2, seed=3,
                    outcomes=["shared", "reached"])
    people = spec.base.population.represents
    shared = df.groupby("point")["shared"].min() / people
    assert shared[0] > 0.95  # a cascade: nearly everyone shares
    top = df.groupby("point")["shared"].max() / people
    assert top[1] < 0.25     # reach without spread
