"""Memory estimate and guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rumorsim.errors import MemoryBudgetError
from rumorsim.memory import (
    available_memory_bytes,
    check_memory,
    estimate_layer_breakdown,
    estimate_layer_bytes,
    estimate_run_bytes,
    format_bytes,
)
from rumorsim.network import build_layer
from rumorsim.scenario import DegreeDistribution, LayerSpec

DATA = Path(__file__).resolve().parents[1] / "scenarios" / "data"
GB = 10**9
RUN = dict(n_counters=2, n_threshold=1, n_states=12, n_reports=200, n_events=8, n_signals=3)


def test_hundred_million_agents_mean_degree_ten_fit_in_24_gb():
    specs = {"friends": LayerSpec(generator="erdos_renyi", mean_degree=10, native=True)}
    est = estimate_run_bytes(10**8, specs, replicates=100, workers=1, **RUN)
    assert est["total"] < 24 * GB
    # the parts add up: 10^9 int32 entries, int64 row pointers, float64 in-strength
    assert 5 * GB < est["network"] < 6 * GB
    # per agent: a record of 4 flags + 4 push + state + 2 counts + 1 threshold = 12 int32
    # columns, padded to 16 (one cache line), and its touched list (0.5); lists 32; the
    # static calendar's pool at its last doubling (12 x (1/128 blocks of 264 bytes): 24.75)
    # push list 4, fired edges 3 (24 bytes per 8 agents), push pool doubling once
    # (3 x 264/256: 3.09); 2 % margin
    per_agent = 4 * 16 + 0.5 + 32 + 24.75 + 4 + 3 + 3.09
    assert est["per_replicate"] == pytest.approx(1.02 * 10**8 * per_agent, rel=1e-3)
    assert est["total"] >= est["network"] + est["parallel_replicates"] + est["outputs"]
    check_memory(est, available=32 * GB)  # 17 GB fits in 80% of 32 GB


def test_ten_billion_agents_are_refused_with_the_estimate_and_a_suggestion():
    specs = {"friends": LayerSpec(generator="erdos_renyi", mean_degree=10, native=True)}
    est = estimate_run_bytes(10**10, specs, replicates=10, workers=4, **RUN)
    with pytest.raises(MemoryBudgetError) as err:
        check_memory(est, available=64 * GB)
    text = str(err.value)
    assert format_bytes(est["total"]) in text and "64 GB" in text
    assert "fewer agents" in err.value.suggestion


def test_many_workers_are_told_to_use_fewer():
    specs = {"friends": LayerSpec(generator="erdos_renyi", mean_degree=4, native=True)}
    est = estimate_run_bytes(10**7, specs, replicates=64, workers=64, n_counters=8, n_threshold=4,
                             n_states=12, n_reports=200, n_events=8, n_signals=3)
    with pytest.raises(MemoryBudgetError, match="--workers"):
        check_memory(est, available=16 * GB)


def test_parallel_replicates_capped_by_replicates():
    specs = {"a": LayerSpec(generator="complete")}
    est = estimate_run_bytes(1000, specs, replicates=2, workers=16, **RUN)
    assert est["parallel_replicates"] == 2 * est["per_replicate"]
    assert est["outputs"] == 2 * 200 * (12 * 4 + 8 * 8 + 3 * 8)


@pytest.mark.parametrize("spec", [
    LayerSpec(generator="erdos_renyi", mean_degree=8, native=True),
    LayerSpec(generator="erdos_renyi", mean_degree=8, native=True, directed=True),
    LayerSpec(generator="barabasi_albert", m=4, native=True),
    LayerSpec(generator="watts_strogatz", mean_degree=8, rewire=0.1, native=True, weight=0.5),
    LayerSpec(generator="stochastic_block", blocks=[0.5, 0.5], p_in=0.0008, p_out=0.0002, native=True),
    LayerSpec(generator="configuration", native=True,
              degrees=DegreeDistribution(kind="poisson", mean=8, min_degree=0)),
])
def test_final_size_estimate_matches_built_layer(spec):
    n = 20000
    lay = build_layer("x", spec, n, 0)
    actual = sum(a.nbytes for a in (lay.indptr, lay.indices, lay.in_strength, lay.weights,
                                    lay.communities) if a is not None)
    est = estimate_layer_breakdown(spec, n)
    assert actual <= est["final"] <= 1.05 * actual
    assert est["peak"] >= est["final"]


def test_networkx_builder_is_estimated_much_larger_than_native():
    native = estimate_layer_bytes(LayerSpec(generator="barabasi_albert", m=5, native=True), 10**5)
    nx_est = estimate_layer_bytes(LayerSpec(generator="barabasi_albert", m=5, native=False), 10**5)
    assert nx_est > 10 * native


def test_edge_list_estimate_comes_from_the_file_size():
    spec = LayerSpec(generator="edgelist", path="facebook_combined.txt.gz")
    est = estimate_layer_breakdown(spec, 4039, base_dir=DATA)
    assert est["entries"] == pytest.approx(2 * 88234, rel=0.1)


def test_complete_layer_costs_only_per_agent_arrays():
    est = estimate_layer_breakdown(LayerSpec(generator="complete"), 10**6)
    assert est["final"] == est["peak"] == 8 * (10**6 + 1) + 8 * 10**6


def test_available_memory_and_format():
    assert available_memory_bytes() > 0
    assert format_bytes(512) == "512 B"
    assert format_bytes(3.5e9) == "3.5 GB"
    assert format_bytes(24 * GB) == "24 GB"


def test_check_memory_passes_small_runs_on_this_machine():
    specs = {"a": LayerSpec(generator="erdos_renyi", mean_degree=4)}
    check_memory(estimate_run_bytes(1000, specs, replicates=10, workers=2, **RUN))
    assert np.isfinite(estimate_layer_bytes(specs["a"], 1000))
