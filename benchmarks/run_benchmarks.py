"""Rumorsim against peer libraries on the same graphs and models, in one command.

    python benchmarks/run_benchmarks.py            # 10^4 .. 10^6 agents (< 25 min, 2 cores)
    python benchmarks/run_benchmarks.py --quick    # 10^4 and 10^5 only: a smoke run
    python benchmarks/run_benchmarks.py --big      # also 10^7 agents in the comparison

What it does (details in benchmarks/README.md):

1. builds one Barabási–Albert graph (m = 5) per size with Rumorsim's native generator
   and saves its CSR arrays; every tool gets exactly these edges;
2. runs each tool on each model in its own subprocess (``worker.py``), so peak memory
   is per tool: continuous-time SIR (EoN.fast_SIR, fastGEMF), discrete SIR
   (EoN.basic_discrete_SIR, NDlib), independent cascade (cynetdiff), each against
   Rumorsim on the same graph with the same number of initially infected agents;
3. checks that mean final sizes agree within a stated tolerance;
4. times graph building (Rumorsim native, networkx, igraph), Rumorsim's numba compile
   and cache-load costs, and Rumorsim's scaling with agents and mean degree;
5. writes benchmarks/results.md, results.json and time_vs_agents.png (+ scaling.png).

A peer that is not installed, fails, or would take too long (extrapolated from the
size below) is skipped with the reason written in the table; the suite never stops
for it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import report  # noqa: E402

WORKER = common.HERE / "worker.py"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_job(job: Dict[str, Any], tmp: Path, timeout: float,
            env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Run one job in a fresh Python process; its result, or why there is none."""
    out = tmp / f"result_{os.getpid()}_{time.monotonic_ns()}.json"
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(WORKER), json.dumps(job), str(out)],
            cwd=str(common.REPO), env=env, capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "error": f"killed after {timeout:.0f} s (time limit)"}
    if not out.exists():
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        return {"status": "failed", "error": f"exit {proc.returncode}: " + " | ".join(tail),
                "job_wall_s": time.perf_counter() - t0}
    res = json.loads(out.read_text())
    out.unlink()
    return res


# ----------------------------------------------------------------------------- steps


def build_graphs(sizes: List[int], folder: Path) -> Dict[int, Dict[str, Any]]:
    """Build each BA graph once, natively, and save its CSR arrays for the workers."""
    from rumorsim.network import build_layer
    from rumorsim.scenario import LayerSpec

    spec = LayerSpec(generator="barabasi_albert", m=common.BA_M, native=True)
    info = {}
    for n in sizes:
        t0 = time.perf_counter()
        layer = build_layer("contacts", spec, n, 1)
        a, b = common.graph_paths(folder, n)
        np.save(a, layer.indptr)
        np.save(b, layer.indices)
        deg = layer.degree()
        info[n] = {
            "edges": int(layer.n_edges), "mean_degree": float(deg.mean()),
            "max_degree": int(deg.max()), "seconds": time.perf_counter() - t0,
            "degree_counts": np.bincount(deg).tolist() if n <= 10**6 else None,
        }
        log(f"graph BA(n={n:,}, m={common.BA_M}): {layer.n_edges:,} edges, "
            f"max degree {deg.max():,} ({info[n]['seconds']:.1f} s)")
        del layer, deg
    return info


def compile_jobs(tmp: Path) -> Dict[str, Any]:
    """Numba compile from an empty cache, then cache load, each in a fresh process."""
    cache = tmp / "numba_cache"
    cache.mkdir(exist_ok=True)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    cold = run_job({"kind": "compile"}, tmp, 900, env)
    log(f"numba from an empty cache: {_fmt_compile(cold)}")
    warm = run_job({"kind": "compile"}, tmp, 900, env)
    log(f"numba from the cache:      {_fmt_compile(warm)}")
    return {"cold": cold, "warm": warm}


def _fmt_compile(r: Dict[str, Any]) -> str:
    if r.get("status") != "ok":
        return f"{r.get('status')}: {r.get('error')}"
    return (f"import {r['import_s']:.1f} s, generators {r['generators_first_s']:.1f} s, "
            f"kernel {r['kernel_first_s']:.1f} s")


def _median(xs: List[float]) -> float:
    return float(np.median(xs)) if xs else math.nan


def sim_jobs(sizes: List[int], graph_dir: Path, tmp: Path, args: argparse.Namespace,
             tools_wanted: Optional[set]) -> List[Dict[str, Any]]:
    """Every tool on every model at every size, smallest first, skipping what cannot finish."""
    rows: List[Dict[str, Any]] = []
    avail_mem = report.available_memory()
    for model in common.MODELS.values():
        for tool in ("rumorsim",) + model.tools:
            if tools_wanted and tool not in tools_wanted:
                continue
            prev: Optional[Dict[str, Any]] = None
            for n in sizes:
                row = {"model": model.key, "tool": tool, "n": n}
                reason = _skip_reason(tool, n, prev, args, avail_mem)
                if reason:
                    row.update(status="skipped", error=reason)
                    log(f"{model.key:6s} {tool:17s} n={n:>10,}: skipped ({reason})")
                    rows.append(row)
                    continue
                runs = args.runs * 3 if n <= 10**4 else args.runs
                est = _extrapolate(prev, n) if prev else None
                timeout = args.timeout if est is None else min(
                    args.timeout, max(300.0, 4 * est * min(runs, 2) + 200))
                job = {"kind": "sim", "tool": tool, "model": model.key, "n": n,
                       "graph_dir": str(graph_dir), "runs": runs, "budget_s": args.job_budget}
                res = run_job(job, tmp, timeout)
                row.update(res)
                rows.append(row)
                if res.get("status") == "ok":
                    log(f"{model.key:6s} {tool:17s} n={n:>10,}: wall {_median(res['wall_s']):8.3f} s"
                        f"  cpu {_median(res['cpu_s']):8.3f} s  ({len(res['wall_s'])} runs)  "
                        f"final {np.mean(res['final']) / n:.4f}  peak {res['peak_rss_bytes'] / 2**20:,.0f} MiB")
                    prev = row
                else:
                    log(f"{model.key:6s} {tool:17s} n={n:>10,}: {res.get('status')}: {res.get('error')}")
                    if res.get("status") in ("unavailable",):
                        prev = row  # the next sizes say the same, without starting a process
    return rows


def _extrapolate(prev: Dict[str, Any], n: int) -> float:
    """Seconds one run at n would take, from the size below (linear in agents, on CPU time:
    wall time on a shared machine swings with other people's work)."""
    t = max(_median(prev["cpu_s"]), _median(prev["wall_s"]) * 0.5)
    return t * n / prev["n"]


def _skip_reason(tool: str, n: int, prev: Optional[Dict[str, Any]], args: argparse.Namespace,
                 avail_mem: int) -> Optional[str]:
    if prev is None:
        return None
    if prev.get("status") == "unavailable":
        return f"not installed or not importable ({prev.get('error')})"
    if prev.get("status") != "ok":
        return f"failed or timed out at n={prev['n']:,}"
    est = _extrapolate(prev, n)
    if tool != "rumorsim" and est > args.peer_limit:
        return (f"one run extrapolated to {est:,.0f} s from {_median(prev['cpu_s']):,.1f} s "
                f"at n={prev['n']:,} > limit {args.peer_limit:.0f} s")
    mem = prev["peak_rss_bytes"] * n / prev["n"]
    if mem > 0.8 * avail_mem:
        return (f"peak memory extrapolated to {mem / 2**30:,.1f} GiB from n={prev['n']:,} "
                f"> 80 % of the {avail_mem / 2**30:,.1f} GiB available")
    return None


def build_jobs(sizes: List[int], tmp: Path, args: argparse.Namespace) -> List[Dict[str, Any]]:
    rows = []
    for n in sizes:
        for builder in ("rumorsim", "igraph", "networkx"):
            if builder == "networkx" and n > args.networkx_build_max:
                rows.append({"builder": builder, "n": n, "status": "skipped",
                             "error": f"networkx is timed only up to {args.networkx_build_max:,} agents"})
                continue
            res = run_job({"kind": "build", "builder": builder, "n": n, "m": common.BA_M},
                          tmp, args.timeout)
            res.update(builder=builder, n=n)
            rows.append(res)
            if res.get("status") == "ok":
                log(f"build {builder:9s} n={n:>11,}: wall {res['wall_s'][0]:7.2f} s  cpu "
                    f"{res['cpu_s'][0]:7.2f} s  peak {res['peak_rss_bytes'] / 2**20:,.0f} MiB")
            else:
                log(f"build {builder:9s} n={n:>11,}: {res.get('status')}: {res.get('error')}")
    return rows


def scaling_jobs(agent_sizes: List[int], degree_n: int, ms: List[int], tmp: Path,
                 args: argparse.Namespace) -> Dict[str, List[Dict[str, Any]]]:
    out: Dict[str, List[Dict[str, Any]]] = {"agents": [], "degree": []}
    for key, points in (("agents", [(n, common.BA_M) for n in agent_sizes]),
                        ("degree", [(degree_n, m) for m in ms])):
        for n, m in points:
            runs = 3 if n <= 10**5 else 1
            res = run_job({"kind": "scaling", "n": n, "m": m, "runs": runs,
                           "budget_s": args.job_budget}, tmp, args.timeout)
            res.update(n=n, m=m)
            out[key].append(res)
            if res.get("status") == "ok":
                log(f"scaling n={n:>11,} m={m:2d}: build {res['build_wall_s']:6.2f} s, run wall "
                    f"{_median(res['wall_s']):7.3f} s cpu {_median(res['cpu_s']):7.3f} s, peak "
                    f"{res['peak_rss_bytes'] / 2**20:,.0f} MiB (estimate {res['estimate_bytes'] / 2**20:,.0f} MiB)")
            else:
                log(f"scaling n={n:>11,} m={m:2d}: {res.get('status')}: {res.get('error')}")
    return out


# ------------------------------------------------------------------------------ main


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10^4 and 10^5 agents only (smoke run)")
    ap.add_argument("--big", action="store_true",
                    help="add 10^7 agents to the comparison (Rumorsim and peers that manage)")
    ap.add_argument("--runs", type=int, default=3,
                    help="timed runs per tool and size (x3 at 10^4), within --job-budget")
    ap.add_argument("--job-budget", type=float, default=60.0,
                    help="stop repeating a job's runs once they took this many seconds")
    ap.add_argument("--peer-limit", type=float, default=240.0,
                    help="skip a peer at a size where one run extrapolates beyond this (s)")
    ap.add_argument("--timeout", type=float, default=900.0, help="hard limit per job (s)")
    ap.add_argument("--tools", default="", help="comma-separated subset of tools")
    ap.add_argument("--networkx-build-max", type=int, default=10**6,
                    help="largest size at which networkx's own BA generator is timed")
    ap.add_argument("--no-scaling", action="store_true", help="skip the Rumorsim scaling curves")
    ap.add_argument("--no-build", action="store_true", help="skip graph-building timings")
    ap.add_argument("--no-compile", action="store_true", help="skip numba compile timings")
    ap.add_argument("--out", default=str(common.HERE), help="folder for results.md and plots")
    args = ap.parse_args(argv)

    started = time.perf_counter()
    sizes = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
    if args.big:
        sizes.append(10**7)
    build_sizes = [10**5] if args.quick else [10**6, 10**7]
    scale_sizes = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6, 10**7]
    degree_n = 10**4 if args.quick else 10**6
    ms = [1, 2, 5, 10, 20]
    tools = {t.strip() for t in args.tools.split(",") if t.strip()} or None
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="rumorsim_bench_"))
    results: Dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name] + sys.argv),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": common.machine(), "versions": common.versions(),
        "parameters": {
            "ba_m": common.BA_M, "seed_share": common.SEED_SHARE, "tau": common.TAU,
            "gamma": common.GAMMA, "dt": common.choose_dt(), "p_discrete": common.P_DISCRETE,
            "p_cascade": common.P_CASCADE, "t_rel_tol": common.T_REL_TOL,
            "runs": args.runs, "job_budget_s": args.job_budget, "peer_limit_s": args.peer_limit,
            "quick": args.quick, "big": args.big,
        },
    }
    log(f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"{(results['machine']['memory_bytes'] or 0) / 2**30:.1f} GiB; load {results['machine']['load_average']}")
    try:
        results["graphs"] = build_graphs(sizes, tmp)
        if not args.no_compile:
            results["compile"] = compile_jobs(tmp)
        results["sims"] = sim_jobs(sizes, tmp, tmp, args, tools)
        if not args.no_build:
            results["builds"] = build_jobs(build_sizes, tmp, args)
        if not args.no_scaling:
            results["scaling"] = scaling_jobs(scale_sizes, degree_n, ms, tmp, args)
    finally:
        results["suite_seconds"] = time.perf_counter() - started
        results["load_average_end"] = common.machine()["load_average"]
        (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
        report.write(results, out_dir)
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"done in {results['suite_seconds'] / 60:.1f} min: {out_dir / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
