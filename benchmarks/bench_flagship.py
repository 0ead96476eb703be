"""The flagship WeChat scenario at 10^7 agents: build + one replicate, timed per stage.

    python benchmarks/bench_flagship.py                       # 10^7 agents
    python benchmarks/bench_flagship.py --agents 1000000      # smaller, faster

Stages, each with wall and CPU seconds and the resident memory after it:

1. load + validate the scenario (with ``--set population.agents=N``);
2. memory estimate (``rumorsim.api.estimate_memory``) — also the estimate for 10^8
   agents at mean degree 10, printed whether or not it would fit here;
3. numba warm-up on a 2,000-agent copy (compile or cache load, a one-off per machine);
4. network build (native generator) and model compile (``rumorsim.api.build``);
5. one replicate (``rumorsim.engine.run_replicates``, one worker);
6. results: the summary a run directory would record (outcomes in real numbers);
7. two replicates on two threads (not in the total), against the one of stage 5.

Writes nothing unless ``--json PATH`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DEFAULT_SCENARIO = common.REPO / "scenarios" / "wechat_leak_2016.yaml"


class Stages:
    """Times named stages; prints each as it ends."""

    def __init__(self) -> None:
        self.rows: List[Dict[str, Any]] = []

    def __call__(self, name: str) -> "Stages":
        self._name = name
        return self

    def __enter__(self) -> "Stages":
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        row = {"stage": self._name, "wall_s": time.perf_counter() - self._w,
               "cpu_s": time.process_time() - self._c, "rss_after": common.rss_bytes(), "peak_so_far": common.peak_rss_bytes()}
        self.rows.append(row)
        print(f"  {row['stage']:<44s} wall {row['wall_s']:8.2f} s   cpu {row['cpu_s']:8.2f} s   "
              f"rss {row['rss_after'] / 2**30:6.2f} GiB   peak {row['peak_so_far'] / 2**30:6.2f} GiB",
              flush=True)


def estimate_at(rs: Any, sc: Any, agents: int, mean_degree: Optional[float]) -> Dict[str, int]:
    """Memory estimate for ``sc`` at ``agents`` (and every generated layer at ``mean_degree``)."""
    overrides = [f"population.agents={agents}"]
    if mean_degree is not None:
        for name, layer in sc.network.layers.items():
            if layer.m is not None:  # barabasi_albert / powerlaw_cluster: mean degree ~ 2 m
                overrides.append(f"network.layers.{name}.m={max(1, int(round(mean_degree / 2)))}")
            elif layer.mean_degree is not None:
                overrides.append(f"network.layers.{name}.mean_degree={mean_degree}")
    big = rs.override(sc, overrides)
    return rs.estimate_memory(big, replicates=1, workers=1)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(DEFAULT_SCENARIO))
    ap.add_argument("--agents", type=int, default=10**7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="extra scenario overrides, as `rumorsim run --set`")
    ap.add_argument("--estimate-agents", type=int, default=10**8)
    ap.add_argument("--estimate-mean-degree", type=float, default=10.0)
    ap.add_argument("--json", default=None, help="also write the timings here")
    ap.add_argument("--no-pair", action="store_true",
                    help="skip the last stage: two replicates on two threads")
    args = ap.parse_args(argv)

    print(f"Flagship benchmark: {args.scenario} at {args.agents:,} agents")
    m = common.machine()
    print(f"machine: {m['cpu']}, {m['cores']} cores, {(m['memory_bytes'] or 0) / 2**30:.1f} GiB, "
          f"load {m['load_average']}")
    st = Stages()
    with st("import rumorsim"):
        import rumorsim as rs
        from rumorsim.engine import run_replicates
        from rumorsim.formatting import format_bytes
        from rumorsim.memory import available_memory_bytes
        from rumorsim.results import Results
    overrides = [f"population.agents={args.agents}"] + list(args.set)
    with st("load + validate scenario"):
        sc = rs.load(args.scenario, overrides)
    with st("memory estimate"):
        est = rs.estimate_memory(sc, replicates=1, workers=1)
    print(f"    estimate at {args.agents:,} agents: {format_bytes(est['total'])} "
          f"(network {format_bytes(est['network'])}, build peak {format_bytes(est['network_build_peak'])}, "
          f"per replicate {format_bytes(est['per_replicate'])})")
    with st("numba warm-up (2,000 agents: compile or cache load)"):
        small = rs.override(sc, ["population.agents=2000"])
        _, wm, _ = rs.build(small, seed=args.seed, check=False)
        run_replicates(wm, 1, seed=args.seed, workers=1)
    with st("build network (native) + compile model"):
        net, model, timings = rs.build(sc, seed=args.seed, replicates=1, workers=1)
    layer_info = ", ".join(f"{l.name}: {l.n_edges:,} edges ({l.builder}, {l.build_seconds:.1f} s)"
                           for l in net.layers)
    print(f"    {layer_info}; model compile {timings['compile_seconds']:.2f} s; "
          f"{model.n_steps:,} steps of dt = {model.dt}, {model.n_joint} joint states")
    with st("one replicate (1 worker)"):
        raw = run_replicates(model, 1, seed=args.seed, workers=1)
    with st("results: network stats + summary"):
        prov = rs.provenance(sc, seed=args.seed, replicates=1, workers=1, timings=timings,
                             command=" ".join(sys.argv), model=model)
        res = Results(sc, model.info, raw, net.stats(), prov)
        summary = res.summary()
    total = sum(r["wall_s"] for r in st.rows)
    print(f"  {'total':<44s} wall {total:8.2f} s;  peak RSS {common.peak_rss_bytes() / 2**30:.2f} GiB "
          f"(estimate {format_bytes(est['total'])}); steps run {int(raw.steps_run[0]):,}")
    if not args.no_pair:
        # not in the total: the issue asks that two replicates on 2 threads take little
        # more than one (the kernel releases the GIL; replicates share nothing)
        with st("two replicates (2 workers)"):
            run_replicates(model, 2, seed=args.seed + 1, workers=2)
        one_wall = next(r["wall_s"] for r in st.rows if r["stage"] == "one replicate (1 worker)")
        print(f"    two replicates on 2 threads: {st.rows[-1]['wall_s'] / one_wall:.2f} x the wall "
              "time of one")
    outcomes = summary.get("outcomes") if isinstance(summary, dict) else None
    if outcomes:
        print("  outcomes (real population):")
        for k, v in list(outcomes.items())[:8]:
            print(f"    {k}: {v}")

    big = estimate_at(rs, sc, args.estimate_agents, args.estimate_mean_degree)
    avail = available_memory_bytes()
    fits = big["total"] <= 0.8 * avail
    print(f"\nMemory estimate at {args.estimate_agents:,} agents, mean degree "
          f"{args.estimate_mean_degree:g}: {format_bytes(big['total'])} in all — network "
          f"{format_bytes(big['network'])} (build peak {format_bytes(big['network_build_peak'])}), "
          f"per replicate {format_bytes(big['per_replicate'])}, outputs {format_bytes(big['outputs'])}. "
          f"This machine has {format_bytes(avail)} available: "
          + ("it fits." if fits else "Rumorsim would refuse it here with a clear message."))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "scenario": args.scenario, "agents": args.agents, "stages": st.rows,
            "estimate": est, "estimate_big": big, "available_bytes": avail,
            "peak_rss_bytes": common.peak_rss_bytes(), "machine": m, "versions": common.versions(),
        }, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
