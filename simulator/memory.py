"""Memory estimate and guard: refuse a scenario that cannot fit, before building it.

The estimate adds up what a run holds at once:

- **network**: the final CSR arrays of every layer (``indptr`` int64, ``indices``
  int32 below 2**31 agents, weights float64 when not all 1, ``in_strength``
  float64, block labels int32), and separately the *build peak*, the largest
  moment while one layer is built (edge arrays before CSR, generator scratch);
- **per replicate**: the kernel's per-agent buffers (see :func:`estimate_run_bytes`);
- **outputs**: the reported time series of every replicate.

The total is ``max(build peak of the network, network + workers × per replicate +
outputs) + interpreter overhead``, and :func:`check_memory` refuses it above 80 % of
the memory available (``MemAvailable``, or the cgroup limit if smaller).

Numbers for the networkx builder were measured with ``tracemalloc`` on networkx 3.6
(G(n, p), Barabási–Albert, n = 20,000): about 180–225 bytes per undirected edge and
265 bytes per node, against 8 bytes per undirected edge for the native CSR (two
int32 entries), so networkx needs roughly 25–30 times the memory of the result.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

from .edgelist import estimate_lines, resolve_path
from .errors import MemoryBudgetError
from .formatting import format_bytes
from .network import use_native

if TYPE_CHECKING:  # pragma: no cover
    from .scenario import LayerSpec

#: Refuse above this share of the available memory.
SAFETY_SHARE = 0.8
#: Python, numpy, numba and compiled kernels, before any array.
BASE_OVERHEAD_BYTES = 400 * 2**20
#: networkx graphs (measured, rounded up; see the module docstring).
NX_BYTES_PER_EDGE = 300
NX_BYTES_PER_NODE = 300
#: Per-agent kernel buffers (bytes) besides the per-agent record (``_record_bytes``):
#: candidate list, changed-agent list, sure-rule list (int32 each), pending agent +
#: transition (int32 + int32), buffered calendar pushes (agent, stamp, step: 3 int32)
_AGENT_LISTS = 4 + 4 + 4 + 8 + 12
#: up to two calendar entries per agent (agent, stamp: 8 bytes; a live and a stale one)
_AGENT_CALENDAR = 16
#: edge pushes: the this-step list (int32), about an eighth of a calendar entry and of a
#: fired-edge record (edge, transition, window, probability: 24 bytes); counted always
#: (the estimate comes before compiling decides which counters are pushed)
_AGENT_PUSH = 4 + 1 + 3


def _record_bytes(n_counters: int, n_threshold: int) -> int:
    """Bytes of the kernel's per-agent record (with the edge-push columns, counted always)."""
    from .kernel import record_layout  # (numpy + numba only; its plain Python function)

    return 4 * int(record_layout.py_func(n_counters, n_threshold, True)[0])


# ------------------------------------------------------------------ availability


def _read_int(path: str) -> Optional[int]:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    if not text or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def available_memory_bytes() -> int:
    """Memory this process can still use, in bytes.

    ``MemAvailable`` from ``/proc/meminfo`` (falling back to ``os.sysconf``), lowered
    to what the cgroup (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``) still
    allows, since a container's limit is what the kernel enforces.
    """
    avail: Optional[int] = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 8 * 2**30  # nothing to read: assume a modest machine
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        limit = _read_int(limit_file)
        if limit is not None and limit < 2**60:  # v1 reports "no limit" as a huge number
            used = _read_int(usage_file) or 0
            avail = min(avail, max(limit - used, 0))
            break
    return int(avail)


# ---------------------------------------------------------------------- network


def _index_bytes(n_agents: int) -> int:
    return 4 if n_agents < 2**31 else 8


def _powerlaw_mean(gamma: float, kmin: int, kmax: int) -> float:
    # exact sum up to 10^5, integral beyond: accurate to a fraction of a percent
    top = min(kmax, 100_000)
    num = den = 0.0
    for k in range(kmin, top + 1):
        p = k ** (-gamma)
        num += k * p
        den += p
    if kmax > top:
        a, b = top + 0.5, kmax + 0.5
        den += (a ** (1 - gamma) - b ** (1 - gamma)) / (gamma - 1)
        if abs(gamma - 2.0) < 1e-12:
            num += math.log(b / a)
        else:
            num += (a ** (2 - gamma) - b ** (2 - gamma)) / (gamma - 2)
    return num / den if den > 0 else float(kmin)


def _expected_arcs(spec: "LayerSpec", n: int) -> float:
    """Expected stored entries (undirected edges count twice)."""
    g = spec.generator
    both = 1.0 if spec.directed else 2.0
    if g == "erdos_renyi":
        # mean out-degree k either way: n k arcs, or n k / 2 edges stored twice
        return n * min(spec.mean_degree, max(n - 1, 0))
    if g in ("barabasi_albert", "powerlaw_cluster"):
        return 2.0 * spec.m * max(n - spec.m, 0)
    if g == "watts_strogatz":
        return n * 2.0 * round(spec.mean_degree / 2.0)
    if g == "stochastic_block":
        shares = [b / sum(spec.blocks) for b in spec.blocks]
        within = sum((s * n) ** 2 for s in shares)
        pairs_in = within if spec.directed else within / 2.0
        pairs_out = (n * n - within) if spec.directed else (n * n - within) / 2.0
        return both * (spec.p_in * pairs_in + spec.p_out * pairs_out)
    if g == "configuration":
        d = spec.degrees
        kmax = n - 1 if d.max_degree is None else min(d.max_degree, n - 1)
        if d.kind == "powerlaw" and d.exponent is not None:
            mean = _powerlaw_mean(d.exponent, max(d.min_degree, 1), max(kmax, 1))
        else:
            mean = min(max(d.mean or 1.0, d.min_degree), max(kmax, 0))
        return n * mean
    return 0.0


def _sweep_bytes(entries: float, ib: int, weighted: bool) -> float:
    """Scatter buffer of the blocked counting sort (see generators.csr_from_edges)."""
    cap = min(entries, max(2**25, entries / 8))
    return cap * (2 * ib + (8 if weighted else 0))


def estimate_layer_breakdown(
    spec: "LayerSpec", n_agents: int, *, base_dir: Optional[Path] = None
) -> dict[str, Any]:
    """Bytes of one layer: ``{final, peak, entries, builder}``.

    ``final`` is what the built layer holds; ``peak`` the most held at once while
    building it (final arrays plus temporaries such as the edge arrays before CSR).
    """
    n = int(n_agents)
    ib = _index_bytes(n)
    g = spec.generator
    node_arrays = 8 * (n + 1) + 8 * n  # indptr, in_strength
    if g == "complete":
        return {"final": node_arrays, "peak": node_arrays, "entries": 0, "builder": "implicit"}
    if g == "edgelist":
        lines = estimate_lines(resolve_path(spec.path, base_dir)) if spec.path else None
        edges = lines or 0.0
        entries = edges * (1 if spec.directed else 2)
        wbytes = 8 * entries if spec.weighted or spec.weight != 1.0 else 0
        final = node_arrays + ib * entries + wbytes
        # parsed ids (int64, two per edge) twice during concatenation, then the
        # relabelled codes (int64) and the hash table of node ids, then CSR
        parse = (32 * edges + (16 * edges if spec.weighted else 0) + 48 * n
                 + _sweep_bytes(entries, ib, spec.weighted))
        return {"final": int(final), "peak": int(final + parse), "entries": int(entries),
                "builder": "edgelist"}
    entries = _expected_arcs(spec, n)
    # generated counts fluctuate; allow six standard deviations of a Poisson count
    entries = entries + 6.0 * math.sqrt(entries + 1.0)
    wbytes = 8 * entries if spec.weight != 1.0 else 0
    comm = 4 * n if g == "stochastic_block" else 0
    final = node_arrays + ib * entries + wbytes + comm
    native = use_native(spec, n)
    edges = entries if spec.directed else entries / 2.0
    if not native:
        graph = NX_BYTES_PER_NODE * n + NX_BYTES_PER_EDGE * edges
        if g == "configuration":
            graph *= 2  # the multigraph and its simple copy coexist
        conversion = 2 * ib * edges + _sweep_bytes(entries, ib, False)
        return {"final": int(final), "peak": int(final + graph + conversion),
                "entries": int(entries), "builder": "networkx"}
    if g == "erdos_renyi" and spec.directed:
        temp = 0.0  # arcs come in row order and are written straight into CSR
    elif g == "powerlaw_cluster":
        # CSR is written straight from the neighbour pool (worst case 2mn + 8 m n
        # slots) and 3 ints per agent; the endpoint list (2 entries per edge) becomes
        # the CSR indices, so it is counted in ``final``
        temp = 10 * ib * edges + 24 * n
    else:
        edge_arrays = 2 * ib * edges
        extra = 0.0  # (Barabási–Albert reads its endpoint list off the edge arrays)
        if g == "watts_strogatz":
            hash_slots = 2 ** math.ceil(math.log2(2 * (spec.rewire or 0) * edges + 64))
            extra = edges + 8 * hash_slots + 8 * n  # removed flags, hash set, degrees
        elif g == "configuration":
            extra = 8 * n + (ib * entries if spec.directed else ib * 2 * edges)  # degrees, stubs
        # generator scratch is freed before CSR; the edge arrays live through it
        temp = edge_arrays + max(extra, _sweep_bytes(entries, ib, spec.weight != 1.0))
    return {"final": int(final), "peak": int(final + temp), "entries": int(entries),
            "builder": "native"}


def estimate_layer_bytes(spec: "LayerSpec", n_agents: int, *, base_dir: Optional[Path] = None) -> int:
    """Peak bytes to build one layer (final CSR arrays plus building temporaries).

    Native generators: the CSR (4 bytes per stored entry below 2**31 agents, 8 per
    agent for ``indptr`` and ``in_strength``) plus the edge arrays before CSR, the
    counting sort's scatter buffer (at most an eighth of the entries once above
    2**25) or the generator's scratch, whichever is larger (directed Erdős–Rényi
    writes CSR directly and needs neither).
    networkx: ~300 bytes per edge and ~300 per node for the graph (measured), about
    25–30 times the CSR. Edge lists: the number of lines estimated from the file
    size (compression ratio and mean line length from its first 256 kB).
    """
    return int(estimate_layer_breakdown(spec, n_agents, base_dir=base_dir)["peak"])


def estimate_network_bytes(
    n_agents: int, layer_specs: Mapping[str, "LayerSpec"], *, base_dir: Optional[Path] = None
) -> dict[str, int]:
    """``{network, network_build_peak, total}`` for the layers alone."""
    final = 0
    peak = 0
    for spec in layer_specs.values():
        b = estimate_layer_breakdown(spec, n_agents, base_dir=base_dir)
        # layers are built one after another: earlier ones are final while the next peaks
        peak = max(peak, final + b["peak"])
        final += b["final"]
    total = max(peak, final) + BASE_OVERHEAD_BYTES
    return {"network": int(final), "network_build_peak": int(peak), "total": int(total)}


# -------------------------------------------------------------------------- run


def estimate_run_bytes(
    n_agents: int,
    layer_specs: Mapping[str, "LayerSpec"],
    *,
    n_counters: int,
    n_threshold: int,
    n_states: int,
    n_reports: int,
    n_events: int,
    n_signals: int,
    replicates: int,
    workers: int,
    base_dir: Optional[Path] = None,
) -> dict[str, int]:
    """Memory of a whole run, in bytes.

    Per replicate, per agent: the kernel's per-agent record (flags, calendar stamp and
    firing step, edge-push visit, joint state, a float32 neighbour count per induced
    counter and a float32 threshold per threshold transition, padded to 32 or 64
    bytes), the candidate, changed-agent and sure-rule lists, the pending changes and
    the buffered calendar pushes (32), two calendar entries (16) and edge-push lists
    (8). Outputs per replicate:
    ``n_reports × (4 n_states + 8 n_events + 8 n_signals)``, kept for every
    replicate. ``min(workers, replicates)`` replicates run at once.

    Returns
    -------
    dict
        ``network`` (final layers), ``network_build_peak``, ``per_replicate``,
        ``parallel_replicates``, ``outputs``, ``overhead`` and ``total``.
    """
    net = estimate_network_bytes(n_agents, layer_specs, base_dir=base_dir)
    per_agent = (_record_bytes(n_counters, n_threshold) + _AGENT_LISTS + _AGENT_CALENDAR
                 + _AGENT_PUSH)
    per_replicate = per_agent * int(n_agents)
    parallel = max(1, min(int(workers), int(replicates))) * per_replicate
    outputs = int(replicates) * int(n_reports) * (4 * n_states + 8 * n_events + 8 * n_signals)
    running = net["network"] + parallel + outputs
    total = max(net["network_build_peak"], running) + BASE_OVERHEAD_BYTES
    return {
        "network": net["network"],
        "network_build_peak": net["network_build_peak"],
        "per_replicate": int(per_replicate),
        "parallel_replicates": int(parallel),
        "outputs": int(outputs),
        "overhead": BASE_OVERHEAD_BYTES,
        "total": int(total),
    }


def check_memory(
    estimate: Mapping[str, int], *, available: Optional[int] = None, what: str = "this scenario"
) -> None:
    """Raise MemoryBudgetError if ``estimate['total']`` exceeds 80 % of what is available.

    The message gives the estimate and its largest parts, what is available, and
    what to change (fewer agents, a lower mean degree, fewer parallel workers).
    """
    avail = available_memory_bytes() if available is None else int(available)
    total = int(estimate["total"])
    if total <= SAFETY_SHARE * avail:
        return
    parts = []
    for key, label in (
        ("network", "network"),
        ("network_build_peak", "network while building"),
        ("parallel_replicates", "replicates running at once"),
        ("outputs", "stored outputs"),
    ):
        if estimate.get(key):
            parts.append(f"{label} {format_bytes(estimate[key])}")
    tips = []
    net = max(estimate.get("network", 0), estimate.get("network_build_peak", 0))
    if net >= 0.3 * total:
        tips.append("fewer agents (`population.agents`; `represents` keeps the real-population scale)")
        tips.append("a lower mean degree (`mean_degree`, `m`) on the largest layer")
        tips.append("`native: true` if a layer is built with networkx")
    if estimate.get("parallel_replicates", 0) > estimate.get("per_replicate", 0) and (
        estimate.get("parallel_replicates", 0) >= 0.2 * total
    ):
        tips.append("fewer parallel workers (`--workers`)")
    if estimate.get("outputs", 0) >= 0.2 * total:
        tips.append("fewer replicates or a coarser `time.report_every`")
    if not tips:
        tips.append("fewer agents (`population.agents`) or fewer parallel workers (`--workers`)")
    raise MemoryBudgetError(
        f"{what} needs about {format_bytes(total)} of memory"
        + (f" ({', '.join(parts)})" if parts else "")
        + f", but only {format_bytes(avail)} is available "
        f"(the limit is {int(SAFETY_SHARE * 100)}% of it, {format_bytes(SAFETY_SHARE * avail)})",
        found=format_bytes(total),
        expected=f"at most {format_bytes(SAFETY_SHARE * avail)}",
        suggestion="Use " + "; or ".join(tips),
    )
