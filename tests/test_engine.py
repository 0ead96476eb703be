"""Replicates: one seed, the same numbers however the replicates are batched or threaded."""

from __future__ import annotations

import numpy as np
import pytest

import rumorsim as rs
from rumorsim.engine import record_agent_states, replicate_seeds, run_replicates

from conftest import SCENARIOS


def _small_sir():
    sc = rs.load(SCENARIOS / "classic" / "sir.yaml", ["population.agents=600", "time.until=30"])
    _, model, _ = rs.build(sc, seed=3)
    return model


def test_replicate_i_is_the_same_in_any_batch():
    model = _small_sir()
    whole = run_replicates(model, 6, seed=11, workers=2)
    first = run_replicates(model, 3, seed=11, workers=1)
    rest = run_replicates(model, 3, seed=11, workers=2, first_replicate=3)
    assert np.array_equal(whole.counts, np.concatenate([first.counts, rest.counts]))
    assert np.array_equal(whole.fired, np.concatenate([first.fired, rest.fired]))


def test_replicates_differ_and_seeds_are_children():
    model = _small_sir()
    raw = run_replicates(model, 4, seed=5, workers=2)
    finals = raw.counts[:, -1, :]
    assert len({tuple(f) for f in finals}) > 1
    seeds = replicate_seeds(5, 3)
    assert [s.spawn_key for s in seeds] == [(0,), (1,), (2,)]


def test_agent_history_reproduces_the_replicate():
    model = _small_sir()
    raw = run_replicates(model, 3, seed=9, workers=1)
    hist = record_agent_states(model, seed=9, replicate=2)
    counts = np.stack([np.bincount(h, minlength=3) for h in hist])
    assert np.array_equal(counts, raw.counts[2])


def _clean_buffer_after_each_replicate(model, seeds):
    """Run replicates one after another on one record buffer, as a worker does; after
    each, cleaning what its tail lists (``_prepare_records``, the next replicate's first
    act) must give a fresh clean buffer (threshold columns aside: every replicate draws
    them all afresh)."""
    from rumorsim.engine import _records
    from rumorsim.kernel import _prepare_records, _record_layout, _record_rows, run_replicate
    from rumorsim.rng import new_state

    ka = model.kernel_args
    n_rep, S, E, G = len(model.report_steps), model.n_joint, model.n_events, model.n_signals
    n = model.n_agents
    fresh = _records(model)
    buf = _records(model)
    has_push = bool((ka.st_push_tr >= 0).any())
    width, c_push, _, _, c_thr = _record_layout(ka.ctr_layer.shape[0], ka.thr_mode.shape[0],
                                                has_push)
    keep = np.ones(width, bool)
    keep[c_thr:c_thr + ka.thr_mode.shape[0]] = False
    statuses = []  # what each replicate left: 1 a list of agents to clean, 2 all
    for seed in seeds:
        run_replicate(new_state(replicate_seeds(seed, 1)[0]), *ka,
                      np.zeros((n_rep, S), np.int32), np.zeros((n_rep, E), np.int64),
                      np.zeros((n_rep, G)), np.zeros(G), np.zeros(G), np.zeros(G),
                      np.zeros((0, 0), np.int16), buf)
        statuses.append(int(buf[n * width + 16]))
        kept = any(not ka.ctr_push[c] and not ka.lay_complete[ka.ctr_layer[c]]
                   for c in range(ka.ctr_layer.shape[0]))
        _prepare_records(buf, n, width, c_push, has_push, kept, ka.lay_indptr, ka.indices,
                         ka.lay_complete)
        a = _record_rows(buf, n, width)
        b = _record_rows(fresh, n, width)
        assert np.array_equal(a[:, keep], b[:, keep]), seed
        assert buf[n * width + 16] == 0  # the tail's status: clean
    return statuses


@pytest.mark.parametrize("name, sets", [
    ("independent_cascade", ["population.agents=3000", "transitions.0.probability=0.03"]),
    ("independent_cascade", ["population.agents=3000"]),   # past an eighth: a full clean
    ("sir", ["population.agents=2000"]),
    ("sis", ["population.agents=500", "time.until=20"]),   # agents return to state 0
    ("linear_threshold", ["population.agents=500"]),        # thresholds: a full rescan
    ("maki_thompson", ["population.agents=300"]),          # a complete layer
])
def test_the_next_replicate_cleans_what_the_last_one_touched(name, sets):
    sc = rs.load(SCENARIOS / "classic" / f"{name}.yaml", sets)
    _, model, _ = rs.build(sc, seed=1)
    _clean_buffer_after_each_replicate(model, [1, 2, 3])
    if name == "independent_cascade" and "transitions.0.probability=0.03" in sets:
        assert _clean_buffer_after_each_replicate(model, [4]) == [1]  # (a small cascade)


def test_the_next_replicate_cleans_what_sir_on_neighbour_counts_touched():
    from rumorsim.model import compile_model

    sc = rs.load(SCENARIOS / "classic" / "sir.yaml", ["population.agents=2000"])
    net, _, _ = rs.build(sc, seed=1)
    assert _clean_buffer_after_each_replicate(compile_model(sc, net, edge_push=False),
                                              [4, 5]) == [2, 2]  # (a full rescan)


def test_reused_buffers_give_the_bytes_of_fresh_ones():
    """Replicates run one per call (a fresh buffer each) equal those run in one batch on
    one worker (one buffer reused)."""
    sc = rs.load(SCENARIOS / "classic" / "independent_cascade.yaml", ["population.agents=3000"])
    _, model, _ = rs.build(sc, seed=1)
    batch = run_replicates(model, 5, seed=8, workers=1)
    for r in range(5):
        alone = run_replicates(model, 1, seed=8, workers=1, first_replicate=r)
        assert np.array_equal(alone.counts[0], batch.counts[r])
        assert np.array_equal(alone.fired[0], batch.fired[r])


ABSENT_SIR = """
name: SIR among the agents present
time: {dt: 0.1, until: 2, report_every: 1}
population: {agents: 3000}
network:
  layers:
    contacts: {generator: erdos_renyi, mean_degree: 6}
traits:
  h: [absent, S, I, R]
seed:
  - {state: {h: S}, fraction: 0.1, strategy: random}
  - {state: {h: I}, count: 5, strategy: random, among: {h: S}}
transitions:
  - {name: infection, from: {h: S}, to: {h: I}, rate: 0.5, induced_by: {layer: contacts, state: {h: I}}}
  - {name: recovery, from: {h: I}, to: {h: R}, rate: 1.0}
"""


def test_the_next_replicate_cleans_neighbours_counts_when_counts_are_kept():
    """State 0 (absent) needs no routing, so step 0 lists only the seeded agents, and
    counts are kept on the layer (no edge pushes): a change writes its neighbours'
    counts - absent ones included - and only the neighbour clean-up restores them (the
    run stops while agents are still infected, so their neighbours' counts are not 0)."""
    from rumorsim.model import compile_model
    from rumorsim.scenario import parse_scenario

    sc = parse_scenario(ABSENT_SIR, "<test>", [])
    net, _, _ = rs.build(sc, seed=1)
    model = compile_model(sc, net, edge_push=False)
    assert model.kernel_args.st_idle[0] == 1 and not model.kernel_args.ctr_push.any()
    assert _clean_buffer_after_each_replicate(model, [1, 2, 3]) == [1, 1, 1]  # (listed)
    batch = run_replicates(model, 3, seed=8, workers=1)
    for r in range(3):
        alone = run_replicates(model, 1, seed=8, workers=1, first_replicate=r)
        assert np.array_equal(alone.counts[0], batch.counts[r])
    assert batch.fired[:, -1, 0].max() > 0  # someone was infected (not only seeded)
