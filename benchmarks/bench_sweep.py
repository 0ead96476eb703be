"""Sweep throughput: P points x R replicates against one run of P*R replicates.

    python benchmarks/bench_sweep.py                          # P = 32, R = 8, SIR at 5,000 agents
    python benchmarks/bench_sweep.py --points 64 --reps 4 --agents 2000 --workers 2

A sweep of many small runs must not pay for process start-up, compilation or graph
building per point. The reference is ``rumorsim.run`` of the base scenario with P*R
replicates (one network, one compile, replicates on threads over all cores); the sweep
varies the infection rate within +-2 % of the base value (so the work per replicate is
the same as the reference's) and runs:

1. ``rumorsim.sweep.run_points`` in memory, in this process (``workers=1``);
2. ``rumorsim.sweep.run_sweep`` on disk (every point committed atomically, tables and
   provenance written at the end; no figures), in this process;
3. the same on disk with ``--workers`` spawned processes (start-up included).

Throughput is replicates per second; the ratio is sweep / reference (target >= 70 %).
Each is timed ``--repeat`` times (interleaved) and the fastest kept; the CPU time of this
process (kernel threads included) is shown too, with its ratio: on a shared machine it
says what the work costs whatever the others' load does to the wall time.
The numba kernel is warmed (compiled or loaded from cache) before anything is timed.
Writes nothing unless ``--json PATH`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=32)
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--agents", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2, help="processes for the third timing")
    ap.add_argument("--repeat", type=int, default=3, help="timings per measurement; the fastest is kept")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")

    import rumorsim as rs
    from rumorsim.design import design_points
    import rumorsim.sweep as sweep_module
    from rumorsim.sweep import run_points, run_sweep
    from rumorsim.sweepfile import parse_sweep

    P, R = args.points, args.reps
    overrides = [f"population.agents={args.agents}"]
    base = rs.load("classic/sir", overrides)
    rs.run(rs.load("classic/sir", ["population.agents=500", "time.until=5"]), replicates=2, seed=0)  # warm

    rate = base.transition("infection").rate
    pts = [{"transitions.infection.rate": float(x)} for x in np.linspace(0.98 * rate, 1.02 * rate, P)]

    text = (f"base: {REPO / 'scenarios' / 'classic' / 'sir.yaml'}\ndesign: grid\nreplicates: {R}\nseed: 1\n"
            f"common: {{population.agents: {args.agents}}}\noutcomes: [final_health_R]\n"
            f"parameters:\n  transitions.infection.rate: {{low: {0.98 * rate}, high: {1.02 * rate}, steps: {P}}}\n")
    spec = parse_sweep(text, str(REPO / "benchmarks" / "bench_sweep.yaml"))
    assert len(design_points(spec)) == P
    # Each measurement --repeat times, interleaved; the fastest of each is reported (on a
    # shared machine the others' load only ever adds time).
    timings: dict = {"ref": [], "mem": [], "disk_1": [], f"disk_{args.workers}p": []}
    cpu: dict = {k: [] for k in timings}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            rs.run(base, replicates=P * R, seed=1)
            timings["ref"].append(time.perf_counter() - t0)
            cpu["ref"].append(time.process_time() - c0)
            sweep_module.forget_cached()  # the sweep builds its network once, as the run does
            t0, c0 = time.perf_counter(), time.process_time()
            df = run_points(base, pts, R, 1, outcomes=["final_health_R"])
            timings["mem"].append(time.perf_counter() - t0)
            cpu["mem"].append(time.process_time() - c0)
            assert len(df) == P * R
            for label, workers in (("disk_1", 1), (f"disk_{args.workers}p", args.workers)):
                sweep_module.forget_cached()
                t0, c0 = time.perf_counter(), time.process_time()
                run_sweep(spec, Path(tmp) / f"{label}-{k}", workers=workers, log=lambda s: None, figures=False)
                timings[label].append(time.perf_counter() - t0)
                cpu[label].append(time.process_time() - c0)
    timings = {k: min(v) for k, v in timings.items()}
    cpu = {k: min(v) for k, v in cpu.items()}
    t_ref, t_mem = timings["ref"], timings["mem"]

    n = P * R
    rows = [("reference: one run of P*R replicates", t_ref, cpu["ref"]),
            ("sweep in memory (run_points, this process)", t_mem, cpu["mem"]),
            ("sweep on disk (run_sweep, this process)", timings["disk_1"], cpu["disk_1"]),
            (f"sweep on disk ({args.workers} worker processes)", timings[f"disk_{args.workers}p"], None)]
    print(f"SIR, {args.agents:,} agents, {P} points x {R} replicates = {n} replicates; "
          f"{os.cpu_count()} CPUs; fastest of {args.repeat}")
    out = {"points": P, "replicates": R, "agents": args.agents, "cpus": os.cpu_count(), "rows": []}
    for label, t, c in rows:
        ratio = t_ref / t
        cpu_text = f"   CPU {c:6.2f} s ({cpu['ref'] / c:4.0%})" if c is not None else "   CPU (other processes)"
        print(f"  {label:<48s} {t:7.2f} s  {n / t:8.1f} replicates/s  {ratio:6.0%} of the run{cpu_text}")
        out["rows"].append({"label": label, "seconds": t, "cpu_seconds": c, "replicates_per_second": n / t,
                            "ratio": ratio})
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
