"""Memory estimate and guard: refuse a scenario that cannot fit, before building it.

The estimate adds up what a run holds at once:

- **network**: the final CSR arrays of every layer (``indptr`` int64, ``indices``
  int32 below 2**31 agents, weights float64 when not all 1, ``in_strength``
  float64, block labels int32), and separately the *build peak*, the largest
  moment while one layer is built (edge arrays before CSR, generator scratch);
- **per replicate**: the kernel's buffers as it sizes them (see
  :func:`estimate_replicate_bytes`): exact for the per-agent records and lists, modelled
  for the calendars' block pools, which grow with the entries a run schedules; the facts
  that model needs are read off the scenario by :func:`kernel_facts`;
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
#: Per-agent kernel lists (bytes), allocated whole at the start of a replicate: candidate,
#: changed-agent and sure-rule lists (int32 each), the pending changes (agent, transition:
#: 2 int32) and the buffered calendar pushes (agent, stamp, step: 3 int32)
_AGENT_LISTS = 4 + 4 + 4 + 8 + 12
#: A calendar block (see ``kernel._BLOCK``): 32 entries (agent, stamp: 2 int32) and the
#: int64 link to the next block
_BLOCK = 32
_BLOCK_BYTES = _BLOCK * 8 + 8
#: What the model leaves out (small transient arrays: an event's chosen agents, the sorted
#: touched list), about 3 % of the flagship's replicate, unattributed: counted as a margin
#: so that the estimate errs high rather than low (it guards against running out of memory)
_MARGIN = 1.02


def _pool_blocks(n_agents: int, per: int) -> int:
    """Blocks of a calendar pool as the kernel first sizes it (``32 + n // (per × 32)``)."""
    return 32 + int(n_agents) // (per * _BLOCK)


def _pool_peak_bytes(first_blocks: int, entries: float) -> int:
    """Bytes a block pool holds at its fullest, growing (at least doubling) from
    ``first_blocks`` until it holds ``entries`` entries: old and new arrays coexist while
    the last growth copies, so the peak is the last two sizes together (three times the
    first if it doubles once)."""
    size = first_blocks
    peak = size
    while size * _BLOCK < entries:
        peak = 3 * size
        size *= 2
    return peak * _BLOCK_BYTES


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
    elif g == "erdos_renyi":
        # generators.erdos_renyi_csr: each row's lower neighbours (room for 6 sd more:
        # within the Poisson allowance above), the transpose's scratch (the other end
        # and a uint16 row offset per edge), their row pointers, and the per-block
        # bucket counts with their offsets
        blocks = min(4096.0, max(1.0, edges / 2**18))
        temp = (2 * ib + 2) * edges + 8 * (n + 1) + 16 * blocks * (n / 2**16 + 1)
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


def _allowed(cond: Mapping[str, Any]) -> dict[str, set]:
    return {k: set(v) if isinstance(v, (list, tuple)) else {v} for k, v in cond.items()}


def _overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Can one agent's joint state meet both conditions?"""
    sa, sb = _allowed(a), _allowed(b)
    return all(sa[k] & sb[k] for k in sa.keys() & sb.keys())


def kernel_facts(scenario: Any) -> dict[str, Any]:
    """``{has_push, calendar_entries}`` for :func:`estimate_replicate_bytes`, from the
    scenario alone (before the network exists and the model is compiled).

    ``has_push``: some induced rule may be served by edge pushes (``model._edge_push_plan``);
    checked here by necessary conditions only (an induced rule with a constant rate, no
    interventions, on an unweighted stored layer, the only rule of its states, read by
    induced rules only, its source states left by spontaneous rules only), so it may be
    true where the plan keeps counts: the push buffers are then counted for nothing.
    ``calendar_entries``: static-calendar entries per agent at most, when rules of
    everyone's initial state (each trait's first state) go through the static calendar
    (spontaneous ones: 1; induced ones on stored layers, not pushed: 1 + the layers they
    read), else 0 (a cascade from the seeds; also when the initial state has a threshold
    rule, since its agents are then tried every step rather than scheduled). The rules the check above finds pushable are
    taken as pushed (if the plan keeps counts for them, this errs low).
    """
    trs = list(scenario.transitions)
    layers = dict(scenario.network.layers)
    daily = getattr(scenario.time, "daily_activity", None) is not None
    quiet = not scenario.interventions

    def pushable(t: Any) -> bool:
        ind = t.induced_by
        if t.kind != "induced" or ind is None or not quiet or t.modulated_by or (daily and t.daily_activity):
            return False
        spec = layers.get(ind.layer)
        if spec is None or spec.generator == "complete" or getattr(spec, "weighted", False) or (
                getattr(spec, "weight", 1.0) != 1.0):
            return False
        for u in trs:
            if u is t:
                continue
            if _overlap(u.from_, t.from_):
                return False  # not the only rule of its states
            src = u.induced_by or u.threshold
            if src is not None and src.layer == ind.layer and _overlap(src.state, ind.state) and u.kind != "induced":
                return False  # its counter is read by a threshold rule
            if _overlap(u.from_, ind.state) and (u.kind != "spontaneous" or u.modulated_by):
                return False  # a source state left by a rule other than a spontaneous one
        return True

    initial = {trait: states[0] for trait, states in scenario.traits.items()}
    pushed = [pushable(t) for t in trs]
    # rules of the initial state that go through the static calendar: spontaneous ones, and
    # induced ones on stored layers (counts kept: an agent is scheduled once a neighbour
    # counts, and re-proposed, leaving a stale entry, as counts on another layer rise);
    # induced ones on complete layers are tried every step instead
    spontaneous = False
    layers_read: set = set()
    for t, p in zip(trs, pushed):
        if t.kind == "threshold" or p or not _overlap(t.from_, initial):
            continue
        if t.kind == "spontaneous":
            spontaneous = True
        elif t.induced_by is not None and layers.get(t.induced_by.layer) is not None and (
                layers[t.induced_by.layer].generator != "complete"):
            layers_read.add(t.induced_by.layer)
    entries = (1 + len(layers_read)) if layers_read else (1 if spontaneous else 0)
    if any(t.kind == "threshold" and _overlap(t.from_, initial) for t in trs):
        entries = 0  # a state with a threshold rule is tried every step: not on the calendar
    return {"has_push": any(pushed), "calendar_entries": entries}


def estimate_replicate_bytes(
    n_agents: int,
    *,
    n_counters: int,
    n_threshold: int,
    n_steps: int,
    has_push: bool,
    calendar_entries: int,
) -> int:
    """Bytes one replicate holds at its fullest, as the kernel sizes its buffers.

    Exact: the record buffer (``kernel.record_buffer``: 32 or 64 bytes a record plus the
    touched list, an eighth of the agents as int32), the agent lists (32 bytes an agent),
    the per-step calendar heads and counts (16 bytes a step each calendar), and with edge
    pushes the this-step list (int32 an agent) and the fired-edge buffer (1024 + n / 8
    records of 24 bytes). Modelled: the calendars' block pools (:func:`_pool_peak_bytes`),
    which start at ``32 + n / 128`` blocks (static calendar) and ``32 + n / 256`` (pushes)
    and double as entries come. When rules of everyone's initial state are scheduled on
    the static calendar, it holds up to ``calendar_entries`` entries per agent (a live
    one and stale ones left by re-proposals: one more per stored layer those rules read;
    see :func:`kernel_facts`); otherwise (``calendar_entries`` 0) a cascade from the
    seeds holds a fraction at once, and its pool and the push pool are taken to double
    once. An empirical rule, checked against measurements (``tests/test_memory_guard.py``:
    within 5 % for the flagship, SIR, Watts, Daley-Kendall, the DingTalk and Xiaomi
    scenarios; too low for models whose agents return to a pushed state (SIS: -14 %) or
    whose sources fire all their edges at once (independent cascade: -25 %)). The sum is
    raised by ``_MARGIN`` (2 %) for what this leaves out.
    """
    from .kernel import _buffer_size, record_layout  # (plain Python functions of numba ones)

    n = int(n_agents)
    width = int(record_layout.py_func(n_counters, n_threshold, bool(has_push))[0])
    total = 4 * int(_buffer_size.py_func(n, width)) + _AGENT_LISTS * n
    static_entries = calendar_entries * n if calendar_entries else n // 2
    total += _pool_peak_bytes(_pool_blocks(n, 4), static_entries) + 16 * (n_steps + 1)
    if has_push:
        total += 4 * n + 24 * (1024 + n // 8) + 16 * (n_steps + 1)
        total += _pool_peak_bytes(_pool_blocks(n, 8), n // 4)
    return int(_MARGIN * total)


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
    n_steps: int = 0,
    has_push: bool = True,
    calendar_entries: int = 2,
    base_dir: Optional[Path] = None,
) -> dict[str, int]:
    """Memory of a whole run, in bytes.

    Per replicate: :func:`estimate_replicate_bytes` (by default with edge pushes and two
    calendar entries per agent). Outputs per replicate:
    ``n_reports × (4 n_states + 8 n_events + 8 n_signals)``, kept for every
    replicate. ``min(workers, replicates)`` replicates run at once.

    Returns
    -------
    dict
        ``network`` (final layers), ``network_build_peak``, ``per_replicate``,
        ``parallel_replicates``, ``outputs``, ``overhead`` and ``total``.
    """
    net = estimate_network_bytes(n_agents, layer_specs, base_dir=base_dir)
    per_replicate = estimate_replicate_bytes(
        n_agents, n_counters=n_counters, n_threshold=n_threshold, n_steps=n_steps,
        has_push=has_push, calendar_entries=calendar_entries)
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
