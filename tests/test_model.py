"""Compiling scenarios: joint states, schedules, the activity clock, dynamic vs calendar paths.

The kernel treats agents two ways (see simulator/kernel.py): *static* agents get a firing
step drawn once from the per-step law (a calendar), *dynamic* ones are tried every step.
Both must realise the same law; these tests check it against the closed form
P(not fired by step K) = exp(-h * sum_{j<K} a_j dt).
"""

from __future__ import annotations

import numpy as np
import pytest

import rumorsim as rs
from rumorsim.model import _JointStates

DECAY = """
name: decay with a daily rhythm
time: {dt: 0.25, until: 48, unit: hour, start: 2016-01-10T00:00+08:00, report_every: 1,
       daily_activity: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1]}
population: {agents: 20000}
network:
  layers:
    none: {generator: erdos_renyi, mean_degree: 0.0001}
traits:
  x: [a, b]
signals:
  zero: {kind: value, value: 0}
transitions:
  - name: decay
    from: {x: a}
    to: {x: b}
    rate: 0.1
"""


def _decayed_fraction(res) -> np.ndarray:
    return res.raw.counts[:, :, 1].mean(axis=0) / res.scenario.population.agents


def _closed_form(sc) -> np.ndarray:
    from rumorsim.model import _activity_clock

    _, clock = _activity_clock(sc)
    steps = np.round(np.arange(0, 49) / sc.time.dt).astype(int)
    return 1 - np.exp(-0.1 * clock[steps])


MODULATED = "    rate: 0.1\n    modulated_by: [{signal: %s, gain: 1}]\n"
EXTRA_SIGNALS = """  everyone: {kind: count, state: {x: [a, b]}}
  unbounded: {kind: ratio, numerator: zero, denominator: everyone}
interventions:
  later: {kind: set, signal: zero, value: 1, at: 48}
"""


@pytest.mark.parametrize("path", ["calendar", "thinned", "per_step"])
def test_daily_activity_follows_the_exact_per_step_law(write, path):
    """Same law on all three kernel paths (the modulation multiplies by 1 throughout)."""
    text = DECAY.replace("transitions:", EXTRA_SIGNALS + "transitions:")
    if path == "thinned":  # bounded by 2 (the signal is set to 1 at the very end)
        text = text.replace("    rate: 0.1\n", MODULATED % "zero")
    if path == "per_step":  # a ratio over a count has no useful bound: tried every step
        text = text.replace("    rate: 0.1\n", MODULATED % "unbounded")
    sc = rs.load(write("decay.yaml", text))
    res = rs.run(sc, replicates=4, seed=3, workers=1)
    arrays = res.model.kernel_args
    assert arrays.dyn_state[0] == (1 if path == "per_step" else 0)  # dyn_state of `a`
    assert arrays.tr_mod_max[0] == {"calendar": 1.0, "thinned": 2.0, "per_step": np.inf}[path]
    sim, theory = _decayed_fraction(res), _closed_form(sc)
    # 80 000 Bernoulli outcomes per point: sd <= 0.5/sqrt(8e4) = 0.0018; 5 sd.
    assert np.abs(sim - theory).max() < 5 * 0.5 / np.sqrt(80000)
    # nothing happens at night: no change between 00:00 and 08:00 on day two
    night = res.raw.counts[:, 24:33, 1]
    assert (night == night[:, :1]).all()


def test_joint_states_are_mixed_radix_with_first_trait_fastest():
    js = _JointStates({"link": ["unaware", "saw", "shared"], "card": ["bound", "unbound"]})
    assert js.n == 6
    assert js.table.tolist() == [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]]
    assert js.mask({"card": "unbound"}).tolist() == [0, 0, 0, 1, 1, 1]
    assert js.target({"link": "shared"}).tolist() == [2, 2, 2, 5, 5, 5]


def test_interventions_make_rate_segments(write):
    text = DECAY.replace("daily_activity", "x_daily").replace(
        "report_every: 1,\n       x_daily: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1]}",
        "report_every: 1}",
    ) + ("interventions:\n  pause: {kind: set, transition: decay, value: 0, at: 10, until: 20}\n"
         "  boost: {kind: scale, transition: decay, factor: 3, at: 30}\n")
    sc = rs.load(write("seg.yaml", text))
    res = rs.run(sc, replicates=2, seed=1, workers=1)
    seg_start, seg_hazard = res.model.kernel_args.seg_start, res.model.kernel_args.seg_hazard
    assert seg_start.tolist() == [0, 40, 80, 120]
    assert seg_hazard[:, 0].tolist() == [0.1, 0.0, 0.1, pytest.approx(0.3)]
    b = res.raw.counts[:, :, 1]
    assert (b[:, 10:21] == b[:, 10:11]).all()  # paused from hour 10 to 20


def test_seed_ids_on_an_edge_list_are_the_files_node_ids(write, tmp_path):
    (tmp_path / "e.txt").write_text("100 200\n200 300\n300 400\n")
    text = f"""
name: chain
time: {{dt: 1, until: 5}}
population: {{agents: 4}}
network:
  layers:
    chain: {{generator: edgelist, path: e.txt}}
traits:
  x: [a, b]
seed:
  - {{state: {{x: b}}, strategy: ids, ids: [300]}}
transitions: []
"""
    res = rs.run(rs.load(write("chain.yaml", text)), replicates=1, seed=0)
    node_ids = res.network.node_ids
    agent = int(np.nonzero(np.asarray(node_ids) == 300)[0][0])
    from rumorsim.engine import record_agent_states

    assert record_agent_states(res.model, 0, 0)[0].tolist() == [int(a == agent) for a in range(4)]


def test_a_thinned_modulated_rate_follows_its_signal_one_step_later(write):
    """Rates read the signals of the previous step: x2 from step 49 when the signal is set at hour 12."""
    text = DECAY.replace(
        "report_every: 1,\n       daily_activity: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1]}",
        "report_every: 1}",
    ).replace("transitions:", EXTRA_SIGNALS.replace("at: 48", "at: 12") + "transitions:")
    sc = rs.load(write("mod.yaml", text.replace("    rate: 0.1\n", MODULATED % "zero")))
    res = rs.run(sc, replicates=4, seed=5, workers=1)
    assert res.model.kernel_args.dyn_state[0] == 0 and res.model.kernel_args.tr_mod_max[0] == 2.0
    dt = sc.time.dt
    h = np.where(np.arange(sc.time.n_steps) >= 49, 0.2, 0.1)
    theory = 1 - np.exp(-np.concatenate([[0], np.cumsum(h * dt)])[np.round(np.arange(49) / dt).astype(int)])
    assert np.abs(_decayed_fraction(res) - theory).max() < 5 * 0.5 / np.sqrt(80000)
