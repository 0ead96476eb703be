"""Many small cascades: what one more replicate costs, through the CLI, against cynetdiff.

    python benchmarks/bench_small_cascades.py [--n 300000] [--reps 401] [--rounds 5]
    python benchmarks/bench_small_cascades.py --large     # 10^6 agents, large cascades

The workload researchers run most (influence maximisation, seeding strategies, sweeps
near a threshold): the independent cascade on a Barabási–Albert graph, n = 300,000,
m = 5, p = 0.05, 300 random seeds (about 5 % of agents end active).

* Rumorsim, through the CLI as a user runs it: ``rumorsim run --profile`` with 1 and
  with ``--reps`` replicates, one worker (``-w 1``: one core) and all cores. The cost of
  an extra replicate is the difference of the two runs over the extra replicates (graph
  build, numba load and start-up cancel out), in wall time and in the child process's
  CPU time (user + system, from ``getrusage``: less disturbed when others share the
  machine). With 401 against 1 the difference is about a second of work, well above the
  graph build's own jitter. ``--profile``'s split of the two runs gives the kernel's
  and the outputs' share of the extra replicates.
* cynetdiff (``pip install cynetdiff``) on the very same graph (Rumorsim's CSR arrays),
  one core, 300 seeds drawn per cascade: the median wall and CPU time per cascade
  (model set-up, seeds and the cascade, as ``run_benchmarks.py`` times it).

``--large`` checks the other end: run_benchmarks.py's independent-cascade row at 10^6
agents (a third of agents end active), quicker - the two tools alternating in one
process, one cascade each per run.

Rounds alternate the tools, and each figure is printed as the median and range over
rounds, because the machine may be shared; the load average is printed before and
after. Results go to benchmarks/results.md by hand, with the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
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


def cli_run(n: int, reps: int, workers: int, out: Path) -> dict:
    """One ``rumorsim run --profile`` in a child process: its wall and CPU seconds and the
    profile's phases (seconds)."""
    cmd = ["rumorsim", "run", str(SCENARIO), "--reps", str(reps), "--workers", str(workers),
           "-q", "--no-figures", "--profile", "-o", str(out)]
    for o in overrides(n):
        cmd += ["--set", o]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        sys.exit(p.stdout + p.stderr)
    phases = {m.group(1).strip(): float(m.group(2))
              for m in re.finditer(r"^  ([a-z ]+?)\s+([0-9.]+)\s+[0-9.]+ %$", p.stdout, re.M)}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "phases": phases, "text": p.stdout}


def cynetdiff_seconds(n: int, reps: int):
    """Wall and CPU seconds per cascade and the final sizes, or Nones without cynetdiff."""
    try:
        from cynetdiff.models import IndependentCascadeModel
    except ImportError:
        return None, None, None
    import rumorsim as rs

    sc = rs.load(SCENARIO, overrides(n))
    net, _, _ = rs.build(sc, check=False)
    ly = net.layers[0]
    starts = np.ascontiguousarray(ly.indptr[:-1], dtype=np.uint32)
    edges = np.ascontiguousarray(ly.indices, dtype=np.uint32)
    rng = np.random.default_rng(1)
    wall, cpu, sizes = [], [], []
    for r in range(reps):
        seeds = rng.choice(n, SEEDS, replace=False).tolist()
        t0, c0 = time.perf_counter(), time.process_time()
        ic = IndependentCascadeModel(starts, edges, activation_prob=P, rng=r)
        ic.set_seeds(seeds)
        ic.advance_until_completion()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        sizes.append(ic.get_num_activated_nodes())
    return np.array(wall), np.array(cpu), np.array(sizes)


def large_cascades(n: int, runs: int) -> None:
    """``--large``: run_benchmarks.py's independent-cascade row, quicker - one BA graph of
    ``n`` agents (m = 5), p = 0.1, 1 % seeded (a third of agents end active), alternating
    one Rumorsim replicate (``run_replicates``, one thread, as its worker times it) and one
    cynetdiff cascade on the same CSR arrays; median [range] of wall and CPU seconds."""
    from cynetdiff.models import IndependentCascadeModel

    import rumorsim as rs
    from rumorsim.engine import run_replicates

    seeds = n // 100
    sc = rs.load(SCENARIO, [f"population.agents={n}", f"seed.0.count={seeds}",
                            "transitions.0.probability=0.1"])
    net, model, _ = rs.build(sc, check=False)
    ly = net.layers[0]
    starts = np.ascontiguousarray(ly.indptr[:-1], dtype=np.uint32)
    edges = np.ascontiguousarray(ly.indices, dtype=np.uint32)
    run_replicates(model, 1, seed=10_000, workers=1)  # (numba cache load)
    rng = np.random.default_rng(1)
    t = {"rumorsim": ([], [], []), "cynetdiff": ([], [], [])}
    for r in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        raw = run_replicates(model, 1, seed=r, workers=1)
        t["rumorsim"][0].append(time.perf_counter() - w0)
        t["rumorsim"][1].append(time.process_time() - c0)
        t["rumorsim"][2].append(n - raw.counts[0, -1, 0])
        chosen = rng.choice(n, seeds, replace=False).tolist()
        w0, c0 = time.perf_counter(), time.process_time()
        ic = IndependentCascadeModel(starts, edges, activation_prob=0.1, rng=r)
        ic.set_seeds(chosen)
        ic.advance_until_completion()
        t["cynetdiff"][0].append(time.perf_counter() - w0)
        t["cynetdiff"][1].append(time.process_time() - c0)
        t["cynetdiff"][2].append(ic.get_num_activated_nodes())
    print(f"independent cascade, BA n = {n:,}, m = 5, p = 0.1, {seeds:,} seeds, {runs} runs each "
          f"(load average {os.getloadavg()[0]:.1f}):")
    for tool, (w, c, size) in t.items():
        print(f"  {tool:10s} wall {_ms(w)}  CPU {_ms(c)}  final {np.mean(size) / n:.3f}")
    ratio_w = np.median(t["cynetdiff"][0]) / np.median(t["rumorsim"][0])
    ratio_c = np.median(t["cynetdiff"][1]) / np.median(t["rumorsim"][1])
    print(f"  cynetdiff / rumorsim: wall {ratio_w:.2f}x, CPU {ratio_c:.2f}x")


def _ms(vals) -> str:
    v = 1e3 * np.asarray(vals)
    return f"{np.median(v):7.2f} ms [{v.min():.2f} - {v.max():.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--reps", type=int, default=401, help="replicates of the big run (against 1)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cynetdiff-reps", type=int, default=200, help="cascades per round")
    ap.add_argument("--large", action="store_true",
                    help="instead: large cascades at 10^6 agents (p = 0.1, 1 %% seeded), "
                         "kernel against cynetdiff in one process")
    a = ap.parse_args()
    if a.large:
        large_cascades(10**6 if a.n == 300_000 else a.n, max(a.rounds, 5))
        return
    cores = len(os.sched_getaffinity(0))
    extra = a.reps - 1
    keys = [f"w{w}" for w in dict.fromkeys((1, cores))]
    res = {k: {"wall": [], "cpu": [], "kernel": [], "outputs": [], "ratio": []} for k in keys}
    cyn = {"wall": [], "cpu": []}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cli_run(2000, 1, 1, tmp / "warm")  # numba cache warm
        for k in range(a.rounds):
            for key in keys:
                workers = int(key[1:])
                one = cli_run(a.n, 1, workers, tmp / f"a{k}{key}")
                many = cli_run(a.n, a.reps, workers, tmp / f"b{k}{key}")
                r = res[key]
                r["wall"].append((many["wall"] - one["wall"]) / extra)
                r["cpu"].append((many["cpu"] - one["cpu"]) / extra)
                pm, p1 = many["phases"], one["phases"]
                r["kernel"].append((pm.get("kernel", 0) - p1.get("kernel", 0)) / extra)
                r["outputs"].append((pm.get("outputs", 0) - p1.get("outputs", 0)) / extra)
                r["ratio"].append(pm.get("outputs", 0) / max(pm.get("kernel", 0), 1e-9))
                print(f"round {k}: rumorsim run, {workers} worker(s): 1 rep {one['wall']:.2f} s "
                      f"(CPU {one['cpu']:.2f}), {a.reps} reps {many['wall']:.2f} s (CPU "
                      f"{many['cpu']:.2f}) -> {1e3 * r['wall'][-1]:.2f} ms wall, "
                      f"{1e3 * r['cpu'][-1]:.2f} ms CPU per extra replicate", flush=True)
                last = many["text"]
            w, c, sizes = cynetdiff_seconds(a.n, a.cynetdiff_reps)
            if w is not None:
                cyn["wall"].append(np.median(w))
                cyn["cpu"].append(np.median(c))
                print(f"round {k}: cynetdiff median {1e3 * np.median(w):.2f} ms wall, "
                      f"{1e3 * np.median(c):.2f} ms CPU per cascade, mean active "
                      f"{sizes.mean() / a.n:.1%}", flush=True)
    print(f"load average at end: {os.getloadavg()}")
    print("\nlast --profile of the many-replicate run:")
    print("\n".join(line for line in last.splitlines() if line.startswith("  ")))
    print(f"\nper extra replicate / cascade, median [range] over {a.rounds} rounds "
          f"(n = {a.n:,}, p = {P}, {SEEDS} seeds, BA m = 5; {a.reps} against 1 replicate):")
    for key in keys:
        r = res[key]
        print(f"  rumorsim run -w {key[1:]}: wall {_ms(r['wall'])}  CPU {_ms(r['cpu'])}")
        print(f"      of which kernel {_ms(r['kernel'])}, outputs {_ms(r['outputs'])}; "
              f"outputs / kernel of the big run {np.median(r['ratio']):.2f} "
              f"[{min(r['ratio']):.2f} - {max(r['ratio']):.2f}]")
    if cyn["wall"]:
        print(f"  cynetdiff:       wall {_ms(cyn['wall'])}  CPU {_ms(cyn['cpu'])}")
        for key in keys:
            r = res[key]
            print(f"  cynetdiff / rumorsim -w {key[1:]}: wall "
                  f"{np.median(cyn['wall']) / np.median(r['wall']):.2f}x, CPU "
                  f"{np.median(cyn['cpu']) / np.median(r['cpu']):.2f}x")


if __name__ == "__main__":
    main()
