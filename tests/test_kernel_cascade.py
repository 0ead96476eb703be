"""The one-step cascade path: the same bytes as the general kernel, where it applies.

``run_one_step_cascade`` claims to draw the same random numbers in the same order as
``run_replicate`` on the models it accepts, so every check here is exact: the two
functions, given the same arguments and the same seeds, must fill identical outputs
and return the same (steps run, edge visits). The cases cover what could break that
claim: seeds by count (few or many, among some states, by list), top-degree seeds, hubs
that fire more edges in one step than the path buffers, a cascade still running at
``until``, per-agent histories, several push transitions out of one state, two layers,
and a worker buffer reused across replicates. The statistical laws (bond percolation,
EoN) are checked in ``test_theory.py`` on whichever path the engine picks.
"""

from __future__ import annotations

import numpy as np
import pytest

import rumorsim as rs
import rumorsim.engine as engine
from rumorsim.kernel_cascade import is_one_step_cascade
from rumorsim.scenario import parse_scenario

IC = """
name: independent cascade
time: {dt: 1, until: UNTIL, unit: step, report_every: 1}
population: {agents: 3000}
network:
  layers:
    friends: {generator: barabasi_albert, m: 3}
traits:
  status: [inactive, active, spent]
seed:
  - SEED
transitions:
  - {name: activation, from: {status: inactive}, to: {status: active}, probability: P,
     induced_by: {layer: friends, state: {status: active}}}
  - {name: exhaustion, from: {status: active}, to: {status: spent}, probability: 1.0}
"""

SEEDS = {
    "few": "{state: {status: active}, count: 5, strategy: random}",
    "many": "{state: {status: active}, fraction: 0.3, strategy: random}",
    "hubs": "{state: {status: active}, count: 4, strategy: top_degree}",
    "ids": "{state: {status: active}, strategy: ids, ids: [7, 3, 2999, 40]}",
}

# two kinds of message on two layers, one source state pushing both (several push
# transitions out of one state); "absent" agents (state 0) are idle
TWO_LAYERS = """
name: two layers
time: {dt: 1, until: 60, unit: step, report_every: 2}
population: {agents: 2500}
network:
  layers:
    friends: {generator: erdos_renyi, mean_degree: 6}
    work: {generator: watts_strogatz, mean_degree: 4, rewire: 0.1}
traits:
  x: [absent, waiting, listening, told, done]
seed:
  - {state: {x: waiting}, fraction: 0.5, strategy: random}
  - {state: {x: listening}, fraction: 0.4, strategy: random, among: {x: absent}}
  - {state: {x: told}, count: 6, strategy: random, among: {x: waiting}}
transitions:
  - {name: by_friends, from: {x: waiting}, to: {x: told}, probability: 0.25,
     induced_by: {layer: friends, state: {x: told}}}
  - {name: at_work, from: {x: listening}, to: {x: told}, probability: 0.3,
     induced_by: {layer: work, state: {x: told}}}
  - {name: spent, from: {x: told}, to: {x: done}, probability: 1.0}
"""


def _model(text: str):
    sc = parse_scenario(text, "<test>", [])
    _, model, _ = rs.build(sc, seed=1)
    return model


def _both(model, replicates=6, seed=5, workers=1, monkeypatch=None):
    """(one-step path, general path) runs of the same model and seed."""
    assert is_one_step_cascade(model.kernel_args)
    fast = engine.run_replicates(model, replicates, seed, workers=workers, profile=(pf := {}))
    monkeypatch.setattr(engine, "is_one_step_cascade", lambda ka: False)
    general = engine.run_replicates(model, replicates, seed, workers=workers, profile=(pg := {}))
    monkeypatch.undo()
    return fast, general, pf["edge_visits"], pg["edge_visits"]


def _assert_same(fast, general):
    for field in ("counts", "fired", "signals", "steps_run"):
        assert np.array_equal(getattr(fast, field), getattr(general, field)), field


@pytest.mark.parametrize("seed_kind", sorted(SEEDS))
@pytest.mark.parametrize("p, until", [(0.2, 100), (0.6, 100), (0.2, 3)])
def test_one_step_path_gives_the_general_kernels_bytes(seed_kind, p, until, monkeypatch):
    """p = 0.6 on a BA graph: hubs fire hundreds of edges in a step (a generation fires
    more than the path's buffer of 4,096 edges); until = 3 stops a running cascade."""
    text = IC.replace("SEED", SEEDS[seed_kind]).replace("P,", f"{p},").replace("UNTIL", str(until))
    fast, general, vf, vg = _both(_model(text), monkeypatch=monkeypatch)
    _assert_same(fast, general)
    assert vf == vg
    assert fast.fired[:, -1, 0].sum() > 0  # a cascade, not only seeds
    if until == 3:
        assert (fast.steps_run == 3).any()  # (some still running at the end)


def test_one_step_path_handles_two_layers_and_several_pushes_from_one_state(monkeypatch):
    fast, general, vf, vg = _both(_model(TWO_LAYERS), replicates=8, monkeypatch=monkeypatch)
    _assert_same(fast, general)
    assert vf == vg
    assert fast.fired[:, -1, 0].sum() > 0 and fast.fired[:, -1, 1].sum() > 0


def test_one_step_path_is_the_same_at_any_worker_count():
    model = _model(IC.replace("SEED", SEEDS["few"]).replace("P,", "0.3,").replace("UNTIL", "100"))
    one = engine.run_replicates(model, 7, 3, workers=1)
    two = engine.run_replicates(model, 7, 3, workers=2)
    _assert_same(one, two)


def test_one_step_path_records_the_general_kernels_agent_histories(monkeypatch):
    model = _model(IC.replace("SEED", SEEDS["few"]).replace("P,", "0.3,").replace("UNTIL", "30"))
    fast = engine.record_agent_states(model, seed=2, replicate=1)
    monkeypatch.setattr(engine, "is_one_step_cascade", lambda ka: False)
    general = engine.record_agent_states(model, seed=2, replicate=1)
    assert np.array_equal(fast, general)
    assert (fast[-1] == 2).sum() > 5


@pytest.mark.parametrize("name, expected", [
    ("classic/independent_cascade", True),  # the cascade itself
    ("classic/sir", False),                 # recovery at a rate: windows longer than a step
    ("classic/sis", False),                 # recovered agents are targets again
    ("classic/linear_threshold", False),    # thresholds
    ("wechat_leak_2016", False),            # signals, schedules, dynamic states
])
def test_one_step_path_serves_exactly_the_one_step_cascades(name, expected):
    sc = rs.load(name, ["population.agents=500"])
    _, model, _ = rs.build(sc, seed=0)
    assert is_one_step_cascade(model.kernel_args) == expected


def test_discrete_sir_with_one_infectious_step_takes_the_one_step_path():
    """The benchmark's discrete SIR (probability 1 recovery) is the same process as the
    cascade; with recovery probability 0.5 infectious periods last several steps."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "scenarios" / "sir_discrete.yaml"
    sc = rs.load(path, ["population.agents=500"])
    _, model, _ = rs.build(sc, seed=0)
    assert is_one_step_cascade(model.kernel_args)
    name = sc.transitions[-1].name
    sc = rs.load(path, ["population.agents=500", "transitions.1.probability=0.5"])
    _, model, _ = rs.build(sc, seed=0)
    assert sc.transitions[-1].name == name and not is_one_step_cascade(model.kernel_args)
