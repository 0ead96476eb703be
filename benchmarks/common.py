"""What every benchmark process agrees on: the models' parameters, the graphs, the
discretisation, and how a machine and its libraries are described.

Imported by ``run_benchmarks.py`` (the parent) and ``worker.py`` (one subprocess per
tool, model and size), so both sides read the same numbers from one place.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# --------------------------------------------------------------------------- models

#: Edges added per new agent in the Barabási–Albert graph (mean degree ~ 2 m).
BA_M = 5
#: Share of agents infected / active at the start (the same count for every tool).
SEED_SHARE = 0.01
#: Continuous-time SIR: transmission rate per infected neighbour, recovery rate.
TAU = 0.2
GAMMA = 1.0
#: Discrete SIR (EoN.basic_discrete_SIR, NDlib): per-edge, per-step probability.
P_DISCRETE = 0.1
#: Independent cascade (cynetdiff): per-edge activation probability.
P_CASCADE = 0.1
#: dt is chosen so the discrete model's per-edge transmissibility is within this
#: relative distance of tau / (tau + gamma).
T_REL_TOL = 0.005
#: Candidate steps, largest first (round numbers, so the table reads well).
DT_CANDIDATES = (0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005)


@dataclass(frozen=True)
class Model:
    """One of the benchmark's models and how it is labelled."""

    key: str
    title: str
    scenario: str  # benchmarks/scenarios/<scenario>.yaml
    tools: Tuple[str, ...]  # peers that simulate it (Rumorsim is always there)


MODELS: Dict[str, Model] = {
    "sir_ct": Model("sir_ct", "continuous-time SIR", "sir_continuous", ("eon_fast_sir", "fastgemf")),
    "sir_dt": Model("sir_dt", "discrete SIR (one infectious step)", "sir_discrete",
                    ("eon_discrete_sir", "ndlib_sir")),
    "ic": Model("ic", "independent cascade", "independent_cascade", ("cynetdiff",)),
}

TOOL_LABELS = {
    "rumorsim": "Rumorsim",
    "eon_fast_sir": "EoN.fast_SIR",
    "fastgemf": "fastGEMF",
    "eon_discrete_sir": "EoN.basic_discrete_SIR",
    "ndlib_sir": "NDlib SIRModel",
    "cynetdiff": "cynetdiff IC",
}

#: The Python distribution each tool comes from (for versions and "not installed").
TOOL_PACKAGES = {
    "rumorsim": "rumorsim",
    "eon_fast_sir": "EoN",
    "fastgemf": "fastgemf",
    "eon_discrete_sir": "EoN",
    "ndlib_sir": "ndlib",
    "cynetdiff": "cynetdiff",
}


def transmissibility_discrete(tau: float, gamma: float, dt: float) -> float:
    """Per-edge transmissibility of the dt-step SIR (infectious a geometric number of steps).

    With p = 1 - exp(-tau dt) per step and recovery q = 1 - exp(-gamma dt) at the end
    of each infectious step, an edge transmits with probability
    sum_n q (1-q)^(n-1) (1 - (1-p)^n) = 1 - q (1-p) / (1 - (1-q)(1-p)).
    """
    p = -math.expm1(-tau * dt)
    q = -math.expm1(-gamma * dt)
    return 1.0 - q * (1.0 - p) / (1.0 - (1.0 - q) * (1.0 - p))


def transmissibility_continuous(tau: float, gamma: float) -> float:
    """tau / (tau + gamma): an exponential infectious period against a rate-tau clock."""
    return tau / (tau + gamma)


def choose_dt(tau: float = TAU, gamma: float = GAMMA, rel_tol: float = T_REL_TOL) -> float:
    """The largest candidate dt whose transmissibility is within ``rel_tol`` of the limit."""
    target = transmissibility_continuous(tau, gamma)
    for dt in DT_CANDIDATES:
        if abs(transmissibility_discrete(tau, gamma, dt) / target - 1.0) <= rel_tol:
            return dt
    return DT_CANDIDATES[-1]


def percolation_final_size(degrees: np.ndarray, T: float, rho: float = SEED_SHARE) -> float:
    """Configuration-model final size with transmissibility T and a share rho seeded.

    theta (an edge does not bring infection) solves theta = 1 - T + T (1 - rho) G1(theta),
    iterated down from 1; the final size is 1 - (1 - rho) G0(theta). A BA graph has
    degree correlations, so this is only used for the *sensitivity* dr/dT (how much a
    small difference in T moves the final size), never as the expected value itself.
    """
    k = np.bincount(np.asarray(degrees, np.int64))
    pk = k / k.sum()
    ks = np.arange(len(pk), dtype=np.float64)
    mean = float((ks * pk).sum())

    def g0(x: float) -> float:
        return float((pk * x ** ks).sum())

    def g1(x: float) -> float:
        return float((ks * pk * x ** np.maximum(ks - 1, 0)).sum() / mean)

    theta = 1.0
    for _ in range(10_000):
        new = 1.0 - T + T * (1.0 - rho) * g1(theta)
        if abs(new - theta) < 1e-13:
            break
        theta = new
    return 1.0 - (1.0 - rho) * g0(theta)


# --------------------------------------------------------------------------- graphs


def graph_paths(folder: Path, n: int, m: int = BA_M) -> Tuple[Path, Path]:
    """Where the parent saves the CSR arrays of the BA graph with n agents."""
    return folder / f"ba_m{m}_n{n}_indptr.npy", folder / f"ba_m{m}_n{n}_indices.npy"


def load_graph(folder: Path, n: int, m: int = BA_M) -> Tuple[np.ndarray, np.ndarray]:
    """The CSR arrays (indptr int64, indices int32) the parent built natively."""
    a, b = graph_paths(folder, n, m)
    return np.load(a), np.load(b)


def upper_edges(indptr: np.ndarray, indices: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Each undirected edge once (u < v) from symmetric CSR."""
    n = indptr.shape[0] - 1
    src = np.repeat(np.arange(n, dtype=indices.dtype), np.diff(indptr))
    keep = src < indices
    return src[keep], indices[keep]


def initial_seeds(n: int, run: int) -> np.ndarray:
    """The agents a peer run starts infected: SEED_SHARE of them, uniformly at random."""
    rng = np.random.default_rng([n, run, 7])
    return np.sort(rng.choice(n, size=seed_count(n), replace=False))


def seed_count(n: int) -> int:
    return max(1, int(round(SEED_SHARE * n)))


# --------------------------------------------------------------------------- machine


def machine() -> Dict[str, object]:
    """CPU model, cores, memory, OS and Python: what the results table was measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": cores,
        "memory_bytes": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average": load,
    }


def version(package: str) -> Optional[str]:
    """Installed version of a distribution, or None if it is not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> Dict[str, Optional[str]]:
    names = ["rumorsim", "numpy", "numba", "networkx", "scipy", "EoN", "ndlib", "fastgemf",
             "cynetdiff", "igraph", "psutil"]
    return {p: version(p) for p in names}


def rss_bytes() -> int:
    """Resident memory now (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far.

    VmHWM (Linux) belongs to this address space, which exec made new; ru_maxrss is
    only the fallback because Linux carries it over from the parent across fork + exec,
    so a child of a big parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
