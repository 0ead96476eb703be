"""Sensitivity analysis: the method on a function whose answer is known, then on sweeps.

Ishigami (a = 7, b = 0.1, inputs uniform on [-pi, pi]) has analytic indices
(Ishigami & Homma 1990; Saltelli et al. 2008, sec. 4.1): S1 = (0.3139, 0.4424, 0),
ST = (0.5576, 0.4424, 0.2437). SALib reports a bootstrap 95 % half-width with each
estimate; we require every estimate within twice its own half-width of the truth (a
two-sided 95 % interval has the truth outside it 5 % of the time; at twice the width,
about z = 3.9, the chance for any of the six is below 0.1 %). A fourth input the
function ignores must get exactly 0: Saltelli's estimators difference f(A) and f(A_B^i),
which are equal when x_i does not enter f.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rumorsim.cli import cli
from rumorsim.sensitivity import replicate_share, sobol_indices

ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_match_ishigami_and_an_ignored_input_gets_zero() -> None:
    from SALib.sample import sobol as sobol_sample

    names = ["x1", "x2", "x3", "ignored"]
    bounds = [[-np.pi, np.pi]] * 4
    x = sobol_sample.sample({"num_vars": 4, "names": names, "bounds": bounds}, 1024,
                            calc_second_order=False, seed=7)
    t = sobol_indices(names, bounds, ishigami(x), "ishigami").set_index("parameter")
    for p in ("x1", "x2", "x3"):
        assert abs(t.loc[p, "S1"] - ISHIGAMI_S1[p]) <= 2 * t.loc[p, "S1_conf"], p
        assert abs(t.loc[p, "ST"] - ISHIGAMI_ST[p]) <= 2 * t.loc[p, "ST_conf"], p
    assert t.loc["ignored", "ST"] == 0 and t.loc["ignored", "S1"] == 0


def test_replicate_share_splits_the_variance() -> None:
    """Two points: a between-points difference only (share 0), noise only (share 1), and a
    mix whose parts add up to the total variance."""
    between = pd.DataFrame({"point": [0, 0, 1, 1], "y": [1.0, 1.0, 3.0, 3.0]})
    noise = pd.DataFrame({"point": [0, 0, 1, 1], "y": [1.0, 3.0, 1.0, 3.0]})
    assert replicate_share(between, ["y"])["replicate_share"].iloc[0] == 0
    assert replicate_share(noise, ["y"])["replicate_share"].iloc[0] == 1
    rng = np.random.default_rng(0)
    mix = pd.DataFrame({"point": np.repeat(np.arange(10), 5), "y": np.repeat(np.arange(10.0), 5)
                        + rng.normal(size=50)})
    v = replicate_share(mix, ["y"]).iloc[0]
    assert v["between_points"] + v["within_points"] == pytest.approx(v["total_variance"])


# A scenario with a transition that never fires: nobody is ever `upset`, so the rate of
# `calm_down` cannot change anything.
NEVER = """name: SIR with a transition that never fires
time: {dt: 0.1, until: 20}
population: {agents: 300}
network: {layers: {contacts: {generator: erdos_renyi, mean_degree: 8}}}
traits: {health: [S, I, R], mood: [calm, upset]}
seed: [{state: {health: I}, count: 5}]
transitions:
  - {name: infection, from: {health: S}, to: {health: I}, rate: 0.2, induced_by: {layer: contacts, state: {health: I}}}
  - {name: recovery, from: {health: I}, to: {health: R}, rate: 1.0}
  - {name: calm_down, from: {mood: upset}, to: {mood: calm}, rate: 1.0}
outcomes:
  ever_infected: {final: {health: R}}
"""


@pytest.mark.parametrize("design,samples", [("sobol", 16), ("morris", 6)])
def test_sweep_sensitivity_gives_zero_to_a_parameter_that_does_nothing(tmp_path: Path, design: str,
                                                                       samples: int) -> None:
    (tmp_path / "never.yaml").write_text(NEVER, encoding="utf-8")
    (tmp_path / "sw.yaml").write_text(
        f"base: never.yaml\ndesign: {design}\nsamples: {samples}\nreplicates: 2\nseed: 4\n"
        "parameters:\n  transitions.infection.rate: {low: 0.05, high: 0.4}\n"
        "  transitions.calm_down.rate: {low: 0.1, high: 10, scale: log}\n"
        "  seed.0.count: {low: 1, high: 10, integer: true}\n", encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["sweep", str(tmp_path / "sw.yaml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out / "sensitivity.csv").set_index("parameter")
    var = pd.read_csv(out / "variance.csv")
    assert list(var["outcome"]) == ["ever_infected"] and 0 <= var["replicate_share"].iloc[0] < 1
    assert (out / "figures" / "sensitivity.png").is_file()
    if design == "sobol":
        assert list(pd.read_csv(out / "sensitivity.csv").columns) == \
            ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
        assert t.loc["transitions.calm_down.rate", "ST"] == 0
        assert t.loc["transitions.infection.rate", "ST"] > 0.5
    else:
        assert list(pd.read_csv(out / "sensitivity.csv").columns) == \
            ["outcome", "parameter", "mu_star", "mu_star_conf", "sigma"]
        assert t.loc["transitions.calm_down.rate", "mu_star"] == 0
        assert t.loc["transitions.infection.rate", "mu_star"] > 10
        assert np.isfinite(t["mu_star"]).all() and np.isfinite(t["sigma"]).all()
    # `rumorsim sensitivity DIR` recomputes the same table
    before = (out / "sensitivity.csv").read_bytes()
    r2 = CliRunner().invoke(cli, ["sensitivity", str(out), "--no-figures"])
    assert r2.exit_code == 0, r2.output
    assert (out / "sensitivity.csv").read_bytes() == before
