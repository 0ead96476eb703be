"""Make follower_graph_20k.txt.gz: a synthetic directed follower graph for repost cascades.

    python scenarios/data/make_follower_graph.py

20,000 accounts. Account 0 is the author of the post: 8,000 followers (a big account,
as the authors of Weibo posts with hundreds of reposts are). Every other account's
number of followers (out-degree) is drawn from a discrete power law P(k) ~ k^-2.5 on
1..1,000 (inverse transform of the continuous law, floored); its followers are that
many distinct other accounts drawn uniformly. So the
number of accounts one follows (in-degree) is about Poisson with the same mean and
independent of one's own followers - unlike a directed configuration model with one
sequence for both, where whoever sees a repost is likely a hub, which makes every
cascade explode. One line per edge, ``u v``: v follows u (sees what u posts). numpy's
PCG64 seeded with 16, so the file is the same on every machine (gzip mtime 0).
"""

import gzip
from pathlib import Path

import numpy as np

N, EXPONENT, KMIN, KMAX, AUTHOR_FOLLOWERS, SEED = 20_000, 2.5, 1, 1_000, 8_000, 16


def follower_edges(n: int = N, seed: int = SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    k = np.floor(KMIN * (1 - u) ** (-1 / (EXPONENT - 1))).astype(np.int64)
    k = np.minimum(k, KMAX)
    k[0] = AUTHOR_FOLLOWERS
    edges = []
    for a in range(n):
        # distinct followers, never oneself: draw among the n - 1 others
        f = rng.choice(n - 1, size=k[a], replace=False)
        f[f >= a] += 1
        f.sort()
        edges.append(np.column_stack([np.full(k[a], a), f]))
    return np.concatenate(edges)


def main() -> None:
    e = follower_edges()
    text = "".join(f"{a} {b}\n" for a, b in e.tolist())
    out = Path(__file__).resolve().parent / "follower_graph_20k.txt.gz"
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(text.encode())
    deg = np.bincount(e[:, 0], minlength=N)
    ind = np.bincount(e[:, 1], minlength=N)
    print(f"{out.name}: {N} accounts, {len(e)} edges, followers mean {deg.mean():.2f} "
          f"max {deg.max()}, followees mean {ind.mean():.2f} max {ind.max()}")


if __name__ == "__main__":
    main()
