"""One benchmark job in its own process, so its peak memory is its own.

``python benchmarks/worker.py JOB_JSON OUT_JSON`` runs one job and writes its result
as JSON. ``run_benchmarks.py`` starts one of these per tool, model and size, per graph
builder, per scaling point, and for the numba compile / cache-load measurement.

Timing rule, the same for every tool: the clock starts once the graph exists in the
tool's own input format (a networkx Graph for EoN and NDlib, a scipy CSR matrix for
fastGEMF, CSR arrays for cynetdiff and Rumorsim) and stops when the epidemic is over.
It covers model set-up, initial condition and simulation; converting our CSR arrays
into the tool's format is reported apart as ``setup_s``. Rumorsim is run once on the
job's graph before timing (numba compile or cache load), as is every tool's import.
Wall time and process CPU time are both recorded: on a shared machine wall time picks
up other people's work, CPU time much less.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def _reset_peak() -> None:
    """Set VmHWM back to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


class Clock:
    """Wall and CPU seconds of a block."""

    def __enter__(self) -> "Clock":
        gc.collect()
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0


# --------------------------------------------------------------------------- graphs


def networkx_graph(indptr: np.ndarray, indices: np.ndarray):
    import networkx as nx

    n = indptr.shape[0] - 1
    src, dst = common.upper_edges(indptr, indices)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(src.tolist(), dst.tolist()))
    return g


def rumorsim_network(indptr: np.ndarray, indices: np.ndarray, layer_name: str):
    """Our CSR arrays as a Rumorsim Network (no rebuilding, the very same graph)."""
    from rumorsim.generators import in_strength
    from rumorsim.network import Layer, Network

    n = indptr.shape[0] - 1
    strength = in_strength(indptr, indices, np.empty(0), False, False)
    layer = Layer(name=layer_name, n_agents=n, indptr=indptr, indices=indices, weights=None,
                  directed=False, complete=False, in_strength=strength, builder="native")
    return Network(n_agents=n, layers=(layer,))


# --------------------------------------------------------------------------- tools
# Each maker returns (setup_seconds, run(r) -> final size) for one graph.


def rumorsim_overrides(model: str, n: int, extra: Tuple[str, ...] = ()) -> List[str]:
    out = [f"population.agents={n}", f"seed.0.count={common.seed_count(n)}"]
    if model == "sir_ct":
        out += [f"time.dt={common.choose_dt()}", f"transitions.0.rate={common.TAU}",
                f"transitions.1.rate={common.GAMMA}"]
    elif model == "sir_dt":
        out += [f"transitions.0.probability={common.P_DISCRETE}"]
    elif model == "ic":
        out += [f"transitions.0.probability={common.P_CASCADE}"]
    return out + list(extra)


def make_rumorsim(model: str, indptr: np.ndarray, indices: np.ndarray, job: Dict[str, Any]):
    import rumorsim as rs
    from rumorsim.engine import run_replicates

    n = indptr.shape[0] - 1
    path = common.HERE / "scenarios" / f"{common.MODELS[model].scenario}.yaml"
    sc = rs.load(path, rumorsim_overrides(model, n))
    layer_name = next(iter(sc.network.layers))
    with Clock() as c:
        net = rumorsim_network(indptr, indices, layer_name)
    # numba compile or cache load, outside the timed runs (reported by the compile job)
    with Clock() as first:
        _, cm, _ = rs.build(sc, network=net, check=False)
        run_replicates(cm, 1, seed=10_000, workers=1)
    job["_first_call_s"] = first.wall

    def run(r: int) -> int:
        _, cm, _ = rs.build(sc, network=net, check=False)
        raw = run_replicates(cm, 1, seed=r, workers=1)
        return int(n - raw.counts[0, -1, 0])  # everyone who left the first state

    return c.wall, run


def make_eon_fast_sir(model: str, indptr, indices, job):
    import EoN

    with Clock() as c:
        g = networkx_graph(indptr, indices)
    n = g.number_of_nodes()

    def run(r: int) -> int:
        seeds = common.initial_seeds(n, r).tolist()
        _, _, _, R = EoN.fast_SIR(g, common.TAU, common.GAMMA, initial_infecteds=seeds,
                                  rng=np.random.default_rng(r))
        return int(R[-1])

    return c.wall, run


def make_eon_discrete_sir(model: str, indptr, indices, job):
    import EoN

    with Clock() as c:
        g = networkx_graph(indptr, indices)
    n = g.number_of_nodes()

    def run(r: int) -> int:
        seeds = common.initial_seeds(n, r).tolist()
        _, _, _, R = EoN.basic_discrete_SIR(g, common.P_DISCRETE, initial_infecteds=seeds,
                                            rng=np.random.default_rng(r))
        return int(R[-1])

    return c.wall, run


def make_ndlib_sir(model: str, indptr, indices, job):
    import ndlib.models.ModelConfig as mc
    import ndlib.models.epidemics as ep

    with Clock() as c:
        g = networkx_graph(indptr, indices)
    n = g.number_of_nodes()

    def run(r: int) -> int:
        # NDlib's SIRModel: every step, each infected agent tries each susceptible
        # neighbour with probability beta and then recovers with probability gamma;
        # gamma = 1 is the one-infectious-step model of EoN.basic_discrete_SIR.
        # (NDlib seeds numpy's global generator itself, from `seed`.)
        sim = ep.SIRModel(g, seed=r)
        cfg = mc.Configuration()
        cfg.add_model_parameter("beta", common.P_DISCRETE)
        cfg.add_model_parameter("gamma", 1.0)
        cfg.add_model_initial_configuration("Infected", common.initial_seeds(n, r).tolist())
        sim.set_initial_status(cfg)
        while True:
            it = sim.iteration(node_status=False)
            if it["node_count"].get(1, 0) == 0:
                break
        return int(n - it["node_count"].get(0, 0))

    return c.wall, run


def make_fastgemf(model: str, indptr, indices, job):
    import fastgemf as fg
    import scipy.sparse as sp

    n = indptr.shape[0] - 1
    with Clock() as c:
        adj = sp.csr_matrix((np.ones(indices.shape[0]), indices, indptr), shape=(n, n))
    schema = (
        fg.ModelSchema("SIR")
        .define_compartment(["S", "I", "R"])
        .add_network_layer("contacts")
        .add_node_transition(name="recovery", from_state="I", to_state="R", rate="gamma")
        .add_edge_interaction(name="infection", from_state="S", to_state="I", inducer="I",
                              network_layer="contacts", rate="beta")
    )

    def run(r: int) -> int:
        np.random.seed(r)  # fastGEMF draws from numpy's global generator
        x0 = np.zeros(n, dtype=int)
        x0[common.initial_seeds(n, r)] = 1
        conf = (fg.ModelConfiguration(schema).add_parameter(beta=common.TAU, gamma=common.GAMMA)
                .get_networks(contacts=adj))
        # no event or time cap: it stops when the total rate is zero (extinction)
        sim = fg.Simulation(conf, initial_condition={"exact": x0},
                            stop_condition={"events": 10**15}, nsim=1)
        sim.run()
        x = np.asarray(sim.setup.X)
        return int(np.count_nonzero(x != 0))

    return c.wall, run


def make_cynetdiff(model: str, indptr, indices, job):
    from cynetdiff.models import IndependentCascadeModel

    n = indptr.shape[0] - 1
    with Clock() as c:
        # cynetdiff's CSR: `starts` has one entry per node (no closing pointer)
        starts = np.ascontiguousarray(indptr[:-1], dtype=np.uint32)
        edges = np.ascontiguousarray(indices, dtype=np.uint32)

    def run(r: int) -> int:
        ic = IndependentCascadeModel(starts, edges, activation_prob=common.P_CASCADE, rng=r)
        ic.set_seeds(common.initial_seeds(n, r).tolist())
        ic.advance_until_completion()
        return int(ic.get_num_activated_nodes())

    return c.wall, run


MAKERS: Dict[str, Callable] = {
    "rumorsim": make_rumorsim,
    "eon_fast_sir": make_eon_fast_sir,
    "fastgemf": make_fastgemf,
    "eon_discrete_sir": make_eon_discrete_sir,
    "ndlib_sir": make_ndlib_sir,
    "cynetdiff": make_cynetdiff,
}


# ---------------------------------------------------------------------------- jobs


def job_sim(job: Dict[str, Any]) -> Dict[str, Any]:
    """Time one tool on one model at one size: a few runs, within a time budget."""
    indptr, indices = common.load_graph(Path(job["graph_dir"]), job["n"])
    setup_s, run = MAKERS[job["tool"]](job["model"], indptr, indices, job)
    del indptr, indices
    rss_before = common.rss_bytes()
    walls: List[float] = []
    cpus: List[float] = []
    finals: List[int] = []
    spent = 0.0
    for r in range(job["runs"]):
        with Clock() as c:
            finals.append(run(r))
        walls.append(c.wall)
        cpus.append(c.cpu)
        spent += c.wall
        if spent >= job["budget_s"]:
            break
    return {
        "setup_s": setup_s, "wall_s": walls, "cpu_s": cpus, "final": finals,
        "rss_before_runs": rss_before, "first_call_s": job.get("_first_call_s"),
    }


def job_build(job: Dict[str, Any]) -> Dict[str, Any]:
    """Time building BA(n, m) with one builder: Rumorsim native, networkx or igraph."""
    n, m, builder = job["n"], job["m"], job["builder"]
    if builder == "rumorsim":
        from rumorsim.network import build_layer
        from rumorsim.scenario import LayerSpec

        spec = LayerSpec(generator="barabasi_albert", m=m, native=True)
        build_layer("warm", spec, 1000, 0)  # compile or load the generators' cache
        with Clock() as c:
            layer = build_layer("g", spec, n, 1)
        edges = layer.n_edges
    elif builder == "networkx":
        import networkx as nx

        with Clock() as c:
            g = nx.barabasi_albert_graph(n, m, seed=1)
        edges = g.number_of_edges()
    elif builder == "igraph":
        import random

        import igraph

        random.seed(1)
        with Clock() as c:
            # outpref: attachment by total degree (+ zero_appeal 1), as undirected BA
            g = igraph.Graph.Barabasi(n, m, outpref=True, directed=False,
                                      implementation="psumtree")
        edges = g.ecount()
    else:
        raise ValueError(builder)
    return {"wall_s": [c.wall], "cpu_s": [c.cpu], "edges": int(edges)}


def job_scaling(job: Dict[str, Any]) -> Dict[str, Any]:
    """Rumorsim end to end at (n, m): native build, model, one replicate; peak memory."""
    import rumorsim as rs
    from rumorsim.engine import run_replicates

    n, m = job["n"], job["m"]
    tau = common.TAU * common.BA_M / m  # tau * <k> held fixed across mean degrees
    path = common.HERE / "scenarios" / "sir_continuous.yaml"
    extra = (f"network.layers.contacts.m={m}", f"transitions.0.rate={tau}")
    warm = rs.load(path, rumorsim_overrides("sir_ct", 2000, extra))
    _, wm, _ = rs.build(warm, seed=1, check=False)
    run_replicates(wm, 1, seed=0, workers=1)  # compile / cache load on a small graph
    sc = rs.load(path, rumorsim_overrides("sir_ct", n, extra))
    est = rs.estimate_memory(sc, replicates=1, workers=1)
    gc.collect()
    _reset_peak()  # the peak from here on is the build's and the run's, not the warm-up's
    rss0 = common.rss_bytes()
    with Clock() as b:
        net, cm, _ = rs.build(sc, seed=1, check=False)
    edges = net.layers[0].n_edges
    mean_degree = 2.0 * edges / n
    walls, cpus, finals = [], [], []
    spent = 0.0
    for r in range(job["runs"]):
        with Clock() as c:
            raw = run_replicates(cm, 1, seed=r, workers=1)
        walls.append(c.wall)
        cpus.append(c.cpu)
        finals.append(int(n - raw.counts[0, -1, 0]))
        spent += c.wall
        if spent >= job["budget_s"]:
            break
    return {
        "build_wall_s": b.wall, "build_cpu_s": b.cpu, "wall_s": walls, "cpu_s": cpus,
        "final": finals, "edges": int(edges), "mean_degree": mean_degree, "tau": tau,
        "rss_start": rss0, "estimate_bytes": int(est["total"]),
    }


def job_compile(job: Dict[str, Any]) -> Dict[str, Any]:
    """Seconds spent in numba on first use, in a fresh process (compile or cache load).

    The parent points NUMBA_CACHE_DIR at an empty folder for the first such process
    (numba compiles everything) and at the same, now filled, folder for the second
    (numba loads the cache): the one-off costs a user sees on a first and a later run.
    """
    with Clock() as imp:
        import rumorsim as rs
        from rumorsim.engine import run_replicates
    path = common.HERE / "scenarios" / "sir_continuous.yaml"
    sc = rs.load(path, rumorsim_overrides("sir_ct", 2000))
    with Clock() as g1:
        net, cm, _ = rs.build(sc, seed=1, check=False)
    with Clock() as g2:
        rs.build(sc, seed=2, check=False)
    with Clock() as k1:
        run_replicates(cm, 1, seed=0, workers=1)
    with Clock() as k2:
        run_replicates(cm, 1, seed=0, workers=1)
    return {
        "import_s": imp.wall,
        "generators_first_s": g1.wall, "generators_again_s": g2.wall,
        "kernel_first_s": k1.wall, "kernel_again_s": k2.wall,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
    }


JOBS = {"sim": job_sim, "build": job_build, "scaling": job_scaling, "compile": job_compile}


def main() -> int:
    job = json.loads(sys.argv[1])
    out = Path(sys.argv[2])
    t0 = time.perf_counter()
    try:
        result = JOBS[job["kind"]](job)
        result["status"] = "ok"
    except ImportError as e:
        result = {"status": "unavailable", "error": f"{type(e).__name__}: {e}"}
    except MemoryError as e:
        result = {"status": "failed", "error": f"MemoryError: {e}"}
    except Exception as e:  # noqa: BLE001 - reported in the table, never crashes the suite
        result = {"status": "failed", "error": f"{type(e).__name__}: {e}",
                  "traceback": traceback.format_exc(limit=6)}
    result["peak_rss_bytes"] = common.peak_rss_bytes()
    result["job_wall_s"] = time.perf_counter() - t0
    out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
