"""Replicates: one seed, the same numbers however the replicates are batched or threaded."""

from __future__ import annotations

import numpy as np

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
