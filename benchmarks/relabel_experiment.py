"""Does the order of agents in memory matter for one large SIR cascade on Erdős–Rényi?

    python benchmarks/relabel_experiment.py [--agents 10000000] [--rounds 2]

Builds ``classic/sir``'s graph once (mean degree 10), relabels its agents offline in
three orders and times one replicate on each (one thread, the same seed, rounds
interleaved): *as built* (ER labels are already random), *BFS* from agent 0 (neighbours
get nearby labels where the graph allows), *degree* (high degree first: the agents a
cascade reaches early share pages). Prints kernel seconds, edge visits per second and the
final size. On an expander such as ER, BFS levels are exponentially large, so most
neighbours stay far apart; the numbers say how much that leaves.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from numba import njit

import rumorsim as rs
from rumorsim.api import build
from rumorsim.network import Network, _make_layer


@njit(cache=True)
def bfs_order(indptr, indices, start):
    n = indptr.shape[0] - 1
    seen = np.zeros(n, np.bool_)
    order = np.empty(n, np.int64)
    head = 0
    tail = 0
    for root in range(start, start + n):
        r = root % n
        if seen[r]:
            continue
        seen[r] = True
        order[tail] = r
        tail += 1
        while head < tail:
            u = order[head]
            head += 1
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                if not seen[v]:
                    seen[v] = True
                    order[tail] = v
                    tail += 1
    return order


@njit(cache=True)
def relabel(indptr, indices, order):
    """CSR of the graph with agent order[j] renamed j (rows sorted)."""
    n = indptr.shape[0] - 1
    new = np.empty(n, np.int64)
    for j in range(n):
        new[order[j]] = j
    ptr = np.zeros(n + 1, np.int64)
    for j in range(n):
        u = order[j]
        ptr[j + 1] = ptr[j] + indptr[u + 1] - indptr[u]
    out = np.empty(indices.shape[0], indices.dtype)
    for j in range(n):
        u = order[j]
        a = ptr[j]
        for e in range(indptr[u], indptr[u + 1]):
            out[a] = new[indices[e]]
            a += 1
        out[ptr[j]:ptr[j + 1]].sort()
    return ptr, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=float, default=1e7)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    n = int(args.agents)
    sc = rs.load("classic/sir", [f"population.agents={n}"])
    net, _, _ = build(sc, seed=1)
    lay = net.layers[0]
    numba.set_num_threads(1)
    orders = {"as built": None,
              "BFS from agent 0": bfs_order(lay.indptr, lay.indices, 0),
              "degree, highest first": np.argsort(-np.diff(lay.indptr), kind="stable")}
    nets = {}
    for name, order in orders.items():
        if order is None:
            nets[name] = net
            continue
        ptr, idx = relabel(lay.indptr, lay.indices, order)
        nets[name] = Network(n, (_make_layer(lay.name, n, ptr, idx, None, directed=False,
                                             builder="native", started=time.perf_counter()),))
    rs.run(sc, network=net, replicates=1, workers=1, seed=2, overrides=None)  # (load numba)
    for r in range(args.rounds):
        for name, nw in nets.items():
            l0 = nw.layers[0]
            rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(l0.indptr)[:n])
            gap = float(np.median(np.abs(rows - l0.indices)))
            del rows
            res = rs.run(sc, network=nw, replicates=1, workers=1, seed=3)
            t = res.provenance["timings"]
            k = t.get("run_seconds", float("nan"))
            visits = t.get("edge_visits", 0)
            final = float(res.raw.counts[0, -1, -1]) / n  # (state R: the last one)
            print(f"round {r + 1}: {name:24s} kernel {k:6.2f} s, {visits / k / 1e6:5.1f} M visits/s, "
                  f"median |u - v| over edges {gap:,.0f}, final R share {final:.4f}", flush=True)


if __name__ == "__main__":
    main()
