"""Many small cascades: what one more replicate costs, through the CLI, against cynetdiff.

    python benchmarks/bench_small_cascades.py [--n 300000] [--reps 41] [--rounds 3]

The workload researchers run most (influence maximisation, seeding strategies, sweeps
near a threshold): the independent cascade on a Barabási–Albert graph, n = 300,000,
m = 5, p = 0.05, 300 random seeds (about 5 % of agents end active).

* Rumorsim, through the CLI as a user runs it: ``rumorsim run`` with 1 and with ``--reps``
  replicates (``-w 1``: one core; and all cores); the cost of an extra replicate is the
  difference of the two wall times over the extra replicates (graph build, numba load
  and start-up cancel out). ``--profile`` output of the big run is kept, to show where
  its time went.
* cynetdiff (if installed: ``pip install cynetdiff``) on the very same graph (Rumorsim's
  CSR arrays), one core, 300 seeds drawn per cascade: the median time per cascade.

Rounds alternate the tools, and medians and ranges are printed, because the machine
may be shared. Results go to benchmarks/results.md by hand, with the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "scenarios" / "independent_cascade.yaml"
P = 0.05
SEEDS = 300


def overrides(n: int) -> list:
    return [f"population.agents={n}", f"seed.0.count={SEEDS}", f"transitions.0.probability={P}"]


def cli_seconds(n: int, reps: int, workers: int, out: Path, profile: bool = False):
    cmd = ["rumorsim", "run", str(SCENARIO), "--reps", str(reps), "--workers", str(workers),
           "-q", "--no-figures", "-o", str(out)]
    for o in overrides(n):
        cmd += ["--set", o]
    if profile:
        cmd.append("--profile")
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode:
        sys.exit(p.stdout + p.stderr)
    return wall, p.stdout


def cynetdiff_seconds(n: int, reps: int):
    try:
        from cynetdiff.models import IndependentCascadeModel
    except ImportError:
        return None, None
    import rumorsim as rs

    sc = rs.load(SCENARIO, overrides(n))
    net, _, _ = rs.build(sc, check=False)
    ly = net.layers[0]
    starts = np.ascontiguousarray(ly.indptr[:-1], dtype=np.uint32)
    edges = np.ascontiguousarray(ly.indices, dtype=np.uint32)
    rng = np.random.default_rng(1)
    times, sizes = [], []
    for r in range(reps):
        seeds = rng.choice(n, SEEDS, replace=False).tolist()
        t0 = time.perf_counter()
        ic = IndependentCascadeModel(starts, edges, activation_prob=P, rng=r)
        ic.set_seeds(seeds)
        ic.advance_until_completion()
        times.append(time.perf_counter() - t0)
        sizes.append(ic.get_num_activated_nodes())
    return np.array(times), np.array(sizes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--reps", type=int, default=41)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    res = {"w1": [], f"w{cores}": [], "cyn": []}
    profile = ""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cli_seconds(2000, 1, 1, tmp / "warm")  # numba cache warm
        for k in range(a.rounds):
            for workers in (1, cores):
                one, _ = cli_seconds(a.n, 1, workers, tmp / f"a{k}{workers}")
                many, text = cli_seconds(a.n, a.reps, workers, tmp / f"b{k}{workers}",
                                         profile=True)
                per = (many - one) / (a.reps - 1)
                res[f"w{workers}"].append(per)
                profile = text
                print(f"round {k}: rumorsim run, {workers} worker(s): 1 rep {one:.2f} s, "
                      f"{a.reps} reps {many:.2f} s -> {1e3 * per:.2f} ms per extra replicate",
                      flush=True)
            t, sizes = cynetdiff_seconds(a.n, a.reps)
            if t is not None:
                res["cyn"].append(np.median(t))
                print(f"round {k}: cynetdiff median {1e3 * np.median(t):.2f} ms per cascade "
                      f"[{1e3 * t.min():.2f} - {1e3 * t.max():.2f}], mean active "
                      f"{sizes.mean() / a.n:.1%}", flush=True)
    print("\nlast --profile of the many-replicate run (one core or all):")
    print("\n".join(line for line in profile.splitlines() if line.startswith("  ")))
    print(f"\nper extra replicate / cascade, median [range] over {a.rounds} rounds "
          f"(n = {a.n:,}, p = {P}, {SEEDS} seeds, BA m = 5):")
    for key, vals in res.items():
        if vals:
            v = 1e3 * np.array(vals)
            print(f"  {key:5s} {np.median(v):8.2f} ms  [{v.min():.2f} - {v.max():.2f}]")
    if res["cyn"]:
        c = np.median(res["cyn"])
        for key in ("w1", f"w{cores}"):
            print(f"  cynetdiff / rumorsim {key}: {c / np.median(res[key]):.2f}x")


if __name__ == "__main__":
    main()
