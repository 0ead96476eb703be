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


# ------------------------------------------------------------ population prior


def _population_csv(path: Path, rows: int = 200, seed: int = 1, cascades=("a", "b", "c"),
                    half_life=(1.0, 1.3)) -> Path:
    """Past cascades' posterior samples: repost rates spread wide, half-lives narrow."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "transitions.repost.rate": np.exp(rng.uniform(np.log(0.02), np.log(2.0), rows)),
        "signals.attention_gone.half_life": rng.uniform(*half_life, rows),
        "weight": rng.uniform(0.5, 1.5, rows),
        "cascade_id": rng.choice(list(cascades), rows),
    })
    df.to_csv(path, index=False)
    return path


def test_population_density_is_a_density_on_the_unit_cube_and_matches_its_samples():
    """The KDE in logit space, with its Jacobian, integrates to 1 over (0, 1)^2 (a grid
    sum, error O(h^2) on 400^2 cells) and its samples have the density's mean: 4,000
    draws, so the mean of u is within 3 standard errors (sd <= 0.3 / sqrt(4000) ~ 0.005)."""
    from rumorsim.fitprior import PopulationDensity

    rng = np.random.default_rng(2)
    unit = np.column_stack([rng.beta(2, 5, 300), rng.beta(5, 2, 300)])
    dens = PopulationDensity(unit, np.full(300, 1 / 300))
    g = (np.arange(400) + 0.5) / 400
    uu = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    pdf = dens.pdf(uu)
    assert abs(pdf.sum() / 400**2 - 1) < 0.01
    mean_pdf = (uu * pdf[:, None]).sum(0) / pdf.sum()
    saved = np.random.get_state()
    np.random.seed(7)
    draws = dens.sample(4000)
    np.random.set_state(saved)
    assert np.all((draws > 0) & (draws < 1))
    assert np.all(np.abs(draws.mean(0) - mean_pdf) < 3 * 0.3 / math.sqrt(4000))
    assert dens.pdf(np.array([[1.2, 0.5], [-0.1, 0.5]])).tolist() == [0.0, 0.0]


def test_each_past_cascade_weighs_alike_and_a_folder_of_fits_reads_the_same(tmp_path):
    from rumorsim.fitprior import read_population

    spec, _, _ = load_fit(TINY_FIT_PATH(tmp_path))
    csv = _population_csv(tmp_path / "pop.csv")
    pop = read_population(csv, spec.parameters)
    assert pop.cascades == ("a", "b", "c")
    table = pd.read_csv(csv)
    for c in "abc":
        assert pop.weights[(table["cascade_id"] == c).to_numpy()].sum() == pytest.approx(1 / 3)
    # the same samples as three `rumorsim fit` output directories
    for c in "abc":
        d = tmp_path / "past" / c
        d.mkdir(parents=True)
        table[table["cascade_id"] == c].drop(columns="cascade_id").to_csv(d / "posterior.csv", index=False)
        (d / "summary.json").write_text(json.dumps({"cascade": c}))
    folder = read_population(tmp_path / "past", spec.parameters)
    assert folder.cascades == pop.cascades
    assert np.allclose(np.sort(folder.unit, 0), np.sort(pop.unit, 0))


def TINY_FIT_PATH(tmp_path: Path) -> Path:
    p = tmp_path / "tiny_fit.yaml"
    p.write_text(TINY_FIT, encoding="utf-8")
    return p


@pytest.mark.slow
def test_a_population_prior_carries_what_the_early_data_cannot_say(tiny_fit, tmp_path):
    """Fitted on 30 minutes, the half-life of attention is hardly constrained: under the
    uniform prior its 90 % interval spans most of [0.2, 48] h; under a population prior
    whose past cascades all had 1.0-1.3 h (KDE-smoothed), the posterior stays inside
    about that range. A fit that ignored the prior (or mapped it wrongly onto the unit
    cube) fails the second check by decades."""
    pop = _population_csv(tmp_path / "pop.csv")
    spec, base, obs = load_fit(tiny_fit, until=30, prior=pop)
    assert spec.population is not None and spec.population.cascades == ("a", "b", "c")
    fit = run_fit(spec, base, obs, workers=1)
    p = fit.summary["parameters"]["signals.attention_gone.half_life"]
    assert 0.8 < p["low"] and p["high"] < 1.6, p
    assert fit.summary["prior"] == {"kind": "population", "source": str(pop), "cascades": 3,
                                    "samples": 200}
    spec_u, base_u, obs_u = load_fit(tiny_fit, until=30)
    flat = run_fit(spec_u, base_u, obs_u, workers=1).summary["parameters"]["signals.attention_gone.half_life"]
    assert flat["high"] / flat["low"] > 10, flat


BAD_PRIORS = [
    # (how the population file is made, what the message must say)
    (lambda p: _population_csv(p).read_text().replace("signals.attention_gone.half_life",
                                                      "signals.attention_gone.halflife"),
     ["has no column `signals.attention_gone.half_life`",
      "Did you mean `signals.attention_gone.halflife`?"]),
    (lambda p: _population_csv(p, half_life=(50.0, 60.0)).read_text(),
     ["outside the fit file's range", "values in [0.2, 48]"]),
    (lambda p: _population_csv(p, cascades=("a", CASCADE)).read_text(),
     [f"was learned from series `{CASCADE}`", "would leak into the forecast"]),
]


@pytest.mark.parametrize("make,needles", BAD_PRIORS, ids=["column", "range", "leak"])
def test_bad_population_priors_give_one_clear_paragraph(tiny_fit, tmp_path, make, needles):
    pop = tmp_path / "pop.csv"
    pop.write_text(make(tmp_path / "draft.csv"))
    res = invoke("fit", tiny_fit, "--prior-from", pop, "-o", tmp_path / "out")
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and "Traceback" not in res.output
    assert f"--prior-from {pop}" in res.output
    for needle in needles:
        assert needle in res.output, (needle, res.output)
    # in the fit file, the error names its line
    text = TINY_FIT.replace("seed: 5", f"seed: 5\nprior: {pop}")
    (tmp_path / "with_prior.yaml").write_text(text)
    res = invoke("fit", tmp_path / "with_prior.yaml", "-o", tmp_path / "out")
    assert res.exit_code == 2 and "line 20" in res.output and needles[0] in res.output, res.output
    res = invoke("fit", tiny_fit, "--prior-from", tmp_path / "nowhere.csv", "-o", tmp_path / "out")
    assert res.exit_code == 2 and "does not exist" in res.output
