"""Linear threshold on a real network against its live-edge equivalent.

Kempe, Kleinberg & Tardos (2003, Claim 2.6): in the linear threshold model with each
agent's threshold uniform on [0, 1] and in-weights summing to at most 1, the final set of
active agents has the same law as the set reachable from the seeds when every agent
keeps at most one in-edge, edge (u, v) with probability w(u, v), and none with the rest.
With the threshold as a *fraction* of friends (every friend weighs 1 / degree) each agent
keeps one friend chosen uniformly. This holds on any graph, so it is checked on the
ego-Facebook graph (SNAP; scenarios/data/facebook_combined.txt.gz: 4,039 people, 88,234
friendships, heavy-tailed and clustered, with dense communities joined by a few hubs),
where a wrong denominator, a stale count or a threshold redrawn every step would change
the outcome. The live-edge sets are computed with scipy's breadth-first search, without
the kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

import rumorsim as rs
from rumorsim.scenario import parse_scenario

from conftest import SCENARIOS

Z = 4.0

#: 12 fixed seed people (file ids), spread over the graph's communities.
SEED_IDS = list(range(3, 4039, 337))

FACEBOOK_LT = f"""
name: Linear threshold on ego-Facebook
time: {{dt: 1, until: 150, unit: step, report_every: 1}}
population: {{agents: 4039}}
network:
  layers:
    friends: {{generator: edgelist, path: data/facebook_combined.txt.gz}}
traits:
  opinion: [inactive, active]
seed:
  - {{state: {{opinion: active}}, strategy: ids, ids: {SEED_IDS}}}
transitions:
  - name: adoption
    from: {{opinion: inactive}}
    to: {{opinion: active}}
    threshold:
      layer: friends
      state: {{opinion: active}}
      fraction: {{distribution: uniform, low: 0, high: 1}}
"""


def live_edge_sizes(layer, seeds: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Sizes of the sets reachable from ``seeds`` when every agent keeps one uniform friend.

    The kept edges point friend -> agent; an extra root (agent n) points at the seeds.
    """
    n = layer.n_agents
    deg = np.diff(layer.indptr)
    has = np.flatnonzero(deg > 0)
    sizes = np.empty(samples)
    rows = np.concatenate([np.empty(len(has), np.int64), np.full(len(seeds), n)])
    cols = np.concatenate([has, seeds])
    for k in range(samples):
        rows[: len(has)] = layer.indices[layer.indptr[has] + rng.integers(0, deg[has])]
        graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + 1, n + 1))
        sizes[k] = len(breadth_first_order(graph, n, directed=True, return_predecessors=False)) - 1
    return sizes


@pytest.mark.slow
def test_linear_threshold_on_facebook_has_the_live_edge_final_size_law():
    """1,000 kernel runs against 5,000 live-edge samples, same 12 seed people.

    Means by Welch's t (|t| < 4: two-sided level 6e-5, the CLT applies to both means at
    these sizes) and whole distributions by two-sample Kolmogorov–Smirnov (p > 0.001).
    Final sizes here are heavy-tailed (median ~90, mean ~150, sd ~160 of 4,039), so the
    mean is checked to about +-22 agents (15 %); KS sees changes of shape. Runs settle by
    step ~60 (measured: 99 % by step 47); the last 50 steps must show no change, so the
    final size is the process's.
    The first step is checked exactly as well: a non-seed agent v with s_v seed friends
    out of d_v activates at step 1 w.p. s_v / d_v (its threshold is uniform), so the
    step-1 activations have mean sum s_v / d_v and variance sum p (1 - p); their mean over
    1,000 runs must be within 4 standard errors (a wrong denominator moves it by far more).
    """
    sc = parse_scenario(FACEBOOK_LT, str(SCENARIOS / "facebook_lt.yaml"))
    res = rs.run(sc, replicates=1000, seed=4039, workers=2)
    layer = res.network.layers[0]
    assert layer.n_agents == 4039 and layer.n_edges == 88234
    counts = res.raw.counts[:, :, 1]
    assert np.all(counts[:, -1] == counts[:, -50])  # settled well before the end
    kernel = counts[:, -1].astype(float)

    # the seeds are the file's ids; the kernel's agent i is file id node_ids[i]
    node = np.asarray(res.network.node_ids)
    seeds = np.flatnonzero(np.isin(node, SEED_IDS))
    assert len(seeds) == len(SEED_IDS) and np.all(counts[:, 0] == len(seeds))
    is_seed = np.zeros(layer.n_agents)
    is_seed[seeds] = 1.0
    adj = csr_matrix((np.ones(len(layer.indices)), layer.indices, layer.indptr))
    p1 = (adj @ is_seed) / np.diff(layer.indptr)
    p1[seeds] = 0.0
    first = counts[:, 1] - len(seeds)
    se1 = np.sqrt(np.sum(p1 * (1 - p1)) / len(first))
    assert abs(first.mean() - p1.sum()) < Z * se1, (first.mean(), p1.sum(), se1)
    live = live_edge_sizes(layer, seeds, 5000, np.random.default_rng(4040))

    welch = stats.ttest_ind(kernel, live, equal_var=False).statistic
    assert abs(welch) < Z, (kernel.mean(), live.mean(), welch)
    assert stats.ks_2samp(kernel, live).pvalue > 0.001, (np.percentile(kernel, [10, 50, 90]),
                                                         np.percentile(live, [10, 50, 90]))
