"""The mean-field companion against closed-form results of the classic models.

The equations are deterministic, so every tolerance here is the integrator's (rtol 1e-8)
plus the known effect of a finite seed, said next to each test; none is statistical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

import rumorsim as rs
from rumorsim.errors import MeanFieldError
from rumorsim.degreeclasses import degree_classes
from rumorsim.meanfield import solve_meanfield
from rumorsim.network import build_network
from rumorsim.scenario import parse_scenario

from conftest import SCENARIOS


def final(df: pd.DataFrame, trait: str, state: str) -> float:
    last = df[(df.time == df.time.max()) & (df.trait == trait) & (df.state == state)]
    return float(last.fraction.iloc[0])


def series(df: pd.DataFrame, trait: str, state: str) -> pd.Series:
    d = df[(df.trait == trait) & (df.state == state)]
    return pd.Series(d.fraction.to_numpy(), index=d.time.to_numpy())


def sir_text(*, agents: int, layer: str, beta: float, gamma: float = 1.0, seeds: str = "count: 1",
             until: float = 60.0, dt: float = 0.01) -> str:
    return f"""
name: SIR test
time: {{dt: {dt}, until: {until}, report_every: 0.5}}
population: {{agents: {agents}}}
network:
  layers:
    contacts: {layer}
traits:
  health: [S, I, R]
seed:
  - {{state: {{health: I}}, {seeds}}}
transitions:
  - name: infection
    from: {{health: S}}
    to: {{health: I}}
    rate: {beta}
    induced_by: {{layer: contacts, state: {{health: I}}}}
  - name: recovery
    from: {{health: I}}
    to: {{health: R}}
    rate: {gamma}
"""


def test_sir_on_complete_graph_reaches_kermack_mckendrick_final_size():
    """Homogeneous SIR with R0 = beta (N - 1) / gamma = 2 ends where r = 1 - exp(-R0 r).

    With a finite seed i0 = 1/N the exact invariant is s_inf = s0 exp(-R0 (1 - s_inf)),
    checked to the integrator's accuracy; the seed moves the root of the i0 -> 0 law
    (r = 0.796812) by about i0 / (1 - R0 s_inf) = 2e-6, so 1e-5 is ample.
    """
    n = 1_000_000
    R0 = 2.0
    sc = parse_scenario(sir_text(agents=n, layer="{generator: complete}", beta=R0 / (n - 1)))
    df = solve_meanfield(sc)
    s_inf = final(df, "health", "S")
    s0 = 1 - 1 / n
    assert s_inf == pytest.approx(s0 * np.exp(-R0 * (1 - s_inf)), abs=1e-7)
    r = brentq(lambda r: r - (1 - np.exp(-R0 * r)), 0.1, 1.0)
    assert final(df, "health", "R") == pytest.approx(r, abs=1e-5)
    # the people column scales the share to the population represented
    assert set(df.columns) == {"time", "trait", "state", "fraction", "people"}
    last = df[df.time == df.time.max()]
    np.testing.assert_allclose(last.people, last.fraction * n)
    # agents are conserved at every time
    np.testing.assert_allclose(df.groupby("time").fraction.sum(), 1.0, atol=1e-9)


def test_maki_thompson_leaves_0_2032_ignorant():
    """Maki–Thompson on the complete graph: theta = exp(-2 (1 - theta)), theta = 0.203188.

    One seed among 10^5 changes the limit by O(1/N) = 1e-5.
    """
    theta = brentq(lambda x: x - np.exp(-2 * (1 - x)), 0.05, 0.5)
    assert theta == pytest.approx(0.2032, abs=1e-4)
    sc = rs.load(SCENARIOS / "classic" / "maki_thompson.yaml",
                 ["population.agents=100000", "transitions.telling.rate=1e-5",
                  "transitions.stifling.rate=1e-5", "time.until=60"])
    for method in ("homogeneous", "degree"):  # a complete graph has one degree: the same law
        assert final(solve_meanfield(sc, method=method), "rumor", "ignorant") == pytest.approx(theta, abs=5e-5)


def test_daley_kendall_single_agent_form_has_the_same_limit():
    sc = rs.load(SCENARIOS / "classic" / "daley_kendall.yaml")
    theta = brentq(lambda x: x - np.exp(-2 * (1 - x)), 0.05, 0.5)
    assert final(solve_meanfield(sc), "rumor", "ignorant") == pytest.approx(theta, abs=1e-3)


def test_sis_settles_at_one_minus_one_over_r0():
    """SIS with R0 = beta <k> / gamma = 2 settles at i* = 1 - 1/R0 = 0.5; the approach is
    exp(-(beta <k> - gamma) t) = e^-30 by the end, far below 1e-6."""
    sc = rs.load(SCENARIOS / "classic" / "sis.yaml")
    df = solve_meanfield(sc)
    assert final(df, "health", "I") == pytest.approx(1 - 1 / 2.0, abs=1e-6)


def test_scale_intervention_changes_the_endemic_level_from_its_date():
    """Doubling recovery at t = 15 moves SIS from 1 - 1/4 to 1 - 2/4 (R0 4 -> 2)."""
    sc = rs.load(SCENARIOS / "classic" / "sis.yaml", [
        "transitions.infection.rate=0.4", "time.until=40",
        "interventions={treat: {kind: scale, transition: recovery, factor: 2, at: 15}}"])
    i = series(solve_meanfield(sc), "health", "I")
    assert i.loc[15.0] == pytest.approx(0.75, abs=1e-5)
    assert i.iloc[-1] == pytest.approx(0.5, abs=1e-6)


def test_broadcast_moves_its_reach_at_once():
    """A broadcast reaching 40% of everyone and curing the infected removes 40% of I at its date."""
    sc = rs.load(SCENARIOS / "classic" / "sis.yaml", [
        "time.until=30",
        "interventions={cure: {kind: broadcast, at: 25, reach: 0.4, "
        "effects: [{from: {health: I}, to: {health: S}}]}}"])
    i = series(solve_meanfield(sc, times=[24.95, 25.0, 30.0]), "health", "I")
    assert i.loc[24.95] == pytest.approx(0.5, abs=1e-6)  # settled (see the test above)
    assert i.loc[25.0] == pytest.approx(0.6 * 0.5, abs=1e-6)  # applied before the report at 25


@pytest.mark.slow
def test_degree_based_sir_threshold_on_configuration_model():
    """Heterogeneous mean field puts SIR's threshold at beta / gamma = <k> / (<k^2> - <k>).

    The linearised equations (rho_k ~ k) grow at lambda = beta (<k^2> - <k>) / <k> - gamma,
    so below the threshold the outbreak stays at the seeds' order (a seed share of 5e-5
    gives a final size of about 5e-5 / (1 - beta/beta_c) < 1e-3) and above it reaches a
    finite share. The growth rate is checked against lambda to 1% with a seed share of
    1e-9, so that the equations stay linear (I < 1e-4) over the window t = 6..10; the
    seeds are spread uniformly over degrees, not along the leading mode, so the first
    time units are a transient (the next mode decays at least as fast as gamma = 1:
    e^-6 < 0.3%).
    """
    layer = ("{generator: configuration, degrees: {kind: powerlaw, exponent: 2.5, "
             "min_degree: 2, max_degree: 100}}")
    base = parse_scenario(sir_text(agents=20000, layer=layer, beta=0.1, until=200))
    net = build_network(base.network, 20000, np.random.SeedSequence(0))
    classes = degree_classes(base, net)
    k = classes.d_in[:, 0]
    k1, k2 = classes.prob @ k, classes.prob @ k**2
    tc = float(k1 / (k2 - k1))
    assert 0.02 < tc < 0.2  # heavy-tailed: far below the homogeneous 1 / <k>
    homogeneous_tc = 1 / k1
    assert tc < 0.8 * homogeneous_tc
    below = rs.override(base, {"transitions.infection.rate": 0.8 * tc})
    above = rs.override(base, {"transitions.infection.rate": 1.5 * tc})
    assert final(solve_meanfield(below, method="degree", network=net), "health", "R") < 1e-3
    assert final(solve_meanfield(above, method="degree", network=net), "health", "R") > 0.02
    # homogeneous mixing at 1.5 tc is still below its own threshold 1/<k>: nothing happens
    assert final(solve_meanfield(above, method="homogeneous"), "health", "R") < 1e-3
    beta = 2 * tc
    tiny = parse_scenario(sir_text(agents=20000, layer=layer, beta=beta, until=12,
                                   seeds="fraction: 1.0e-9"))
    i = series(solve_meanfield(tiny, method="degree", times=[0.0, 6.0, 10.0], network=net), "health", "I")
    assert i.loc[10.0] < 1e-4
    growth = np.log(i.loc[10.0] / i.loc[6.0]) / 4.0
    assert growth == pytest.approx(beta * (k2 - k1) / k1 - 1.0, rel=0.01)


def test_watts_threshold_cascade_window():
    """Gleeson's approximation: a global cascade at <k> = 4, none at <k> = 7 (phi = 0.18)."""
    sc = rs.load(SCENARIOS / "classic" / "watts_threshold.yaml", ["population.agents=5000"])
    assert final(solve_meanfield(sc, method="degree"), "opinion", "active") > 0.9
    outside = rs.override(sc, {"network.layers.friends.mean_degree": 7})
    assert final(solve_meanfield(outside, method="degree"), "opinion", "active") < 0.01


SIGNALS = """
name: signals test
time: {dt: 0.01, until: 12}
population: {agents: 1000}
network: {layers: {everyone: {generator: complete}}}
traits:
  a: [fresh, spent]
  b: [unseen, seen]
  c: [none, low, high]
transitions:
  - {name: decay, from: {a: fresh}, to: {a: spent}, rate: 1.0}
  - name: notice
    from: {b: unseen}
    to: {b: seen}
    rate: 0.1
    modulated_by: [{signal: smoothed, gain: 0.002}]
  - name: sort
    from: {c: none}
    to:
      - {state: {c: high}, p: {signal: share_high}}
      - {state: {c: low}, p: rest}
    rate: 0.5
signals:
  decays: {kind: flow, transitions: [decay], per: agents}
  smoothed: {kind: average, of: decays, half_life: 0.5}
  share_high: {kind: value, value: 0.3}
interventions:
  more_high: {kind: set, signal: share_high, value: 0.8, at: 4}
"""


def test_signals_flow_average_modulation_and_outcome_probabilities():
    """Signals in the dt -> 0 limit, against closed forms.

    The decay a = exp(-t) makes a flow F = N e^-t (agents per unit time); its moving
    average with half-life h obeys A' = lam (F - A), lam = ln 2 / h, so
    A = N lam / (lam - 1) (e^-t - e^-lam t). `notice` has hazard 0.1 (1 + g A), so
    P(seen at T) = 1 - exp(-0.1 (T + g int_0^T A)). `sort` sends a share p(t) of its
    movers to `high`, p = 0.3 before t = 4 and 0.8 after (a `set` intervention), so
    high(T) = 0.3 (1 - e^-2) + 0.8 (e^-2 - e^-0.5T) at rate 0.5. All to the integrator's
    accuracy.
    """
    sc = parse_scenario(SIGNALS)
    T, n, g, lam = 12.0, 1000, 0.002, np.log(2) / 0.5
    df = solve_meanfield(sc, times=[0.0, 4.0, T])
    int_a = n * lam / (lam - 1) * ((1 - np.exp(-T)) - (1 - np.exp(-lam * T)) / lam)
    yes = 1 - np.exp(-0.1 * (T + g * int_a))
    assert final(df, "b", "seen") == pytest.approx(yes, abs=1e-6)
    high = 0.3 * (1 - np.exp(-2.0)) + 0.8 * (np.exp(-2.0) - np.exp(-0.5 * T))
    assert final(df, "c", "high") == pytest.approx(high, abs=1e-6)
    assert final(df, "c", "none") + final(df, "c", "low") + high == pytest.approx(1.0, abs=1e-9)


def test_threshold_rule_beside_others_on_a_complete_graph():
    """On a complete graph the share of adopting neighbours is the population share, so a
    10 % threshold is met by everyone at once when 15 % start active, and by nobody when
    5 % do (as in the kernel, where every inactive agent sees exactly 10 of 199)."""
    text = """
name: threshold beside others
time: {dt: 0.1, until: 10}
population: {agents: 200}
network: {layers: {everyone: {generator: complete}}}
traits:
  opinion: [inactive, active]
  mood: [calm, bored]
seed:
  - {state: {opinion: active}, fraction: SHARE}
transitions:
  - name: adopt
    from: {opinion: inactive}
    to: {opinion: active}
    rate: 1.0
    threshold: {layer: everyone, state: {opinion: active}, fraction: 0.1}
  - {name: yawn, from: {mood: calm}, to: {mood: bored}, rate: 0.2}
"""
    many = solve_meanfield(parse_scenario(text.replace("SHARE", "0.15")))
    few = solve_meanfield(parse_scenario(text.replace("SHARE", "0.05")))
    assert final(many, "opinion", "active") > 0.999
    assert final(few, "opinion", "active") == pytest.approx(0.05, abs=1e-9)
    assert final(few, "mood", "bored") == pytest.approx(1 - np.exp(-2.0), abs=1e-6)


@pytest.mark.slow
def test_flagship_scenario_has_a_mean_field():
    """The WeChat scenario (signals, thresholds, broadcasts, daily rhythm) solves; agents are
    conserved per trait and the leak reaches some people but not everyone."""
    sc = rs.load(SCENARIOS / "wechat_leak_2016.yaml")
    df = solve_meanfield(sc)
    sums = df.groupby(["time", "trait"]).fraction.sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-6)
    unaware = final(df, "link", "unaware")
    assert 0.05 < unaware < 0.99


def test_unknown_method_is_a_user_error():
    with pytest.raises(MeanFieldError, match="homogeneous or degree"):
        solve_meanfield(rs.load(SCENARIOS / "classic" / "sis.yaml"), method="pairwise")


# ------------------------------------------------------------------ command line


def _invoke(*args):
    from click.testing import CliRunner

    from rumorsim.cli import cli

    res = CliRunner().invoke(cli, [str(a) for a in args])
    return res.exit_code, " ".join(res.output.split())


def test_cli_meanfield_writes_table_and_figure_and_refuses_to_overwrite(tmp_path):
    sir = SCENARIOS / "classic" / "sir.yaml"
    code, out = _invoke("meanfield", sir, "-o", tmp_path / "mf", "--set", "population.agents=2000")
    assert code == 0, out
    df = pd.read_csv(tmp_path / "mf" / "meanfield.csv")
    assert list(df.columns) == ["time", "trait", "state", "fraction", "people"]
    assert (tmp_path / "mf" / "meanfield.png").stat().st_size > 10_000
    code, out = _invoke("meanfield", sir, "-o", tmp_path / "mf")
    assert code == 2 and "nothing was" in out and "--overwrite" in out
    code, out = _invoke("meanfield", sir, "-o", tmp_path / "mf", "--overwrite", "--method", "degree",
                        "--set", "population.agents=2000")
    assert code == 0, out


def test_cli_meanfield_user_error_is_one_paragraph_exit_2(tmp_path):
    """Gleeson's equations need an undirected layer: a directed Watts model is refused."""
    code, out = _invoke("meanfield", SCENARIOS / "classic" / "watts_threshold.yaml", "-o", tmp_path / "x",
                        "--set", "network.layers.friends.directed=true")
    assert code == 2
    assert "undirected, unweighted layer" in out and "Traceback" not in out
    assert not (tmp_path / "x").exists()


def test_run_and_plot_meanfield_overlay(tmp_path):
    """run --meanfield writes meanfield.csv on the run's report grid; plot --meanfield adds it later."""
    small = ["--set", "population.agents=300", "--set", "time.until=15", "-r", "3", "-q"]
    sis = SCENARIOS / "classic" / "sis.yaml"
    code, out = _invoke("run", sis, "-o", tmp_path / "a", "--meanfield", *small)
    assert code == 0, out
    res = rs.read_run(tmp_path / "a")
    assert res.meanfield is not None
    np.testing.assert_allclose(np.unique(res.meanfield.time), res.times)
    code, out = _invoke("run", sis, "-o", tmp_path / "b", *small)
    assert code == 0 and not (tmp_path / "b" / "meanfield.csv").exists()
    code, out = _invoke("plot", tmp_path / "b", "--meanfield", "degree")
    assert code == 0, out
    assert (tmp_path / "b" / "meanfield.csv").exists()
    assert (tmp_path / "b" / "figures" / "traits.png").exists()


def test_new_commands_have_help():
    for cmd in (["meanfield"], ["animate"], ["run"], ["plot"]):
        code, out = _invoke(*cmd, "--help")
        assert code == 0 and "Usage" in out
    assert "--meanfield" in _invoke("run", "--help")[1]


def test_mean_field_is_the_large_population_limit_of_the_kernel():
    """SIR on a complete graph: the kernel's final size matches the equations.

    With R0 = 2 and exponential infectious periods the final share tau of a major outbreak
    is asymptotically normal (Andersson & Britton 2000, Thm 4.3) with
    N Var = tau (1 - tau) (1 + R0^2 (1 - tau)) / (1 - R0 (1 - tau))^2 = 0.83, so the mean of
    10 runs of 5,000 agents has sd 0.0041; Z = 4 gives 0.016. The steps of dt = 0.02 move
    the per-contact law by O(dt) = 0.02 x the hazards (< 0.005 on the final share), inside
    that. Ten seeds make a minor outbreak (prob (1/R0)^10 = 1e-3) practically impossible.
    """
    n = 5000
    sc = parse_scenario(sir_text(agents=n, layer="{generator: complete}", beta=2.0 / (n - 1),
                                 seeds="count: 10", until=40, dt=0.02))
    res = rs.run(sc, replicates=10, seed=11)
    sim = res.count_array({"health": "R"})[:, -1] / n
    mf = final(solve_meanfield(sc), "health", "R")
    tau = 0.7968
    var = tau * (1 - tau) * (1 + 4 * (1 - tau)) / (1 - 2 * (1 - tau)) ** 2 / n
    assert abs(sim.mean() - mf) < 4 * np.sqrt(var / 10)


@pytest.mark.slow
def test_degree_classes_are_capped_and_keep_each_layers_mean_degree():
    """Two heavy-tailed layers make thousands of joint degrees; the classes are binned to at
    most MAX_CLASSES and, being averages over their members, keep every layer's mean degree
    (and so the homogeneous limit) exactly."""
    from rumorsim.degreeclasses import MAX_CLASSES

    text = sir_text(agents=10000, beta=0.1, layer="{generator: configuration, degrees: "
                    "{kind: powerlaw, exponent: 1.8, min_degree: 2, max_degree: 1000}}")
    text = text.replace("    contacts:", "    other: {generator: configuration, degrees: {kind: powerlaw, "
                        "exponent: 1.8, min_degree: 2, max_degree: 1000}}\n    contacts:")
    text = text.replace("  - name: recovery", "  - name: relapse\n    from: {health: R}\n    to: {health: S}\n"
                        "    rate: 0.01\n    induced_by: {layer: other, state: {health: I}}\n  - name: recovery")
    sc = parse_scenario(text)
    net = build_network(sc.network, 10000, np.random.SeedSequence(1))
    cl = degree_classes(sc, net)
    joint = {tuple(r) for r in np.stack([ly.in_strength for ly in net.layers], axis=1)}
    assert len(joint) > MAX_CLASSES >= cl.n
    assert cl.prob.sum() == pytest.approx(1.0)
    for j, ly in enumerate(net.layers):
        assert cl.prob @ cl.d_in[:, j] == pytest.approx(ly.in_strength.mean(), rel=1e-12)


def test_daily_activity_scales_rates_hour_by_hour():
    """A decay at rate 0.1 per hour that follows a profile of 0 (night, 00-12 h) and 2
    (12-24 h) leaves exp(-0.1 x 2 x 12) = exp(-2.4) after one day from midnight, and nothing
    decays during the night."""
    text = """
name: daily rhythm
time: {dt: 0.05, until: 24, unit: hour, start: 2016-01-10T00:00:00+08:00,
       daily_activity: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]}
population: {agents: 100}
network: {layers: {everyone: {generator: complete}}}
traits:
  mood: [fresh, tired]
transitions:
  - {name: tire, from: {mood: fresh}, to: {mood: tired}, rate: 0.1}
"""
    df = solve_meanfield(parse_scenario(text), times=[0.0, 12.0, 24.0])
    fresh = series(df, "mood", "fresh")
    assert fresh.loc[12.0] == pytest.approx(1.0, abs=1e-9)
    assert fresh.loc[24.0] == pytest.approx(np.exp(-2.4), abs=1e-7)


def test_top_degree_seeds_go_to_the_hubs_on_the_degree_method():
    """Seeding the 1 % best-connected agents (top_degree) fills the top degree classes.

    New infections start at beta x N^-1 sum_seeded (k - 1) / <k> x sum_unseeded k / N
    (the force of infection along edges, times the susceptibles' edges), so against
    random seeds (a 1 % share of every class) the first rate of infection is in the
    ratio [sum_top (k - 1) x sum_rest k] / [0.01 sum_all (k - 1) x 0.99 sum_all k]. It is
    checked on the infections of the first 0.01 time units, where the rate changes by
    less than 1 % (growth rate beta <k^2>/<k> ~ 10 per unit: 0.01 x 10 x 1 % seeds).
    """
    n = 5000
    text = sir_text(agents=n, layer="{generator: barabasi_albert, m: 2}", beta=0.3, until=1,
                    seeds="fraction: 0.01")
    rand = parse_scenario(text)
    hubs = parse_scenario(text.replace("fraction: 0.01}", "fraction: 0.01, strategy: top_degree}"))
    net = build_network(rand.network, n, np.random.SeedSequence(2))
    k = np.sort(net.layers[0].degree().astype(float))[::-1]
    top, rest = k[: n // 100], k[n // 100:]
    expected = (np.sum(top - 1) * rest.sum()) / (0.01 * np.sum(k - 1) * 0.99 * k.sum())

    def new_infections(sc):
        s = series(solve_meanfield(sc, method="degree", network=net, times=[0.0, 0.01]), "health", "S")
        return s.loc[0.0] - s.loc[0.01]

    assert expected > 3  # hubs matter on a Barabasi-Albert graph
    assert new_infections(hubs) / new_infections(rand) == pytest.approx(expected, rel=0.02)
