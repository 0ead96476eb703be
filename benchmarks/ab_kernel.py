"""Interleaved A/B timing of two builds of the kernel on the benchmark's workloads.

    python benchmarks/ab_kernel.py --base /path/to/old/checkout [--new /path/to/new/checkout]
                                   [--rounds 4] [--n 1000000]

Runs rounds of "A then B" (or "B then A": the order alternates), each side in a fresh
process that imports ``rumorsim`` from its own checkout (A: ``--base``; B: ``--new``, by
default the installed one; give a copy if you keep editing while it runs): so
both see the same machine at nearly the same time, which on a shared, noisy machine is
the only fair comparison. Each process builds the same Barabási–Albert graph (m = 5,
native generator, fixed seed), loads the compiled kernel (not timed), then times
replicates of continuous-time SIR, discrete SIR and the independent cascade on it (the
benchmark suite's scenarios), and of the flagship at ``--n`` agents (network built apart,
not timed). Prints per workload the median and range of the seconds per replicate
(kernel only, one thread) for A and B, and B / A.

``--one`` is the per-process part (prints JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def one(n: int, reps: int) -> dict:
    import common
    import rumorsim as rs
    from rumorsim.engine import run_replicates
    from worker import rumorsim_network, rumorsim_overrides

    sc0 = rs.load(HERE / "scenarios" / "sir_continuous.yaml", [f"population.agents={n}"])
    net0, _, _ = rs.build(sc0, seed=1, check=False)
    ly = net0.layers[0]
    out = {"rumorsim": rs.__file__}
    for model in ("sir_ct", "sir_dt", "ic"):
        path = HERE / "scenarios" / f"{common.MODELS[model].scenario}.yaml"
        sc = rs.load(path, rumorsim_overrides(model, n))
        net = rumorsim_network(ly.indptr, ly.indices, next(iter(sc.network.layers)))
        _, cm, _ = rs.build(sc, network=net, check=False)
        run_replicates(cm, 1, seed=10_000, workers=1)  # compile or cache load
        times, cpu = [], []
        for r in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            run_replicates(cm, 1, seed=r, workers=1)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        out[model] = times
        out[model + "_cpu"] = cpu
    sc = rs.load("wechat_leak_2016", [f"population.agents={n}"])
    _, cm, _ = rs.build(sc, seed=1, check=False)
    run_replicates(cm, 1, seed=10_000, workers=1)
    times, cpu = [], []
    for r in range(max(1, reps // 2)):
        t0, c0 = time.perf_counter(), time.process_time()
        run_replicates(cm, 1, seed=r, workers=1)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    out["flagship"] = times
    out["flagship_cpu"] = cpu
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", help="checkout of build A (its simulator/ is imported as rumorsim)")
    ap.add_argument("--new", help="checkout of build B (default: the rumorsim installed)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--one", action="store_true")
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.n, a.reps)))
        return
    # A imports its checkout's simulator/ as rumorsim through a folder holding one link
    envs = {}
    for side, checkout in (("A", a.base), ("B", a.new)):
        envs[side] = dict(os.environ)
        envs[side].pop("PYTHONPATH", None)
        if checkout:
            shim = Path(tempfile.mkdtemp(prefix=f"ab_kernel_{side}_"))
            (shim / "rumorsim").symlink_to(Path(checkout).resolve() / "simulator")
            envs[side]["PYTHONPATH"] = str(shim)
    runs = {"A": [], "B": []}
    for k in range(a.rounds):
        for side in (("A", "B") if k % 2 == 0 else ("B", "A")):
            p = subprocess.run([sys.executable, __file__, "--one", "--n", str(a.n), "--reps",
                                str(a.reps)], env=envs[side], capture_output=True, text=True)
            if p.returncode:
                sys.exit(p.stderr)
            res = json.loads(p.stdout.strip().splitlines()[-1])
            runs[side].append(res)
            print(f"round {k} {side}: " + " ".join(
                f"{m}={np.median(res[m]):.3f}" for m in ("sir_ct", "sir_dt", "ic", "flagship")),
                f"({res['rumorsim']})", flush=True)
    print(f"\nseconds per replicate (kernel, one thread), n = {a.n}, median [min - max] "
          f"over {a.rounds} rounds x replicates; wall, then process CPU time (less affected "
          f"by other work on the machine)")
    for m in ("sir_ct", "sir_dt", "ic", "flagship", "sir_ct_cpu", "sir_dt_cpu", "ic_cpu",
              "flagship_cpu"):
        va = np.concatenate([r[m] for r in runs["A"]])
        vb = np.concatenate([r[m] for r in runs["B"]])
        print(f"{m:12s} A {np.median(va):7.3f} [{va.min():.3f} - {va.max():.3f}]   "
              f"B {np.median(vb):7.3f} [{vb.min():.3f} - {vb.max():.3f}]   "
              f"B/A {np.median(vb) / np.median(va):.3f}")


if __name__ == "__main__":
    main()
