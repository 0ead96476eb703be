"""Native generators: structure, reproducibility, and agreement with networkx.

Statistical checks use fixed seeds and tests whose tolerance comes from the
sampling distribution (binomial edge counts, two-sample KS / Welch tests at
p > 0.001, the MLE's standard error), never a tolerance tuned until it passes.
"""

from __future__ import annotations

import math
import os

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from rumorsim import generators as gen
from rumorsim.network import build_layer, layer_from_networkx
from rumorsim.rng import new_state
from rumorsim.scenario import DegreeDistribution, LayerSpec

P_MIN = 1e-3  # two-sample tests must not reject at this level


def layer(generator: str, n: int, seed: int = 7, native: bool = True, **kw):
    return build_layer("x", LayerSpec(generator=generator, native=native, **kw), n, seed)


def assert_simple_csr(lay) -> None:
    """Sorted rows, no self-loops, no repeats; symmetric when undirected."""
    indptr, indices, n = lay.indptr, lay.indices, lay.n_agents
    assert indptr.dtype == np.int64 and indptr.shape == (n + 1,) and indptr[0] == 0
    assert indices.dtype == np.int32
    assert np.all(np.diff(indptr) >= 0) and indptr[-1] == indices.size
    rows = np.repeat(np.arange(n), np.diff(indptr))
    assert not np.any(rows == indices), "self-loop"
    # strictly increasing inside each row means sorted and no duplicates
    same_row = rows[1:] == rows[:-1]
    assert np.all(np.diff(indices.astype(np.int64))[same_row] > 0), "unsorted or repeated"
    if not lay.directed:
        fwd = rows.astype(np.int64) * n + indices
        back = indices.astype(np.int64) * n + rows
        assert np.array_equal(np.sort(fwd), np.sort(back)), "not symmetric"
    assert np.allclose(lay.in_strength, np.bincount(indices, minlength=n))


# ------------------------------------------------------------------ csr_from_edges


def reference_csr(src, dst, n, w, directed):
    rows = [dict() for _ in range(n)]
    for e, (u, v) in enumerate(zip(src.tolist(), dst.tolist())):
        if u == v:
            continue
        x = 1.0 if w is None else float(w[e])
        rows[u].setdefault(v, x)  # the first occurrence wins
        if not directed:
            rows[v].setdefault(u, x)
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.array([k for r in rows for k in sorted(r)], dtype=np.int64)
    weights = np.array([r[k] for r in rows for k in sorted(r)])
    return indptr, indices, weights


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("blocked", [False, True])
def test_csr_from_edges_matches_reference(directed, weighted, blocked, monkeypatch):
    if blocked:  # tiny buckets, sweeps and edge blocks so every code path of the
        # blocked sort runs, with many blocks of edges in parallel
        monkeypatch.setattr(gen, "_MIN_BUCKET_SHIFT", 2)
        monkeypatch.setattr(gen, "_MIN_SWEEP_ENTRIES", 16)
        monkeypatch.setattr(gen, "_CSR_EDGES_PER_BLOCK", 7)
    rng = np.random.default_rng(3)
    n = 57
    src = rng.integers(0, n, 600).astype(np.int32)
    dst = rng.integers(0, n, 600).astype(np.int32)
    w = rng.random(600) if weighted else None
    indptr, indices, weights = gen.csr_from_edges(src, dst, n, weights=w, directed=directed)
    r_indptr, r_indices, r_weights = reference_csr(src, dst, n, w, directed)
    assert np.array_equal(indptr, r_indptr)
    assert np.array_equal(indices, r_indices)
    if weighted:
        assert np.array_equal(weights, r_weights)
    else:
        assert weights is None


def test_csr_from_edges_same_bytes_for_any_thread_count(monkeypatch):
    """Blocks of edges and buckets of rows run in parallel; the output (row order, the
    first of repeated edges and its weight) must not depend on the thread count."""
    import numba

    monkeypatch.setattr(gen, "_MIN_BUCKET_SHIFT", 4)
    monkeypatch.setattr(gen, "_MIN_SWEEP_ENTRIES", 500)
    monkeypatch.setattr(gen, "_CSR_EDGES_PER_BLOCK", 97)
    rng = np.random.default_rng(8)
    n, m = 3000, 20_000
    src = rng.integers(0, n, m).astype(np.int32)
    dst = rng.integers(0, n, m).astype(np.int32)
    src[::50] = dst[::50]  # self-loops to drop
    w = rng.random(m)
    most = numba.config.NUMBA_NUM_THREADS
    out = []
    try:
        for threads in (1, min(2, most)):
            numba.set_num_threads(threads)
            out.append(gen.csr_from_edges(src, dst, n, weights=w, directed=False))
    finally:
        numba.set_num_threads(most)
    assert all(np.array_equal(a, b) for a, b in zip(*out))
    r_indptr, r_indices, r_weights = reference_csr(src, dst, n, w, False)
    assert np.array_equal(out[0][0], r_indptr) and np.array_equal(out[0][1], r_indices)
    assert np.array_equal(out[0][2], r_weights)


def test_csr_from_edges_rejects_out_of_range_ids():
    with pytest.raises(ValueError, match="0..2"):
        gen.csr_from_edges(np.array([0, 3]), np.array([1, 1]), 3, directed=True)


def test_csr_from_edges_empty_and_isolated():
    indptr, indices, w = gen.csr_from_edges(np.empty(0, np.int32), np.empty(0, np.int32), 4,
                                            directed=False)
    assert indptr.tolist() == [0, 0, 0, 0, 0] and indices.size == 0 and w is None


# ------------------------------------------------------------- each generator

CASES = {
    "erdos_renyi": dict(mean_degree=6.0),
    "erdos_renyi_directed": dict(mean_degree=6.0, directed=True),
    "barabasi_albert": dict(m=3),
    "powerlaw_cluster": dict(m=3, triangle_prob=0.6),
    "watts_strogatz": dict(mean_degree=6.0, rewire=0.2),
    "stochastic_block": dict(blocks=[0.5, 0.3, 0.2], p_in=0.01, p_out=0.001),
    "stochastic_block_directed": dict(blocks=[0.6, 0.4], p_in=0.004, p_out=0.001, directed=True),
    "configuration": dict(degrees=DegreeDistribution(kind="poisson", mean=6.0, min_degree=0)),
    "configuration_directed": dict(
        degrees=DegreeDistribution(kind="powerlaw", exponent=2.5, min_degree=2, max_degree=60),
        directed=True),
}


def spec_of(case: str) -> tuple[str, dict]:
    generator = case.replace("_directed", "")
    return generator, CASES[case]


@pytest.mark.parametrize("case", sorted(CASES))
def test_native_generator_structure_and_reproducibility(case):
    generator, kw = spec_of(case)
    n = 3000
    a = layer(generator, n, seed=11, **kw)
    b = layer(generator, n, seed=11, **kw)
    c = layer(generator, n, seed=12, **kw)
    assert a.n_agents == n and a.builder == "native"
    assert_simple_csr(a)
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert not (a.indices.size == c.indices.size and np.array_equal(a.indices, c.indices))


def test_erdos_renyi_edge_count_is_binomial():
    for directed in (False, True):
        n, k = 4000, 8.0
        lay = layer("erdos_renyi", n, mean_degree=k, directed=directed)
        pairs = n * (n - 1) if directed else n * (n - 1) / 2
        p = k / (n - 1)
        sd = math.sqrt(pairs * p * (1 - p))
        assert abs(lay.n_edges - pairs * p) < 5 * sd


def test_barabasi_albert_has_networkx_edge_count():
    n, m = 3000, 4
    assert layer("barabasi_albert", n, m=m).n_edges == nx.barabasi_albert_graph(n, m, seed=1).number_of_edges()


def test_watts_strogatz_keeps_every_edge():
    assert layer("watts_strogatz", 3000, mean_degree=8, rewire=0.3).n_edges == 3000 * 4
    ring = layer("watts_strogatz", 100, mean_degree=4, rewire=0.0)
    assert ring.degree().tolist() == [4] * 100
    assert ring.indices[ring.indptr[0]:ring.indptr[1]].tolist() == [1, 2, 98, 99]


def test_powerlaw_cluster_edges_close_to_m_per_agent():
    n, m = 3000, 3
    lay = layer("powerlaw_cluster", n, m=m, triangle_prob=0.6)
    assert m * (n - m) * 0.98 <= lay.n_edges <= m * (n - m)


@pytest.mark.parametrize("n, m, p", [(2000, 3, 0.5), (2000, 8, 0.5), (700, 1, 0.9), (500, 4, 1.0)])
def test_powerlaw_cluster_csr_is_the_edge_list_graph(n, m, p):
    # the CSR written from the neighbour pool is the graph of the edge list, same
    # random stream; the model itself makes no repeats or self-loops
    for seed in (1, 2, 3):
        state = new_state(np.random.SeedSequence(seed))
        state_e = state.copy()
        indptr, indices = gen.powerlaw_cluster_csr(n, m, p, state, gen._template(n))
        src, dst = gen.powerlaw_cluster_edges(n, m, p, state_e, gen._template(n))
        assert np.array_equal(state, state_e)
        assert not np.any(src == dst), "self-loop"
        lo = np.minimum(src, dst).astype(np.int64)
        hi = np.maximum(src, dst).astype(np.int64)
        assert np.unique(lo * n + hi).size == src.size, "repeated edge"
        r_indptr, r_indices, _ = gen.csr_from_edges(src, dst, n, directed=False)
        assert indptr.dtype == np.int64 and indices.dtype == np.int32
        assert np.array_equal(indptr, r_indptr) and np.array_equal(indices, r_indices)
        assert indices.size == 2 * src.size  # nothing dropped
        rows = np.repeat(np.arange(n), np.diff(indptr))
        assert not np.any(rows == indices)
        assert np.all(np.diff(indices.astype(np.int64))[rows[1:] == rows[:-1]] > 0)
        fwd = rows.astype(np.int64) * n + indices
        assert np.array_equal(np.sort(fwd), np.sort(indices.astype(np.int64) * n + rows))


def test_stochastic_block_edge_counts_per_block_pair():
    n = 4000
    kw = dict(blocks=[0.5, 0.5], p_in=0.004, p_out=0.0005)
    lay = layer("stochastic_block", n, **kw)
    comm = lay.communities
    assert comm.dtype == np.int32 and np.bincount(comm).tolist() == [2000, 2000]
    rows = np.repeat(np.arange(n), np.diff(lay.indptr))
    cross = np.count_nonzero(comm[rows] != comm[lay.indices]) // 2
    within = lay.n_edges - cross
    for count, pairs, p in ((within, 2 * 2000 * 1999 / 2, 0.004), (cross, 2000 * 2000, 0.0005)):
        assert abs(count - pairs * p) < 5 * math.sqrt(pairs * p * (1 - p))


def test_configuration_erases_only_loops_and_repeats():
    n = 5000
    spec = LayerSpec(generator="configuration", native=True,
                     degrees=DegreeDistribution(kind="poisson", mean=6.0, min_degree=0))
    lay = build_layer("x", spec, n, 5)
    # the same degree sequence is drawn for both builders; erasure only removes stubs
    from rumorsim.network import _draw_degrees

    deg = _draw_degrees("x", spec, n, np.random.SeedSequence(5), None)
    assert np.all(lay.degree() <= deg)
    lost = deg.sum() - lay.degree().sum()
    # expected loss: self-loops <k^2-k>/(2<k>) + repeats (<k^2-k>/(2<k>))^2 / 2 ~ 3 + 9 edges
    assert 0 <= lost <= 2 * 40


# -------------------------------------------------------- degree-sequence samplers


def test_powerlaw_sampler_matches_exact_pmf():
    gamma, kmin, kmax, n = 2.5, 2, 50, 40000
    deg = gen.draw_degrees(n, 0, gamma, 0.0, 0.0, kmin, kmax, new_state(1))
    ks = np.arange(kmin, kmax + 1)
    pmf = ks ** -gamma / np.sum(ks ** -gamma)
    observed = np.bincount(deg, minlength=kmax + 1)[kmin:]
    # pool the tail so every expected count is at least 5
    cut = np.nonzero(n * pmf < 5)[0]
    last = cut[0] if cut.size else len(ks)
    obs = np.append(observed[:last], observed[last:].sum())
    exp = np.append(n * pmf[:last], n * pmf[last:].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    assert stats.chisquare(obs, exp).pvalue > P_MIN


def test_poisson_sampler_matches_pmf_both_branches():
    for lam in (3.0, 25.0):  # multiplication method and PTRS
        n = 40000
        deg = gen.draw_degrees(n, 1, 0.0, lam, 0.0, 0, 10**6, new_state(2))
        # degrees sum to even: at most one agent moved by one; negligible
        lo, hi = int(stats.poisson.ppf(0.001, lam)), int(stats.poisson.ppf(0.999, lam))
        edges = np.arange(lo, hi + 2) - 0.5
        obs, _ = np.histogram(deg, bins=np.concatenate([[-0.5], edges[1:-1], [10**7]]))
        cdf = stats.poisson.cdf(np.arange(lo, hi + 1), lam)
        probs = np.diff(np.concatenate([[0.0], cdf[:-1], [1.0]]))
        assert stats.chisquare(obs, n * probs).pvalue > P_MIN


def test_degree_sum_is_even_and_truncated():
    deg = gen.draw_degrees(1001, 3, 0.0, 3.0, 0.0, 1, 10, new_state(3))
    assert deg.sum() % 2 == 0 and deg.min() >= 1 and deg.max() <= 10


# -------------------------------------------------------- native vs networkx


def degree_sample(generator, n, seeds, native, **kw):
    return np.concatenate([layer(generator, n, seed=s, native=native, **kw).degree() for s in seeds])


@pytest.mark.parametrize("case", ["erdos_renyi", "erdos_renyi_directed", "barabasi_albert",
                                  "powerlaw_cluster", "watts_strogatz", "stochastic_block",
                                  "configuration_directed"])
def test_native_degree_distribution_matches_networkx(case):
    generator, kw = spec_of(case)
    seeds = range(3)
    a = degree_sample(generator, 2000, seeds, True, **kw)
    b = degree_sample(generator, 2000, seeds, False, **kw)
    # degrees are discrete, which makes KS conservative: a fair test of "same law"
    assert stats.ks_2samp(a, b).pvalue > P_MIN


@pytest.mark.parametrize("case", ["powerlaw_cluster", "watts_strogatz", "barabasi_albert"])
def test_native_clustering_matches_networkx(case):
    generator, kw = spec_of(case)
    n, seeds = 2000, range(6)
    native = [layer(generator, n, seed=s, native=True, **kw).stats()["clustering"] for s in seeds]
    ref = [layer(generator, n, seed=s, native=False, **kw).stats()["clustering"] for s in seeds]
    # Welch's t-test on six realisations each: the tolerance is the seed-to-seed spread
    assert stats.ttest_ind(native, ref, equal_var=False).pvalue > P_MIN
    assert abs(np.mean(native) - np.mean(ref)) < 0.1 * np.mean(ref) + 0.01


def test_watts_strogatz_clustering_follows_barrat_weigt():
    # C(p) ~ 3(k-2)/(4(k-1)) (1-p)^3 for large n (Barrat & Weigt 2000)
    k, p = 10, 0.1
    lay = layer("watts_strogatz", 20000, mean_degree=k, rewire=p)
    theory = 3 * (k - 2) / (4 * (k - 1)) * (1 - p) ** 3
    assert abs(lay.stats()["clustering"] - theory) < 0.02


def test_barabasi_albert_tail_exponent_is_about_three():
    n, m, kmin = 50000, 3, 12
    deg = layer("barabasi_albert", n, m=m).degree()
    tail = deg[deg >= kmin]
    # discrete-data MLE (Clauset, Shalizi & Newman 2009, eq. 3.7)
    alpha = 1 + tail.size / np.sum(np.log(tail / (kmin - 0.5)))
    # what that estimator gives on the exact BA law P(k) = 2m(m+1)/(k(k+1)(k+2))
    ks = np.arange(kmin, 10**6)
    pk = 1.0 / (ks * (ks + 1.0) * (ks + 2.0))
    expected = 1 + 1 / (np.sum(pk * np.log(ks / (kmin - 0.5))) / np.sum(pk))
    se = (alpha - 1) / math.sqrt(tail.size)
    assert abs(alpha - expected) < 5 * se
    assert 2.5 < alpha < 3.5


# -------------------------------------------------------------- statistics kernel


def test_local_clustering_matches_networkx():
    g = nx.powerlaw_cluster_graph(500, 3, 0.5, seed=4)
    lay = layer_from_networkx("g", g)
    cc = gen.local_clustering(lay.indptr, lay.indices, np.arange(500, dtype=np.int64))
    ref = nx.clustering(g)
    assert np.allclose(cc, [ref[v] for v in range(500)])


def test_kernels_match_their_python_versions():
    # the compiled parser and the row sort against their interpreted selves
    buf = np.frombuffer(b"1 2\n# c\n3,4\n", np.uint8)
    ids = np.empty(6, np.int64)
    out = gen.parse_edge_chunk(buf, False, -1, False, ids, np.empty(0))
    ids_py = np.empty(6, np.int64)
    out_py = gen.parse_edge_chunk.py_func(buf, False, -1, False, ids_py, np.empty(0))
    assert out == out_py and ids[:4].tolist() == ids_py[:4].tolist() == [1, 2, 3, 4]


# ------------------------------------------------ Erdős–Rényi in parallel blocks


@pytest.fixture
def small_er_blocks(monkeypatch):
    """Many blocks and transpose buckets on a small graph (as at 10^8 agents, where
    there are ~2,000 of each), so their seams are exercised in a test-sized run."""
    monkeypatch.setattr(gen, "_ER_EDGES_PER_BLOCK", 1 << 9)
    monkeypatch.setattr(gen, "_ER_BUCKET_SHIFT", 9)


def _er_same_on_1_and_2_threads(directed: bool) -> bool:
    """Build the same G(n, p) on 1 and on 2 numba threads, in many blocks; equal?"""
    import numba

    n, p = 20_000, 8.0 / 19_999
    saved = gen._ER_EDGES_PER_BLOCK, gen._ER_BUCKET_SHIFT
    gen._ER_EDGES_PER_BLOCK, gen._ER_BUCKET_SHIFT = 1 << 9, 9
    most = numba.config.NUMBA_NUM_THREADS
    graphs = []
    try:
        assert len(gen._er_blocks(n, n * (n - 1.0), p, not directed)) > 100
        for threads in (1, 2):
            numba.set_num_threads(threads)
            graphs.append(gen.erdos_renyi_csr(n, p, new_state(3), directed=directed))
    finally:
        numba.set_num_threads(most)
        gen._ER_EDGES_PER_BLOCK, gen._ER_BUCKET_SHIFT = saved
    (a_ptr, a_idx), (b_ptr, b_idx) = graphs
    return bool(np.array_equal(a_ptr, b_ptr) and np.array_equal(a_idx, b_idx))


@pytest.mark.parametrize("directed", [False, True])
def test_erdos_renyi_same_graph_for_any_thread_count(directed):
    import numba

    if numba.config.NUMBA_NUM_THREADS >= 2:
        assert _er_same_on_1_and_2_threads(directed)
        return
    # one core: numba still runs two threads when told to, in a fresh process
    import subprocess
    import sys
    from pathlib import Path

    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import test_generators as t; sys.exit(0 if t._er_same_on_1_and_2_threads({directed}) else 1)")
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "NUMBA_NUM_THREADS": "2"})
    assert child.returncode == 0, child.stdout + child.stderr


@pytest.mark.parametrize("directed", [False, True])
def test_erdos_renyi_blocks_give_gnp(small_er_blocks, directed):
    """The block seams neither drop nor repeat pairs, and degrees are Binomial(n-1, p).

    Edges whose row lies in block b number Binomial(pairs in b, p) independently over
    blocks, so sum_b z_b^2 is chi-square with (blocks) degrees of freedom: a seam that
    skipped or repeated a row (about k/2 edges of ~100 per block) moves it far out.
    The degree histogram is tested against Binomial(n - 1, p) (chi-square, classes with
    expected count >= 20 merged at the tails). Fixed seed; both at P > 0.001.
    """
    n, k = 20_000, 8.0
    p = k / (n - 1)
    lay = layer("erdos_renyi", n, seed=21, mean_degree=k, directed=directed)
    assert_simple_csr(lay)
    bounds = gen._er_blocks(n, n * (n - 1.0) / (1 if directed else 2), p, not directed)
    rows = np.arange(n, dtype=np.int64)
    if directed:
        per_row = np.diff(lay.indptr)
        row_pairs = np.full(n, n - 1.0)
    else:  # an edge belongs to the row of its larger end
        rows_of = np.repeat(rows, np.diff(lay.indptr))
        per_row = np.bincount(rows_of[lay.indices < rows_of], minlength=n)
        row_pairs = rows.astype(float)
    obs = np.add.reduceat(per_row, bounds[:-1])
    pairs = np.add.reduceat(row_pairs, bounds[:-1])
    z2 = ((obs - pairs * p) ** 2 / (pairs * p * (1 - p))).sum()
    assert stats.chi2.sf(z2, len(obs)) > P_MIN
    deg = np.diff(lay.indptr)
    ks = np.arange(deg.max() + 2)
    expected = n * stats.binom.pmf(ks, n - 1, p)
    observed = np.bincount(deg, minlength=ks.size).astype(float)
    lo = np.searchsorted(np.cumsum(expected), 20)
    hi = ks.size - np.searchsorted(np.cumsum(expected[::-1]), 20)
    e = np.r_[expected[:lo + 1].sum(), expected[lo + 1:hi - 1], expected[hi - 1:].sum()]
    o = np.r_[observed[:lo + 1].sum(), observed[lo + 1:hi - 1], observed[hi - 1:].sum()]
    e *= o.sum() / e.sum()
    chi = ((o - e) ** 2 / e).sum()
    assert stats.chi2.sf(chi, len(e) - 1) > P_MIN


def test_erdos_renyi_blocks_that_run_out_of_room_give_the_same_graph(small_er_blocks, monkeypatch):
    """Room for a block's edges is the expected count + 6 sd; a block that runs out is
    counted and drawn again. With room far too small (every block runs out) the graph
    must be the very same."""
    n, p = 20_000, 8.0 / 19_999
    ptr, idx = gen.erdos_renyi_csr(n, p, new_state(4))
    monkeypatch.setattr(gen, "_ER_ROOM_SDS", -30.0)
    ptr2, idx2 = gen.erdos_renyi_csr(n, p, new_state(4))
    assert np.array_equal(ptr, ptr2) and np.array_equal(idx, idx2)
