"""Fitting (rumorsim.fitfile, rumorsim.fit, `rumorsim fit`): a small fit end to end, the
same numbers at any worker count, clear errors for bad fit files, and a
simulation-based calibration check of the posterior intervals.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rumorsim.cli import cli
from rumorsim.fit import CascadeModel, run_fit, weighted_quantile
from rumorsim.fitfile import load_fit

from conftest import SCENARIOS

import pyabc  # noqa: F401  (the `fit` extra, in `test`: a missing install fails here)

DATA = SCENARIOS / "data" / "weibo"
CASCADE = "1432_z6StvwUhf_2382483922"

#: A fit small enough for a test: a short horizon, a tiny budget.
TINY_FIT = f"""\
scenario: {SCENARIOS / 'repost_cascade.yaml'}
set: [run.seed=3]
data:
  path: {DATA / 'cumulative_24h.csv.gz'}
  cascade: {CASCADE}
  time: minutes
  value: cumulative_count
  until: 60
  clock: {{path: {DATA / 'cascades.csv'}, column: original_time_unix, utc_offset: "+08:00"}}
observe: {{state: {{post: [reposted, faded]}}, label: post + reposts}}
parameters:
  transitions.repost.rate: {{low: 0.01, high: 3.0, scale: log}}
  signals.attention_gone.half_life: {{low: 0.2, high: 48.0, scale: log}}
method: abc-smc
simulations: 120
population_size: 30
forecast_until: 240
predictive: 20
seed: 5
"""


class _Result:
    def __init__(self, res):
        self.exit_code = res.exit_code
        self.output = " ".join(res.output.split())


def invoke(*args):
    return _Result(CliRunner().invoke(cli, [str(a) for a in args]))


@pytest.fixture
def tiny_fit(tmp_path: Path) -> Path:
    p = tmp_path / "tiny_fit.yaml"
    p.write_text(TINY_FIT, encoding="utf-8")
    return p


# ------------------------------------------------------------------ end to end


def test_small_fit_end_to_end_writes_every_output(tiny_fit, tmp_path):
    out = tmp_path / "fit"
    res = invoke("fit", tiny_fit, "-o", out, "--workers", "1")
    assert res.exit_code == 0, res.output
    assert "forecast at 240 minutes" in res.output
    for name in ("posterior.csv", "predictive.csv", "summary.json", "scenario.yaml",
                 "fit.png", "fit.svg"):
        assert (out / name).is_file(), name

    post = pd.read_csv(out / "posterior.csv")
    assert list(post.columns) == ["transitions.repost.rate", "signals.attention_gone.half_life",
                                  "weight"]
    assert len(post) == 30 and abs(post["weight"].sum() - 1) < 1e-9
    assert post["transitions.repost.rate"].between(0.01, 3.0).all()

    pred = pd.read_csv(out / "predictive.csv")
    assert list(pred.columns) == ["time", "observed", "median", "low", "high", "in_fit"]
    # the data's unit (minutes) on the data's 10-minute grid, from 0 to forecast_until
    assert pred["time"].iloc[0] == 0 and pred["time"].iloc[-1] == 240
    assert np.allclose(np.diff(pred["time"]), 10)
    assert (pred["low"] <= pred["median"]).all() and (pred["median"] <= pred["high"]).all()
    assert pred.loc[pred["time"] <= 60, "in_fit"].all() and not pred.loc[pred["time"] > 60, "in_fit"].any()
    obs = pd.read_csv(DATA / "cumulative_24h.csv.gz")
    obs = obs[obs["cascade_id"] == CASCADE].set_index("minutes")["cumulative_count"]
    assert np.array_equal(pred["observed"].to_numpy(), obs.loc[pred["time"]].to_numpy())
    # the post itself is there at t = 0 in every simulation
    assert pred["low"].iloc[0] == pred["high"].iloc[0] == 1

    s = json.loads((out / "summary.json").read_text())
    assert set(s["parameters"]) == set(post.columns[:-1])
    p = s["parameters"]["transitions.repost.rate"]
    assert p["low"] <= p["median"] <= p["high"]
    assert s["forecast"]["time"] == 240 and s["forecast"]["observed"] == obs.loc[240]
    assert s["budget"]["predictive_paths"] == 30  # the accepted simulations continued
    assert s["score"]["fit_window"]["points"] == 7

    # the fitted scenario runs, at the posterior median, on the series' clock
    sc_out = tmp_path / "rehearse"
    res = invoke("run", out / "scenario.yaml", "--reps", "2", "-o", sc_out, "--no-figures", "-q")
    assert res.exit_code == 0, res.output
    import rumorsim as rs

    sc = rs.load(out / "scenario.yaml")
    assert math.isclose(sc.transition("repost").rate, p["median"], rel_tol=1e-12)
    assert sc.time.start.isoformat() == "2012-11-25T23:24:21+08:00"
    assert sc.time.until == pytest.approx(4.0)


def test_fit_is_the_same_at_any_worker_count(tiny_fit):
    """Batches have their own seeds and are taken in order: 1 or 2 workers, same numbers."""
    spec, base, obs = load_fit(tiny_fit)
    spec = spec.model_copy(update={"simulations": 80, "population_size": 20, "predictive": 10})
    a = run_fit(spec, base, obs, workers=1)
    b = run_fit(spec, base, obs, workers=2)
    pd.testing.assert_frame_equal(a.posterior, b.posterior)
    pd.testing.assert_frame_equal(a.predictive, b.predictive)


def test_fit_on_a_dask_cluster_gives_the_same_numbers(tiny_fit):
    """`--scheduler`: the batches run on Dask workers (in-process LocalCluster here) and
    the fit is the same as on one local worker."""
    import distributed  # pyABC's own dependency
    spec, base, obs = load_fit(tiny_fit)
    spec = spec.model_copy(update={"simulations": 60, "population_size": 20, "predictive": 10})
    local = run_fit(spec, base, obs, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = run_fit(spec, base, obs, scheduler=client)
    pd.testing.assert_frame_equal(local.posterior, remote.posterior)
    pd.testing.assert_frame_equal(local.predictive, remote.predictive)
    assert remote.summary["budget"]["dask"] is True


def test_options_override_the_fit_file(tiny_fit):
    spec, base, obs = load_fit(tiny_fit, cascade="3777_Ai8O8xZQl_2996975491", until=30)
    assert obs.cascade == "3777_Ai8O8xZQl_2996975491" and obs.until == 30
    assert obs.time[obs.fit_mask].tolist() == [0, 10, 20, 30]
    assert obs.to_scenario == pytest.approx(1 / 60)  # minutes -> the scenario's hours


def test_weighted_quantile_matches_repeated_samples():
    rng = np.random.default_rng(3)
    v = rng.normal(size=200)
    k = rng.integers(1, 5, size=200)
    q = [0.05, 0.5, 0.95]
    got = weighted_quantile(v, k.astype(float), q)
    want = np.quantile(np.repeat(v, k), q)
    assert np.allclose(got, want, atol=0.05)


# --------------------------------------------------------------- bad fit files


BAD = [
    # (change to the tiny fit file, what the message must say)
    (("simulations: 120", "simulatons: 120"), ["line 15", "unknown key `simulatons`",
                                              "Did you mean `simulations`?"]),
    (("{low: 0.01, high: 3.0, scale: log}", "{low: 3.0, high: 0.01, scale: log}"),
     ["line 12", "must be below `high`"]),
    (("{low: 0.2, high: 48.0, scale: log}", "{low: 0.0, high: 48.0, scale: log}"),
     ["line 13", "log-scale prior needs low > 0"]),
    (("transitions.repost.rate:", "transitions.repost.rat:"),
     ["line 12", "does not take transitions.repost.rat", "Did you mean `rate`?"]),
    (("post: [reposted, faded]", "post: [reposted, fadded]"),
     ["line 10", "has no state `fadded`", "Did you mean `faded`?"]),
    ((f"cascade: {CASCADE}", "cascade: 1432_z6StvwUhf_238248392"),
     ["line 5", "no series `1432_z6StvwUhf_238248392`", f"Did you mean `{CASCADE}`?"]),
    (("value: cumulative_count", "value: cumulative"), ["line 7", "no column `cumulative`"]),
    (("until: 60", "until: 5"), ["line 8", "fewer than two observations"]),
    (("method: abc-smc", "method: npe"), ["line 14", "abc-smc"]),
    (("forecast_until: 240", "forecast_until: 30"), ["line 17", "before the fit window"]),
    (("scenario: ", "scenario: x"), ["line 1", "there is no scenario"]),
    (("cumulative_24h.csv.gz", "nowhere.csv.gz"), ["line 4", "does not exist"]),
]


@pytest.mark.parametrize("change,needles", BAD, ids=[b[0][1][:24] for b in BAD])
def test_bad_fit_files_give_one_clear_paragraph_and_exit_2(tmp_path, change, needles):
    old, new = change
    assert old in TINY_FIT
    p = tmp_path / "bad.yaml"
    p.write_text(TINY_FIT.replace(old, new, 1), encoding="utf-8")
    res = invoke("fit", p, "-o", tmp_path / "out")
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and "Traceback" not in res.output
    assert str(p) in res.output
    for needle in needles:
        assert needle in res.output, (needle, res.output)
    assert not (tmp_path / "out").exists()


def test_a_bad_option_names_the_option(tiny_fit, tmp_path):
    res = invoke("fit", tiny_fit, "--cascade", "nope", "-o", tmp_path / "out")
    assert res.exit_code == 2 and "--cascade nope" in res.output
    assert "no series `nope`" in res.output
    res = invoke("fit", tiny_fit, "--until", "-1", "-o", tmp_path / "out")
    assert res.exit_code == 2 and "--until -1" in res.output
    res = invoke("fit", "no_such_fit.yaml")
    assert res.exit_code == 2 and "no_such_fit" in res.output


def test_fit_refuses_a_non_empty_output_directory(tiny_fit, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    res = invoke("fit", tiny_fit, "-o", out)
    assert res.exit_code == 2 and "not empty" in res.output
    assert (out / "notes.txt").read_text() == "mine"


# ----------------------------------------------------------------- calibration


@pytest.mark.slow
def test_posterior_intervals_cover_the_truth_about_90_percent(tmp_path):
    """Simulation-based calibration (Cook, Gelman & Rubin 2006; Talts et al. 2018).

    50 synthetic cascades are simulated by the model itself from parameters drawn from
    the prior; each is fitted on its first 2 hours. If the fit is right, each
    parameter's true value falls inside its 90 % posterior interval with probability
    0.9, independently across the 50 cascades: the count inside is Binomial(50, 0.9)
    (mean 45, sd 2.1). We reject at the 0.1 % level per parameter: at least 37 of 50
    inside (P(X <= 36) = 0.0003 under the null). Over-confident intervals (too narrow,
    a biased distance or a mis-weighted posterior) fail this; an ABC posterior at a
    finite tolerance is, if anything, a little wide, and 50 of 50 is still P = 0.005
    under the null, so no upper limit is tested at this size.

    The same for the posterior predictive: the synthetic cascade's count at 4 hours
    (never seen by the fit) falls inside the 90 % forecast band about 90 % of the time.

    Small on purpose (a 4-hour horizon, 240 simulations per fit): the
    check is about the coverage of the intervals, not their width.
    """
    from scipy import stats

    n_cascades = 50
    least = int(stats.binom.ppf(0.001, n_cascades, 0.9))  # 37
    assert stats.binom.cdf(least - 1, n_cascades, 0.9) < 0.001 <= stats.binom.cdf(least, n_cascades, 0.9)
    fit_path = tmp_path / "calib.yaml"
    grid = np.arange(0, 241, 20.0)
    rows = []
    truths = []
    text = TINY_FIT.replace(str(DATA / "cumulative_24h.csv.gz"), str(tmp_path / "synthetic.csv"))
    text = text.replace("  clock: {", "  #clock: {").replace("until: 60", "until: 120")
    text = text.replace("simulations: 120", "simulations: 240").replace("predictive: 20", "predictive: 40")
    text = text.replace(f"cascade: {CASCADE}", "cascade: c0")
    fit_path.write_text(text, encoding="utf-8")
    # the truth's generator: the fit's own model, its parameters drawn from the prior
    first = pd.DataFrame({"cascade_id": "c0", "minutes": grid, "cumulative_count": 1})
    first.to_csv(tmp_path / "synthetic.csv", index=False)
    spec, base, obs = load_fit(fit_path)
    model = CascadeModel(base, spec, obs)
    rng = np.random.default_rng(20261205)
    for i in range(n_cascades):
        values = model.values(rng.uniform(size=len(model.names)))
        y = model.simulate(values, int(rng.integers(2**62)), grid)
        truths.append((values, y[-1]))
        rows += [(f"c{i}", t, v) for t, v in zip(grid, y)]
    pd.DataFrame(rows, columns=["cascade_id", "minutes", "cumulative_count"]).to_csv(
        tmp_path / "synthetic.csv", index=False)

    inside = {n: 0 for n in model.names}
    forecast_inside = 0
    for i, (values, final) in enumerate(truths):
        spec, base, obs = load_fit(fit_path, cascade=f"c{i}")
        spec = spec.model_copy(update={"seed": 1000 + i})
        fit = run_fit(spec, base, obs, workers=2)
        for n in model.names:
            p = fit.summary["parameters"][n]
            inside[n] += p["low"] <= values[n] <= p["high"]
        f = fit.summary["forecast"]
        forecast_inside += f["low"] <= final <= f["high"]
    print("inside the 90 % intervals, of 50:", inside, "forecast:", forecast_inside)
    for n, k in inside.items():
        assert k >= least, (n, inside, forecast_inside)
    assert forecast_inside >= least, (inside, forecast_inside)
