"""Results: tidy tables, outcomes, summary, and the run directory.

The engine is not needed: the fixtures build a synthetic ``RawRun`` by hand. Two
examples: a small SIR table (3 replicates, 11 report times) whose numbers can be
checked by hand, and a WeChat-like crisis (link spread, rumor, card unbinding, server
overload) produced by a tiny numpy agent model, with signals, outcomes, interventions,
a dashboard and a clock start. ``test_plots`` and ``test_report`` reuse the builders.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Tuple

import numpy as np
import pandas as pd
import pytest
import yaml

from rumorsim.errors import OutputError, ScenarioError
from rumorsim.modelinfo import InterventionMarker, ModelInfo
from rumorsim.results import BAND_PERCENTILES, RawRun, Results
from rumorsim.rundir import read_run, redraw_figures, write_run
from rumorsim.scenario import Scenario

# ------------------------------------------------------------------ builders


def _info(scenario: Scenario, events: Tuple[Tuple[str, str], ...], times: np.ndarray) -> ModelInfo:
    traits = tuple((t, tuple(s)) for t, s in scenario.traits.items())
    joint = np.array(list(itertools.product(*[range(len(s)) for _, s in traits])), dtype=np.int64)
    sigs = scenario.signals
    return ModelInfo(
        traits=traits,
        joint_states=joint,
        event_names=tuple(e for e, _ in events),
        event_kinds=tuple(k for _, k in events),
        signal_names=tuple(sigs),
        signal_labels=tuple(s.label or n for n, s in sigs.items()),
        signal_units=tuple(s.unit or "" for s in sigs.values()),
        signal_alert_above=np.array([np.nan if s.alert_above is None else s.alert_above
                                     for s in sigs.values()], dtype=float),
        interventions=tuple(InterventionMarker(n, iv.label or n, iv.kind, iv.at, iv.until)
                            for n, iv in scenario.interventions.items()),
        report_times=times,
    )


SIR_YAML = """
name: SIR test
description: Hand-made SIR table.
time: {dt: 1, until: 10, unit: day, report_every: 1}
population: {agents: 100, represents: 1000}
network: {layers: {contacts: {generator: erdos_renyi, mean_degree: 4}}}
traits: {health: [S, I, R]}
transitions:
  - {name: infect, from: {health: S}, to: {health: I}, rate: 0.5,
     induced_by: {layer: contacts, state: {health: I}}}
  - {name: recover, from: {health: I}, to: {health: R}, rate: 0.3}
"""


def sir_results(replicates: int = 3, seed: int = 0, represents: float | None = 1000) -> Results:
    """3 replicates x 11 report times of a chain-binomial SIR on 100 agents."""
    data = yaml.safe_load(SIR_YAML)
    if represents is None:
        del data["population"]["represents"]
    sc = Scenario.model_validate(data)
    times = np.arange(11, dtype=float)
    rng = np.random.default_rng(seed)
    R_, T, N = replicates, len(times), 100
    counts = np.zeros((R_, T, 3), dtype=np.int32)
    fired = np.zeros((R_, T, 2), dtype=np.int64)
    for r in range(R_):
        s, i, rec, ninf, nrec = N - 2, 2, 0, 0, 0
        for t in range(T):
            counts[r, t] = (s, i, rec)
            fired[r, t] = (ninf, nrec)
            new_i = rng.binomial(s, 1 - np.exp(-0.8 * i / N))
            new_r = rng.binomial(i, 1 - np.exp(-0.3))
            s, i, rec = s - new_i, i + new_i - new_r, rec + new_r
            ninf, nrec = ninf + new_i, nrec + new_r
    raw = RawRun(
        counts=counts, fired=fired, signals=np.zeros((R_, T, 0)),
        signal_peak=np.zeros((R_, 0)), signal_peak_time=np.zeros((R_, 0)),
        signal_time_above=np.zeros((R_, 0)), steps_run=np.full(R_, 10, dtype=np.int64),
        replicate_seeds=np.arange(R_ * 4, dtype=np.uint64).reshape(R_, 4), wall_seconds=0.01,
    )
    info = _info(sc, (("infect", "transition"), ("recover", "transition")), times)
    return Results(sc, info, raw, {"contacts": {"n_agents": 100, "mean_degree": 4.0}},
                   {"version": "test", "seed": seed, "command": "pytest"})


WECHAT_YAML = """
name: WeChat leak to rumor (synthetic)
description: >-
  The "My WeChat story" link leaks the evening before launch, spreads through Moments,
  overloads the servers; failed loads feed the rumor that the link steals money, and
  believers unbind their bank cards. Synthetic numbers for tests <not real data>.
assumptions:
  - Spread is peer to peer only (no push, no share button).
  - Failed page loads make the rumor more credible.
  - 2,000 agents stand for 400 M payment users.
time: {dt: 0.1, until: 36, unit: hour, report_every: 0.5, start: "2016-01-10T20:00:00+08:00"}
population: {agents: 2000, represents: 400000000}
network: {layers: {friends: {generator: erdos_renyi, mean_degree: 8}}}
traits:
  link: [unaware, exposed, visited, shared]
  rumor: [ignorant, believer, skeptic]
  card: [bound, unbound]
transitions:
  - {name: see_moments, from: {link: unaware}, to: {link: exposed}, rate: 0.12,
     induced_by: {layer: friends, state: {link: shared}}}
  - name: visit
    from: {link: exposed}
    to: [{state: {link: visited}, p: {signal: failure, complement: true}},
         {state: {link: exposed}, p: rest}]
    rate: 0.6
  - {name: share, from: {link: visited}, to: {link: shared}, rate: 0.3}
  - {name: believe, from: {rumor: ignorant}, to: {rumor: believer}, rate: 0.08,
     induced_by: {layer: friends, state: {rumor: believer}},
     modulated_by: [{signal: failure, gain: 2.0}]}
  - {name: doubt, from: {rumor: believer}, to: {rumor: skeptic}, rate: 0.02}
  - {name: unbind, from: {rumor: believer, card: bound}, to: {card: unbound}, rate: 0.08}
  - {name: rebind, from: {rumor: skeptic, card: unbound}, to: {card: bound}, rate: 0.06}
signals:
  demand: {kind: flow, transitions: [visit], label: page demand, unit: page loads / hour}
  capacity: {kind: value, value: 15000000, label: server capacity, unit: page loads / hour}
  failure: {kind: overload, demand: demand, capacity: capacity, label: failed page loads,
            unit: share of loads, alert_above: 0.2}
interventions:
  media_debunk: {kind: broadcast, at: 3, reach: 0.3, label: media debunk,
                 effects: [{from: {rumor: believer}, to: {rumor: skeptic}, p: 0.5}]}
  scale_servers: {kind: scale, at: 4, signal: capacity, factor: 2, label: servers x2}
  transfer_notice: {kind: scale, at: 6, until: 30, transition: unbind, factor: 0.3,
                    label: notice on transfer page}
  founder_on_stage: {kind: broadcast, at: 16, reach: 0.6, label: founder on stage,
                     effects: [{from: {rumor: believer}, to: {rumor: skeptic}, p: 0.7}]}
outcomes:
  peak_believers: {label: peak believers, peak: {rumor: believer}}
  cards_unbound: {label: cards ever unbound, ever: [unbind]}
  still_unbound: {label: cards still unbound at the end, final: {card: unbound}}
  failure_peak: {label: peak failed-load share, signal_peak: failure}
  hours_overloaded: {label: time with over 20 % failed loads, time_above: failure}
  belief_peak_time: {label: time of peak belief, time_of_peak: {rumor: believer}}
dashboard:
  - title: The link spreads through Moments
    series:
      - {state: {link: exposed}, label: "saw it, not opened"}
      - {state: {link: [visited, shared]}, label: opened it}
      - {fired: [share], label: shared (cumulative)}
  - title: The rumor
    series:
      - {state: {rumor: believer}, label: believers}
      - {state: {rumor: skeptic}, label: skeptics}
  - title: Bank cards
    series:
      - {state: {card: unbound}, label: unbound now}
      - {fired: [unbind], label: ever unbound}
  - title: Servers
    ylabel: page loads / hour
    right_ylabel: failed loads
    series:
      - {signal: demand, label: demand}
      - {signal: capacity, label: capacity}
      - {signal: failure, label: failed share, axis: right}
run: {replicates: 5, seed: 7}
"""

WECHAT_EVENTS = (("see_moments", "transition"), ("visit", "transition"), ("share", "transition"),
                 ("believe", "transition"), ("doubt", "transition"), ("unbind", "transition"),
                 ("rebind", "transition"), ("media_debunk", "intervention"),
                 ("founder_on_stage", "intervention"))


def wechat_layer(n: int = 2000, k: int = 8, seed: int = 3) -> SimpleNamespace:
    """A random directed layer in CSR form (k in-neighbours each), like network.py's."""
    rng = np.random.default_rng(seed)
    nbrs = rng.integers(0, n, size=(n, k))
    return SimpleNamespace(indptr=np.arange(0, n * k + 1, k, dtype=np.int64),
                           indices=nbrs.reshape(-1).astype(np.int32), n_agents=n)


def wechat_results(replicates: int = 5, seed: int = 7, *, debunk_at: float = 3.0,
                   capacity_factor: float = 2.0, n_agents: int = 2000) -> Results:
    """The WeChat-like crisis from a tiny numpy agent model (one move per trait per step)."""
    data = yaml.safe_load(WECHAT_YAML)
    data["interventions"]["media_debunk"]["at"] = debunk_at
    data["interventions"]["scale_servers"]["factor"] = capacity_factor
    data["population"]["agents"] = n_agents
    sc = Scenario.model_validate(data)
    dt, until = sc.time.dt, sc.time.until
    n_steps = int(round(until / dt))
    every = int(round(sc.time.report_every / dt))
    times = np.arange(0, n_steps + 1, every) * dt
    ppa = sc.population.people_per_agent
    nbrs = wechat_layer(n_agents).indices.reshape(n_agents, -1)
    E = {e: i for i, (e, _) in enumerate(WECHAT_EVENTS)}
    R_, T = replicates, len(times)
    counts = np.zeros((R_, T, 24), dtype=np.int32)
    fired = np.zeros((R_, T, len(E)), dtype=np.int64)
    sig = np.zeros((R_, T, 3))
    peak = np.full((R_, 3), -np.inf)
    peak_t = np.zeros((R_, 3))
    above = np.zeros((R_, 3))
    rng = np.random.default_rng(seed)
    for r in range(R_):
        link = np.zeros(n_agents, np.int64)
        rumor = np.zeros(n_agents, np.int64)
        card = np.zeros(n_agents, np.int64)
        link[rng.choice(n_agents, 5, replace=False)] = 3
        cum = np.zeros(len(E), np.int64)

        def signals(t: float) -> np.ndarray:
            demand = (link == 1).sum() * 0.6 * ppa
            cap = 1.5e7 * (capacity_factor if t >= 4 else 1.0)
            return np.array([demand, cap, max(0.0, 1 - cap / demand) if demand > 0 else 0.0])

        for step in range(n_steps + 1):
            t = step * dt
            s = signals(t)
            if step % every == 0:
                k = step // every
                counts[r, k] = np.bincount(link * 6 + rumor * 2 + card, minlength=24)
                fired[r, k] = cum
                sig[r, k] = s
            better = s > peak[r]
            peak[r, better], peak_t[r, better] = s[better], t
            if step == n_steps:
                break
            above[r, 2] += dt * (s[2] > 0.2)
            if abs(t - 1.5) < dt / 2:  # the rumor starts 90 minutes in
                rumor[rng.choice(n_agents, 20, replace=False)] = 1
            for name, iv in sc.interventions.items():
                if iv.kind == "broadcast" and abs(t - iv.at) < dt / 2:
                    hit = (rng.random(n_agents) < iv.reach) & (rumor == 1)
                    hit &= rng.random(n_agents) < iv.effects[0].p
                    rumor[hit] = 2
                    cum[E[name]] += hit.sum()
            u = rng.random((3, n_agents))
            n_shared = (link[nbrs] == 3).sum(1)
            n_believe = (rumor[nbrs] == 1).sum(1)
            h_link = np.select([link == 0, link == 1, link == 2], [0.8 * n_shared, 0.6, 0.3], 0.0)
            go = u[0] < 1 - np.exp(-h_link * dt)
            visit_ok = rng.random(n_agents) >= s[2]
            cum[E["see_moments"]] += (go & (link == 0)).sum()
            cum[E["visit"]] += (go & (link == 1)).sum()
            cum[E["share"]] += (go & (link == 2)).sum()
            link = np.where(go & ((link != 1) | visit_ok), np.minimum(link + 1, 3), link)
            heard = link > 0
            h_rum = np.select([(rumor == 0) & heard, rumor == 1],
                              [0.25 * n_believe * (1 + 2 * s[2]), 0.02], 0.0)
            go = u[1] < 1 - np.exp(-h_rum * dt)
            cum[E["believe"]] += (go & (rumor == 0)).sum()
            cum[E["doubt"]] += (go & (rumor == 1)).sum()
            rumor = np.where(go, rumor + 1, rumor)
            notice = 0.3 if 6 <= t < 30 else 1.0
            h_card = np.select([(card == 0) & (rumor == 1), (card == 1) & (rumor == 2)],
                               [0.08 * notice, 0.06], 0.0)
            go = u[2] < 1 - np.exp(-h_card * dt)
            cum[E["unbind"]] += (go & (card == 0)).sum()
            cum[E["rebind"]] += (go & (card == 1)).sum()
            card = np.where(go, 1 - card, card)
    raw = RawRun(
        counts=counts, fired=fired, signals=sig, signal_peak=peak, signal_peak_time=peak_t,
        signal_time_above=above, steps_run=np.full(R_, n_steps, dtype=np.int64),
        replicate_seeds=np.arange(R_ * 4, dtype=np.uint64).reshape(R_, 4), wall_seconds=0.5,
    )
    info = _info(sc, WECHAT_EVENTS, times)
    stats = {"friends": {"n_agents": n_agents, "n_edges": n_agents * 8, "mean_degree": 8.0,
                         "generator": "synthetic"}}
    prov = {"version": "0.1.0+test", "seed": seed, "command": "rumorsim run wechat --seed 7",
            "timings": {"build_network_s": 0.01, "kernel_s": 0.5}}
    return Results(sc, info, raw, stats, prov)


@pytest.fixture(scope="module")
def sir() -> Results:
    return sir_results()


@pytest.fixture(scope="module")
def wechat() -> Results:
    return wechat_results()


# --------------------------------------------------------------- tidy frames


def test_tidy_frames_have_the_documented_columns(wechat: Results) -> None:
    assert list(wechat.timeseries.columns) == ["replicate", "time", "trait", "state", "count", "people"]
    assert list(wechat.signals.columns) == ["replicate", "time", "signal", "value"]
    assert list(wechat.fired.columns) == ["replicate", "time", "event", "count", "people"]
    assert list(wechat.transitions.columns) == ["replicate", "event", "kind", "fired"]
    assert list(wechat.count_matching({"rumor": "believer"}).columns) == [
        "replicate", "time", "count", "people"]
    assert list(wechat.fired_total(["unbind"]).columns) == ["replicate", "time", "count", "people"]
    assert list(wechat.signal("failure").columns) == ["replicate", "time", "value"]
    assert wechat.timeseries is wechat.timeseries  # computed once


@pytest.mark.parametrize("make", [sir_results, wechat_results])
def test_timeseries_conserves_agents_in_every_trait(make) -> None:
    res = make()
    sums = res.timeseries.groupby(["replicate", "time", "trait"])["count"].sum()
    assert (sums == res.n_agents).all()
    assert len(sums) == res.n_replicates * len(res.times) * len(res.info.traits)


def test_people_are_agents_times_people_per_agent(sir: Results) -> None:
    ts = sir.timeseries
    assert sir.people_per_agent == 10.0
    np.testing.assert_array_equal(ts["people"], ts["count"] * 10.0)
    i_rep1 = ts[(ts.replicate == 1) & (ts.state == "I")]["count"].to_numpy()
    np.testing.assert_array_equal(i_rep1, sir.raw.counts[1, :, 1])


def test_count_matching_over_two_traits_reads_joint_states(wechat: Results) -> None:
    both = wechat.count_array({"rumor": "believer", "card": "unbound"})
    # joint code = link*6 + rumor*2 + card (itertools.product order)
    codes = [l * 6 + 1 * 2 + 1 for l in range(4)]
    np.testing.assert_array_equal(both, wechat.raw.counts[:, :, codes].sum(axis=2))
    assert (both <= wechat.count_array({"card": "unbound"})).all()
    either = wechat.count_array({"link": ["visited", "shared"]})
    np.testing.assert_array_equal(
        either, wechat.count_array({"link": "visited"}) + wechat.count_array({"link": "shared"}))


def test_fired_and_transitions_totals(wechat: Results) -> None:
    tr = wechat.transitions
    unbind = tr[tr.event == "unbind"].sort_values("replicate")["fired"].to_numpy()
    np.testing.assert_array_equal(unbind, wechat.raw.fired[:, -1, 5])
    assert set(tr.kind) == {"transition", "intervention"}
    tot = wechat.fired_total(["unbind", "rebind"])
    np.testing.assert_array_equal(tot["count"].to_numpy().reshape(5, -1),
                                  wechat.raw.fired[:, :, 5] + wechat.raw.fired[:, :, 6])


def test_unknown_names_are_scenario_errors_with_a_suggestion(wechat: Results) -> None:
    with pytest.raises(ScenarioError, match="believer"):
        wechat.count_matching({"rumor": "beliver"})
    with pytest.raises(ScenarioError, match="rumor"):
        wechat.count_matching({"rumour": "believer"})
    with pytest.raises(ScenarioError, match="unbind"):
        wechat.fired_total(["unbnd"])
    with pytest.raises(ScenarioError, match="failure"):
        wechat.signal("failures")


# ------------------------------------------------------------ outcomes, summary


def test_outcome_values_follow_each_kind(wechat: Results) -> None:
    ov = wechat.outcome_values().pivot(index="replicate", columns="outcome", values="value")
    ppa = wechat.people_per_agent
    c = wechat.raw.counts
    believers = c[:, :, [l * 6 + 2 + k for l in range(4) for k in range(2)]].sum(axis=2)
    unbound = c[:, :, 1::2].sum(axis=2)
    np.testing.assert_allclose(ov["peak_believers"], believers.max(axis=1) * ppa)
    np.testing.assert_allclose(ov["belief_peak_time"], wechat.times[believers.argmax(axis=1)])
    np.testing.assert_allclose(ov["still_unbound"], unbound[:, -1] * ppa)
    np.testing.assert_allclose(ov["cards_unbound"], wechat.raw.fired[:, -1, 5] * ppa)
    np.testing.assert_allclose(ov["failure_peak"], wechat.raw.signal_peak[:, 2])
    np.testing.assert_allclose(ov["hours_overloaded"], wechat.raw.signal_time_above[:, 2])
    # the synthetic crisis is a crisis: overload happened, cards were unbound
    assert (ov["failure_peak"] > 0.2).all() and (ov["cards_unbound"] > 0).all()


def test_default_outcomes_are_final_and_peak_people_of_every_state(sir: Results) -> None:
    ov = sir.outcome_values()
    names = set(ov.outcome)
    assert names == {f"{k}_health_{s}" for k in ("final", "peak") for s in "SIR"}
    got = ov[ov.outcome == "final_health_R"].sort_values("replicate")["value"].to_numpy()
    np.testing.assert_array_equal(got, sir.raw.counts[:, -1, 2] * 10.0)
    tab = sir.outcome_table()
    assert list(tab.columns) == ["outcome", "label", "kind", "unit", "median", "low", "high"]
    assert set(tab.unit) == {"people"}


def test_summary_numbers_are_hand_computed_percentiles(sir: Results) -> None:
    s = sir.summary()
    json.dumps(s, allow_nan=False)  # strictly JSON
    assert s["n_replicates"] == 3
    assert s["scale"] == {"agents": 100, "represents": 1000.0, "people_per_agent": 10.0}
    assert "median" in s["ensemble_statistics"] and "p5" in s["ensemble_statistics"]
    assert BAND_PERCENTILES == (5.0, 50.0, 95.0)
    final_r = sir.raw.counts[:, -1, 2].astype(float)
    peak_i = sir.raw.counts[:, :, 1].max(axis=1).astype(float)
    e = s["ensemble"]["traits"]["health"]
    assert e["R"]["final_agents"]["median"] == float(np.median(final_r))
    assert e["R"]["final_agents"]["p5"] == pytest.approx(
        np.sort(final_r)[0] + 0.1 * (np.sort(final_r)[1] - np.sort(final_r)[0]))
    assert e["R"]["final_agents"]["p95"] == pytest.approx(np.percentile(final_r, 95))
    assert e["I"]["peak_people"]["median"] == float(np.median(peak_i)) * 10
    assert e["I"]["peak_time"]["median"] == float(
        np.median(sir.times[sir.raw.counts[:, :, 1].argmax(axis=1)]))
    rep2 = s["replicates"][2]
    assert rep2["traits"]["health"]["S"]["final_agents"] == float(sir.raw.counts[2, -1, 0])
    assert rep2["traits"]["health"]["S"]["final_people"] == float(sir.raw.counts[2, -1, 0]) * 10
    assert rep2["seed"] == [8, 9, 10, 11]
    o = s["ensemble"]["outcomes"]["final_health_R"]
    assert o["median"] == float(np.median(final_r)) * 10 and o["unit"] == "people"


def test_summary_signals_report_peak_time_and_time_above(wechat: Results) -> None:
    s = wechat.summary()
    json.dumps(s, allow_nan=False)
    f = s["ensemble"]["signals"]["failure"]
    assert f["alert_above"] == 0.2 and f["unit"] == "share of loads"
    assert f["peak"]["median"] == pytest.approx(np.median(wechat.raw.signal_peak[:, 2]))
    assert f["time_above_alert"]["p95"] == pytest.approx(
        np.percentile(wechat.raw.signal_time_above[:, 2], 95))
    # no alert level -> no time above (None, not 0)
    assert s["ensemble"]["signals"]["demand"]["time_above_alert"]["median"] is None
    assert s["time"]["start"].startswith("2016-01-10T20:00:00")


# ------------------------------------------------------------- run directory


def _no_leftovers(parent: Path) -> None:
    hidden = [p.name for p in parent.iterdir() if p.name.startswith(".")]
    assert hidden == [], f"temporary files left behind: {hidden}"


def test_write_refuses_a_non_empty_directory(tmp_path: Path, sir: Results) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    with pytest.raises(OutputError) as err:
        write_run(sir, run, figures=False)
    msg = str(err.value)
    assert str(run) in msg and "--overwrite" in msg and "-o" in msg
    assert [p.name for p in run.iterdir()] == ["notes.txt"]
    _no_leftovers(tmp_path)
    # --overwrite will not delete a directory that is not a run directory
    with pytest.raises(OutputError, match="does not look like"):
        write_run(sir, run, overwrite=True, figures=False)
    assert (run / "notes.txt").read_text() == "mine"


def test_write_into_an_empty_directory_and_overwrite_a_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    write_run(sir_results(seed=1), run, figures=False)
    with pytest.raises(OutputError):
        write_run(sir_results(seed=2), run, figures=False)
    write_run(sir_results(seed=2), run, overwrite=True, figures=False)
    assert read_run(run).provenance["seed"] == 2
    _no_leftovers(tmp_path)


def test_interrupted_write_leaves_nothing(tmp_path: Path, sir: Results, monkeypatch) -> None:
    def boom(res: Results, d: Path, *, figures: bool) -> None:
        (d / "timeseries.csv").write_text("half")
        raise KeyboardInterrupt

    import rumorsim.rundir

    monkeypatch.setattr(rumorsim.rundir, "_write_into", boom)
    with pytest.raises(KeyboardInterrupt):
        write_run(sir, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    _no_leftovers(tmp_path)


def test_run_directory_contents(tmp_path: Path, wechat: Results) -> None:
    run = write_run(wechat, tmp_path / "out" / "wechat")
    names = {p.name for p in run.iterdir()}
    for f in ("scenario.yaml", "timeseries.csv", "signals.csv", "transitions.csv", "fired.csv",
              "outcomes.csv", "summary.json", "provenance.json", "raw.npz", "model_info.json"):
        assert f in names, f
    figs = {p.name for p in (run / "figures").iterdir()}
    for f in ("traits", "dashboard", "signals"):
        assert {f"{f}.png", f"{f}.svg"} <= figs
    assert (run / "figures" / "dashboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["command"] == "rumorsim run wechat --seed 7"
    assert prov["network_stats"]["friends"]["n_edges"] == 16000
    assert json.loads((run / "summary.json").read_text())["n_replicates"] == 5
    scen = yaml.safe_load((run / "scenario.yaml").read_text())
    assert scen["transitions"][0]["from"] == {"link": "unaware"}  # by alias
    _no_leftovers(run.parent)


def test_sir_run_has_no_signal_files(tmp_path: Path, sir: Results) -> None:
    run = write_run(sir, tmp_path / "sir")
    assert not (run / "signals.csv").exists()
    assert {p.name for p in (run / "figures").iterdir()} == {"traits.png", "traits.svg"}


def test_load_round_trips_frames_exactly(tmp_path: Path, wechat: Results) -> None:
    run = write_run(wechat, tmp_path / "run", figures=False)
    back = read_run(run)
    for name in ("timeseries", "signals", "fired", "transitions"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(wechat, name), check_exact=True)
    pd.testing.assert_frame_equal(back.outcome_values(), wechat.outcome_values(), check_exact=True)
    assert back.summary() == wechat.summary()
    assert back.scenario == wechat.scenario
    assert back.network_stats == wechat.network_stats
    assert back.provenance == wechat.provenance
    assert back.info.interventions == wechat.info.interventions


def test_csv_and_parquet_hold_the_same_tables(tmp_path: Path, wechat: Results) -> None:
    import pyarrow  # noqa: F401  (the `test` extra installs it: no silent CSV-only pass)

    run = write_run(wechat, tmp_path / "run", figures=False)
    # per-report tables are stored compactly (see test_compact); here as in memory
    tables = {**wechat.compact_tables(), "transitions": wechat.transitions}
    for name in ("timeseries", "signals", "fired", "transitions"):
        frame = tables[name]
        csv = pd.read_csv(run / f"{name}.csv")
        pd.testing.assert_frame_equal(csv, frame, check_dtype=False, check_exact=True)
        pq = pd.read_parquet(run / f"{name}.parquet")
        pd.testing.assert_frame_equal(pq, frame, check_exact=True)
    assert (run / "outcomes.parquet").exists()


def test_load_reports_a_missing_file(tmp_path: Path, sir: Results) -> None:
    run = write_run(sir, tmp_path / "run", figures=False)
    (run / "raw.npz").unlink()
    with pytest.raises(OutputError, match="raw.npz"):
        read_run(run)


def test_redraw_figures_replaces_files_atomically(tmp_path: Path, sir: Results) -> None:
    run = write_run(sir, tmp_path / "run", figures=False)

    written = redraw_figures(run)
    assert {p.name for p in written} == {"traits.png", "traits.svg"}
    _no_leftovers(run / "figures")
    before = (run / "figures" / "traits.svg").read_bytes()
    redraw_figures(run)
    assert (run / "figures" / "traits.svg").read_bytes() == before  # deterministic SVG
