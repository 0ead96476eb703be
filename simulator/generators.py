"""Native random-graph generators: compiled loops that write edge or CSR arrays.

Every function here is a numba ``@njit(cache=True, nogil=True)`` kernel (or a thin
Python wrapper around one) that takes plain integers, floats, arrays and a xoshiro
state from :mod:`rumorsim.rng`, and returns plain arrays. No networkx, no numba
``np.random`` (its hidden per-thread state would make graphs depend on threads), no
Python objects inside the loops. The same state gives the same bytes.

The models are the ones networkx implements, step for step where it matters for the
statistics, so ``native: true`` and ``native: false`` give graphs from the same
distribution (the test suite compares them):

=====================  =====================================================  ===========
generator              algorithm                                              cost
=====================  =====================================================  ===========
``erdos_renyi``        G(n, p) by geometric skipping (Batagelj & Brandes        O(n + m)
                       2005) in blocks of rows on all threads, each block       parallel
                       with its own stream (the same graph for any thread
                       count), two passes (count, then fill) so arrays are
                       sized exactly; directed arcs come in row order and go
                       straight into CSR, undirected ones through a bucketed
                       transpose
``barabasi_albert``    networkx's model (star on m + 1 agents, each new agent   O(n m)
                       links to m distinct agents drawn from the list of edge
                       endpoints = preferential attachment)
``powerlaw_cluster``   Holme & Kim 2002 as in networkx (triad formation with    O(n m)
                       probability p, else preferential attachment); growing
                       neighbour arrays in one pool for O(1) random neighbours
``watts_strogatz``     ring lattice + rewiring in networkx's order; lattice     O(n k)
                       edges are checked arithmetically, rewired edges in a
                       hash set, so memory stays O(n k) bytes
``stochastic_block``   geometric skipping within each pair of blocks            O(n + m)
``configuration``      erased configuration model: stubs shuffled and paired,   O(n + m)
                       self-loops and multi-edges dropped afterwards (so hubs
                       lose a few edges when the tail is heavy)
=====================  =====================================================  ===========

Edges come out as ``(src, dst)`` arrays of the index dtype (int32 below 2**31
agents) and become CSR in :func:`csr_from_edges` by a counting sort blocked for
the cache (the scattered writes of a plain one dominate at 10^7 agents), its passes
on all threads over fixed blocks of edges and buckets of rows (the same bytes for any
thread count). Holme–Kim
keeps every agent's neighbour list as it grows, so :func:`powerlaw_cluster_csr`
writes CSR straight from those lists instead; its scratch arrays are faulted in on
the spare core while the growth runs (:mod:`rumorsim.pages`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import pages
from .pages import PageWarmer
from .prefetch import prefetch, prefetch_row
from .rng import geometric_skip, normal, randint, uniform, uniform_pos

# ---------------------------------------------------------------------------- dtypes


def index_dtype(n_agents: int) -> np.dtype:
    """int32 for agent ids while they fit (half the memory of int64), else int64."""
    return np.dtype(np.int32) if n_agents < 2**31 else np.dtype(np.int64)


def _template(n_agents: int) -> np.ndarray:
    # numba specialises on the dtype of this empty array; it is how the kernels learn
    # which integer type to allocate.
    return np.empty(0, index_dtype(n_agents))


# ----------------------------------------------------------------- edges -> CSR


#: Rows per bucket of the blocked counting sort is 2**shift, at least this.
_MIN_BUCKET_SHIFT = 15
#: Entries held in the scatter buffer at once (a sweep), at least this many.
_MIN_SWEEP_ENTRIES = 2**25


#: Edges per block of the edge list: the unit of parallel work, fixed (not per thread) so
#: that the output is the same for any thread count.
_CSR_EDGES_PER_BLOCK = 1 << 20


@njit(cache=True, nogil=True, parallel=True)
def _bucket_counts(src, dst, directed, shift, nb, eblk):
    """Entries per (block of edges, bucket of rows), self-loops skipped: (blocks, nb)."""
    m = src.shape[0]
    neb = max(1, (m + eblk - 1) // eblk)
    cnt = np.zeros((neb, nb), np.int64)
    for j in prange(neb):
        for e in range(j * eblk, min(m, (j + 1) * eblk)):
            u = src[e]
            v = dst[e]
            if u == v:
                continue
            cnt[j, u >> shift] += 1
            if not directed:
                cnt[j, v >> shift] += 1
    return cnt


@njit(cache=True, nogil=True, parallel=True)
def _sweep_scatter(src, dst, w, has_w, directed, shift, b0, b1, eblk, pos, trow, tval, tw, n):
    """One sweep of the blocked counting sort: the entries whose row falls in buckets
    b0 .. b1 - 1, appended to the sweep's buffer grouped by bucket. Each block of edges
    writes from its own place in each bucket (``pos[block, bucket - b0]``: the entries
    of earlier blocks come first), so entries keep their input order within a row."""
    m = src.shape[0]
    lo = np.int64(b0) << shift
    hi = min(np.int64(b1) << shift, n)
    for j in prange(pos.shape[0]):
        wp = pos[j].copy()
        for e in range(j * eblk, min(m, (j + 1) * eblk)):
            u = src[e]
            v = dst[e]
            if u == v:
                continue
            if lo <= u < hi:
                b = (u >> shift) - b0
                p = wp[b]
                trow[p] = u
                tval[p] = v
                if has_w:
                    tw[p] = w[e]
                wp[b] = p + 1
            if not directed and lo <= v < hi:
                b = (v >> shift) - b0
                p = wp[b]
                trow[p] = v
                tval[p] = u
                if has_w:
                    tw[p] = w[e]
                wp[b] = p + 1


@njit(cache=True, nogil=True, parallel=True)
def _sweep_place(b0, b1, shift, boff, trow, tval, tw, has_w, indptr, indices, weights):
    """Counting sort of each bucket of the sweep's buffer into its rows (a bucket's row
    pointers and output slice fit in cache), one bucket per task; stable."""
    n = indptr.shape[0] - 1
    base = boff[b0]
    for b in prange(b0, b1):
        r0 = np.int64(b) << shift
        r1 = min(r0 + (np.int64(1) << shift), n)
        local = np.zeros(r1 - r0, np.int64)
        s = boff[b] - base
        t = boff[b + 1] - base
        for p in range(s, t):
            local[trow[p] - r0] += 1
        run = boff[b]
        for r in range(r1 - r0):
            c = local[r]
            local[r] = run
            run += c
            indptr[r0 + r + 1] = run
        for p in range(s, t):
            r = trow[p] - r0
            q = local[r]
            indices[q] = tval[p]
            if has_w:
                weights[q] = tw[p]
            local[r] = q + 1


@njit(cache=True, nogil=True, inline='always')
def _insertion_sort(idx, w, has_w, a, b):
    """Stable in-place sort of idx[a:b] (and w alongside): fast for short rows."""
    for i in range(a + 1, b):
        x = idx[i]
        y = w[i] if has_w else 0.0
        j = i - 1
        while j >= a and idx[j] > x:
            idx[j + 1] = idx[j]
            if has_w:
                w[j + 1] = w[j]
            j -= 1
        idx[j + 1] = x
        if has_w:
            w[j + 1] = y


@njit(cache=True, nogil=True, parallel=True)
def _sort_dedup_rows(indptr, indices, weights, has_w, shift, boff, kept):
    """Sort each row and drop repeated neighbours, keeping the first occurrence.

    One bucket of rows (``2**shift``, starting at ``boff[b]`` in ``indices``) per task.
    Rows already strictly increasing (what most generators produce) are only scanned.
    Sorting is stable, so among repeats the first in input order (and its weight)
    survives. Rows are compacted to the left within their bucket and ``indptr``
    rewritten to match; ``kept[b]`` is the bucket's entries kept (see
    :func:`_close_gaps`).
    """
    n = indptr.shape[0] - 1
    for bk in prange(boff.shape[0] - 1):
        r0 = np.int64(bk) << shift
        r1 = min(r0 + (np.int64(1) << shift), n)
        out = boff[bk]
        start = boff[bk]  # (not indptr[r0]: the bucket before rewrites it)
        for u in range(r0, r1):
            end = indptr[u + 1]
            ordered = True
            for p in range(start + 1, end):
                if indices[p] <= indices[p - 1]:
                    ordered = False
                    break
            if not ordered:
                if end - start <= 48:
                    _insertion_sort(indices, weights, has_w, start, end)
                elif has_w:
                    order = np.argsort(indices[start:end], kind="mergesort")
                    weights[start:end] = weights[start:end][order]
                    indices[start:end] = indices[start:end][order]
                else:
                    indices[start:end] = np.sort(indices[start:end])
                last = indices[start]
                indices[out] = last
                if has_w:
                    weights[out] = weights[start]
                out += 1
                for p in range(start + 1, end):
                    x = indices[p]
                    if x != last:
                        indices[out] = x
                        if has_w:
                            weights[out] = weights[p]
                        out += 1
                        last = x
            elif out != start:
                for p in range(start, end):
                    indices[out] = indices[p]
                    if has_w:
                        weights[out] = weights[p]
                    out += 1
            else:
                out += end - start
            start = end
            indptr[u + 1] = out
        kept[bk] = out - boff[bk]


@njit(cache=True, nogil=True)
def _close_gaps(indptr, indices, weights, has_w, shift, boff, kept):
    """Move each bucket's kept entries left, after the buckets before it (only needed
    when repeats or self-loops were dropped); returns the entries kept in all."""
    n = indptr.shape[0] - 1
    out = 0
    for bk in range(boff.shape[0] - 1):
        shift_by = boff[bk] - out
        if shift_by:
            for p in range(kept[bk]):
                indices[out + p] = indices[boff[bk] + p]
                if has_w:
                    weights[out + p] = weights[boff[bk] + p]
            r0 = np.int64(bk) << shift
            r1 = min(r0 + (np.int64(1) << shift), n)
            for u in range(r0, r1):
                indptr[u + 1] -= shift_by
        out += kept[bk]
    return out


def csr_from_edges(
    src: np.ndarray,
    dst: np.ndarray,
    n_agents: int,
    *,
    weights: np.ndarray | None = None,
    directed: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Turn an edge list into CSR out-adjacency (counting sort, compiled).

    Parameters
    ----------
    src, dst : integer arrays of equal length
        Edge ``i`` goes from ``src[i]`` to ``dst[i]`` (``src`` influences ``dst``).
        Ids must lie in ``0 .. n_agents - 1`` (checked).
    n_agents : int
        Number of rows.
    weights : float array or None
        Weight of each edge, or None for weight 1.
    directed : bool
        If False every edge is stored in both rows.

    Returns
    -------
    indptr : int64 array (n_agents + 1,)
    indices : int32 array (int64 from 2**31 agents); each row sorted
    weights : float64 array aligned with ``indices``, or None

    Notes
    -----
    Self-loops are dropped (an agent does not influence itself). Repeated edges are
    merged keeping the **first** occurrence in input order, weight included: neither
    the sum nor the max is right for every data set, and "first" is what a reader of
    the file can predict. On undirected layers ``u v`` and ``v u`` are the same edge.

    Examples
    --------
    >>> indptr, indices, w = csr_from_edges(np.array([0, 1, 1]), np.array([1, 2, 2]), 3, directed=False)
    >>> indptr.tolist(), indices.tolist()
    ([0, 1, 3, 4], [1, 0, 2, 1])
    """
    src = np.asarray(src)
    dst = np.asarray(dst)
    if src.shape != dst.shape or src.ndim != 1:
        raise ValueError("src and dst must be 1-d arrays of the same length")
    if src.dtype.kind not in "iu" or dst.dtype.kind not in "iu":
        raise ValueError("src and dst must be integer arrays")
    if src.size:
        lo = min(int(src.min()), int(dst.min()))
        hi = max(int(src.max()), int(dst.max()))
        if lo < 0 or hi >= n_agents:
            raise ValueError(f"edge endpoints must lie in 0..{n_agents - 1}, found {lo}..{hi}")
    # one compiled specialisation per index dtype: copy other integer types (and
    # strided views) to contiguous arrays of the index dtype, never larger than int64
    dt = index_dtype(n_agents)
    src = np.ascontiguousarray(src, dtype=dt)
    dst = np.ascontiguousarray(dst, dtype=dt)
    has_w = weights is not None
    w_in = (
        np.ascontiguousarray(weights, dtype=np.float64)
        if has_w
        else np.empty(0, np.float64)
    )
    if has_w and w_in.shape != src.shape:
        raise ValueError("weights must have one value per edge")
    shift = max(_MIN_BUCKET_SHIFT, int(math.ceil(math.log2(max(n_agents, 2) / 1024.0))))
    nb = (n_agents + (1 << shift) - 1) >> shift if n_agents else 1
    eblk = _CSR_EDGES_PER_BLOCK
    cnt = _bucket_counts(src, dst, directed, shift, nb, eblk)
    per_bucket = cnt.sum(axis=0)
    boff = np.zeros(nb + 1, np.int64)
    np.cumsum(per_bucket, out=boff[1:])
    # where block j's entries of bucket b start, counted from the bucket's start
    within = np.cumsum(cnt, axis=0) - cnt
    del cnt
    total = int(boff[-1])
    largest = int(per_bucket.max()) if nb else 0
    cap = max(min(total, max(_MIN_SWEEP_ENTRIES, -(-total // 8))), largest, 1)
    indptr = pages.zeros(n_agents + 1, np.int64)
    indices = pages.empty(total, dt)  # (faulted in on all cores: pages.py)
    w_out = pages.empty(total if has_w else 0, np.float64)
    if n_agents:
        trow = np.empty(cap, dt)
        tval = np.empty(cap, dt)
        tw = np.empty(cap if has_w else 0, np.float64)
        b0 = 0
        while b0 < nb:  # sweeps: as many buckets as fit in the buffer at once
            b1 = int(np.searchsorted(boff, boff[b0] + cap, side="right")) - 1
            b1 = min(max(b1, b0 + 1), nb)
            pos = within[:, b0:b1] + (boff[b0:b1] - boff[b0])
            _sweep_scatter(src, dst, w_in, has_w, directed, shift, b0, b1, eblk, pos, trow,
                           tval, tw, n_agents)
            _sweep_place(b0, b1, shift, boff, trow, tval, tw, has_w, indptr, indices, w_out)
            b0 = b1
        del trow, tval, tw
    kept_per = np.zeros(nb, np.int64)
    _sort_dedup_rows(indptr, indices, w_out, has_w, shift, boff, kept_per)
    kept = int(kept_per.sum())
    if kept < total:
        _close_gaps(indptr, indices, w_out, has_w, shift, boff, kept_per)
    if kept < total:
        # copy rather than view so the dropped tail is given back
        indices = indices[:kept].copy()
        w_out = w_out[:kept].copy()
    return indptr, indices, (w_out if has_w else None)


@njit(cache=True, nogil=True, parallel=True)
def _row_sums(indptr, weights, has_w, s):
    for u in prange(indptr.shape[0] - 1):
        if has_w:
            acc = 0.0
            for p in range(indptr[u], indptr[u + 1]):
                acc += weights[p]
            s[u] = acc
        else:
            s[u] = indptr[u + 1] - indptr[u]


@njit(cache=True, nogil=True)
def _in_sums(indices, weights, has_w, s):
    for p in range(indices.shape[0]):
        s[indices[p]] += weights[p] if has_w else 1.0


def in_strength(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, has_w: bool,
                directed: bool) -> np.ndarray:
    """Sum of the weights of each agent's in-edges (in-degree when unweighted).

    Undirected layers store both directions, so in-strength is the row sum: a
    sequential pass instead of one scattered increment per entry, on all threads (each
    row's sum is the same whichever thread adds it up).
    """
    s = np.zeros(indptr.shape[0] - 1, np.float64)
    if not directed:
        _row_sums(indptr, weights, has_w, s)
    else:
        _in_sums(indices, weights, has_w, s)
    return s


# --------------------------------------------------------------------- Erdős–Rényi


@njit(cache=True, nogil=True)
def _gnp_undirected_pass(n, log_q, state, src, dst, fill, offset=0, e=0):
    """Batagelj–Brandes over pairs w < v of agents ``offset .. offset + n - 1``;
    counts edges (fill=False) or writes them from ``src[e], dst[e]`` on. Returns the
    edge count so far (``e`` plus this pass's).

    Pairs come in order of v, then w. Once edges are scattered into rows in that
    order, row u holds its lower neighbours (emitted while v = u) followed by its
    higher ones in increasing v: rows come out sorted and need no per-row sort.
    """
    v = 1
    w = -1
    while v < n:
        w += 1 + geometric_skip(state, log_q)
        while w >= v and v < n:
            w -= v
            v += 1
        if v < n:
            if fill:
                src[e] = offset + v
                dst[e] = offset + w
            e += 1
    return e


# Parallel G(n, p). The pairs are cut into blocks of rows whose number and boundaries
# depend only on n and p, each block with its own xoshiro state derived from the layer's
# (block_states), so the same graph comes out for any thread count: threads only decide
# which block runs where. Undirected edges (v, w), w < v, are generated by rows v; row v
# gets its lower neighbours in order, and the higher ones (the transpose) are sorted into
# buckets of 2**_ER_BUCKET_SHIFT target rows, each bucket then laid out by one thread.

#: Expected edges per block of rows: enough work to amortise a block, small enough that
#: two threads stay balanced.
_ER_EDGES_PER_BLOCK = 1 << 18
_ER_MAX_BLOCKS = 4096
#: Room per block of rows for its edges: the expected count plus this many standard
#: deviations (more are drawn again into exact room).
_ER_ROOM_SDS = 6.0
#: Target rows per bucket of the transpose: a row's offset in its bucket fits uint16.
_ER_BUCKET_SHIFT = 16


@njit(cache=True, nogil=True, inline='always')
def _gap(st, inv_log_q):
    """Failures before the next success of Bernoulli(p) trials, ``inv_log_q`` = 1 / log(1 - p).

    rng.geometric_skip, inlined and with the division turned into a product: the
    per-edge cost of the passes below (a call passing the state array costs two atomic
    reference-count updates)."""
    return np.int64(np.log(uniform_pos(st)) * inv_log_q)


def block_states(state: np.ndarray, n_blocks: int) -> np.ndarray:
    """Independent xoshiro states for blocks ``0 .. n_blocks - 1``, derived from ``state``.

    Words of a ``SeedSequence`` whose entropy is the 256 bits of ``state`` (as
    :func:`rumorsim.rng.new_state` makes one state): a block's stream depends on the
    state and on the number of blocks only, never on threads.
    """
    root = np.random.SeedSequence([int(x) for x in state])
    out = root.generate_state(4 * n_blocks, np.uint64).reshape(n_blocks, 4)
    out[~out.any(axis=1), 0] = np.uint64(0x9E3779B97F4A7C15)  # (xoshiro cannot leave 0)
    return out


def _er_blocks(n: int, pairs: float, p: float, undirected: bool) -> np.ndarray:
    """Row boundaries (n_blocks + 1,) of the blocks: equal numbers of pairs per block
    (rows v hold v pairs when undirected, n - 1 when directed)."""
    nb = int(min(_ER_MAX_BLOCKS, max(1, math.ceil(pairs * p / _ER_EDGES_PER_BLOCK)), max(n, 1)))
    frac = np.arange(nb + 1, dtype=np.float64) / nb
    rows = n * (np.sqrt(frac) if undirected else frac)
    bounds = np.unique(np.clip(np.ceil(rows).astype(np.int64), 0, n))
    bounds[0], bounds[-1] = 0, n
    return bounds


@njit(cache=True, nogil=True, parallel=True)
def _gnp_lower_count(n, inv_log_q, states, bounds, lowdeg, cnt, shift):
    """Pass 1: per block of rows v, how many lower neighbours w < v each row gets
    (``lowdeg[v]``) and how many of its edges land in each bucket of rows w
    (``cnt[block, w >> shift]``: the transpose's sizes)."""
    for b in prange(bounds.shape[0] - 1):
        st = states[b].copy()
        v = bounds[b]
        v1 = bounds[b + 1]
        if v == 0:
            v = 1
        w = -1
        while v < v1:
            w += 1 + _gap(st, inv_log_q)
            while w >= v and v < v1:
                w -= v
                v += 1
            if v < v1:
                lowdeg[v] += 1
                cnt[b, w >> shift] += 1


@njit(cache=True, nogil=True, parallel=True)
def _gnp_lower_draw(n, inv_log_q, states, bounds, boff, lower, lowdeg, cnt, shift, used):
    """The one pass over the random streams: block b writes its rows' lower neighbours
    w < v, row after row, into ``lower[boff[b]:boff[b + 1]]`` (room for the expected
    count and six standard deviations), counts them per row (``lowdeg[v]``) and per
    bucket of rows w (``cnt[block, w >> shift]``: the transpose's sizes). ``used[b]``:
    entries written, or -1 if the room ran out (the caller then sizes it exactly)."""
    for b in prange(bounds.shape[0] - 1):
        st = states[b].copy()
        v = bounds[b]
        v1 = bounds[b + 1]
        if v == 0:
            v = 1
        q = boff[b]
        end = boff[b + 1]
        w = -1
        room = True
        while v < v1:
            w += 1 + _gap(st, inv_log_q)
            while w >= v and v < v1:
                w -= v
                v += 1
            if v < v1:
                if q == end:
                    room = False
                    break
                lower[q] = w
                q += 1
                lowdeg[v] += 1
                cnt[b, w >> shift] += 1
        used[b] = q - boff[b] if room else -1


@njit(cache=True, nogil=True, parallel=True)
def _gnp_transpose_scatter(bounds, boff, lptr, lower, pos, urel, uval, shift):
    """Each edge's other end, (w's offset in its bucket, v), into the transpose's
    scratch at its bucket's next place for this block (``pos[block]``): read in row
    order, so each bucket's part holds increasing v."""
    mask = (1 << shift) - 1
    for b in prange(bounds.shape[0] - 1):
        wp = pos[b].copy()
        q = boff[b]
        for v in range(max(bounds[b], 1), bounds[b + 1]):
            for _ in range(lptr[v + 1] - lptr[v]):
                w = lower[q]
                q += 1
                r = w >> shift
                k = wp[r]
                urel[k] = w & mask
                uval[k] = v
                wp[r] = k + 1


@njit(cache=True, nogil=True, parallel=True)
def _gnp_assemble(n, bounds, boff, lptr, lower, ustart, urel, uval, shift, rstart, indptr,
                  indices):
    """Per bucket of rows u: row u = its lower neighbours (from ``lower``: row u of
    block b starts at ``lptr[u] + boff[b] - lptr[bounds[b]]``), then its higher ones
    (from the scratch, by a stable counting sort on the row: the scratch holds them in
    increasing v). ``rstart[r]`` is where bucket r starts in ``indices``."""
    nr = ustart.shape[0] - 1
    for r in prange(nr):
        u0 = r << shift
        u1 = min(n, (r + 1) << shift)
        nu = u1 - u0
        at = np.zeros(nu + 1, np.int64)
        for k in range(ustart[r], ustart[r + 1]):
            at[urel[k] + 1] += 1
        blk = np.searchsorted(bounds, u0, side="right") - 1
        run = rstart[r]
        for j in range(nu):
            u = u0 + j
            while bounds[blk + 1] <= u:
                blk += 1
            src = lptr[u] + boff[blk] - lptr[bounds[blk]]
            lo = lptr[u + 1] - lptr[u]
            hi = at[j + 1]
            for x in range(lo):
                indices[run + x] = lower[src + x]
            at[j] = run + lo  # where u's higher neighbours go
            run += lo + hi
            indptr[u + 1] = run
        for k in range(ustart[r], ustart[r + 1]):
            j = urel[k]
            indices[at[j]] = uval[k]
            at[j] += 1


@njit(cache=True, nogil=True, parallel=True)
def _gnp_rows_pass(n, inv_log_q, states, bounds, indptr, indices, fill):
    """Directed: skipping over the ordered pairs (u, v), u != v, of each block of rows
    u; counts each row's arcs (``indptr[u + 1]``, fill=False) or writes them in order
    from ``indptr[u]`` (fill=True). Rows come out sorted."""
    for b in prange(bounds.shape[0] - 1):
        st = states[b].copy()
        u0 = bounds[b]
        total = (bounds[b + 1] - u0) * (n - 1)
        i = -1
        p = indptr[u0] if fill else 0
        while True:
            i += 1 + _gap(st, inv_log_q)
            if i >= total:
                break
            du = i // (n - 1)
            u = u0 + du
            j = i - du * (n - 1)
            v = j + 1 if j >= u else j
            if fill:
                indices[p] = v
                p += 1
            else:
                indptr[u + 1] += 1


def erdos_renyi_csr(
    n: int, p: float, state: np.ndarray, *, directed: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """G(n, p) as CSR ``(indptr, indices)`` with sorted rows, built on all threads.

    Batagelj–Brandes geometric skipping over the pairs, cut into blocks of rows with
    their own streams (:func:`block_states`: the same graph for any thread count; the
    blocks depend on n and p only). Directed: each block's stream is run twice (count,
    then fill), the arcs come in row order and are written straight into CSR.
    Undirected: one pass, in which a block of rows v writes each row's lower neighbours
    w < v into room sized for its expected count (a block that runs out - about one
    in 10^9 - has its streams counted and drawn again: the same graph); then the other
    end of each edge goes into a scratch grouped by buckets of rows w, and each bucket
    writes its rows (lower neighbours, then higher ones). ``state`` is not advanced.

    Examples
    --------
    >>> from rumorsim.rng import new_state
    >>> indptr, indices = erdos_renyi_csr(1000, 0.01, new_state(1))
    >>> int(indptr[-1]) % 2, bool(np.all(np.diff(indices[indptr[0]:indptr[1]]) > 0))
    (0, True)
    """
    dt = index_dtype(n)
    if p <= 0.0 or n < 2:
        return np.zeros(n + 1, np.int64), np.empty(0, dt)
    inv_log_q = 1.0 / math.log1p(-p) if p < 1.0 else -0.0  # (p = 1: every pair, no gaps)
    if directed:
        bounds = _er_blocks(n, float(n) * (n - 1), p, False)
        states = block_states(state, bounds.shape[0] - 1)
        indptr = np.zeros(n + 1, np.int64)
        _gnp_rows_pass(n, inv_log_q, states, bounds, indptr, np.empty(0, dt), False)
        np.cumsum(indptr, out=indptr)
        indices = pages.empty(int(indptr[-1]), dt)
        _gnp_rows_pass(n, inv_log_q, states, bounds, indptr, indices, True)
        return indptr, indices
    shift = _ER_BUCKET_SHIFT
    bounds = _er_blocks(n, float(n) * (n - 1) / 2.0, p, True)
    nblk = bounds.shape[0] - 1
    states = block_states(state, nblk)
    nr = (n + (1 << shift) - 1) >> shift
    # room per block: its expected edges and six standard deviations (run out of in
    # about one graph in 10^9 blocks: then the streams are counted first, and drawn again
    # into exact room - the same graph)
    b0 = bounds[:-1].astype(np.float64)
    b1 = bounds[1:].astype(np.float64)
    mu = p * (b1 * (b1 - 1) - b0 * (b0 - 1)) / 2.0
    room = np.maximum(np.ceil(mu + _ER_ROOM_SDS * np.sqrt(mu * (1 - p)) + 8), 0).astype(np.int64)
    lptr = pages.zeros(n + 1, np.int64)
    cnt = np.zeros((nblk, nr), np.int64)
    used = np.zeros(nblk, np.int64)
    for attempt in range(2):
        boff = np.zeros(nblk + 1, np.int64)
        np.cumsum(room, out=boff[1:])
        lower = pages.empty(int(boff[-1]), dt)  # (faulted in on all cores: pages.py)
        _gnp_lower_draw(n, inv_log_q, states, bounds, boff, lower, lptr[1:], cnt, shift, used)
        if used.min() >= 0:
            break
        lptr[:] = 0
        cnt[:] = 0
        _gnp_lower_count(n, inv_log_q, states, bounds, lptr[1:], cnt, shift)
        room = cnt.sum(axis=1)
        lptr[:] = 0
        cnt[:] = 0
    np.cumsum(lptr, out=lptr)
    m = int(lptr[-1])
    # the transpose's scratch: bucket r's part in block order (so in increasing v)
    ustart = np.zeros(nr + 1, np.int64)
    np.cumsum(cnt.sum(axis=0), out=ustart[1:])
    pos = np.cumsum(cnt, axis=0) - cnt + ustart[:-1]
    del cnt
    urel = pages.empty(m, np.uint16)
    uval = pages.empty(m, dt)
    _gnp_transpose_scatter(bounds, boff, lptr, lower, pos, urel, uval, shift)
    del pos
    # bucket r's rows start after all earlier buckets' lower and higher neighbours
    row_edges = lptr[np.minimum(np.arange(1, nr + 1, dtype=np.int64) << shift, n)]
    rstart = np.zeros(nr + 1, np.int64)
    rstart[1:] = row_edges + ustart[1:]
    indptr = pages.zeros(n + 1, np.int64)
    indices = pages.empty(2 * m, dt)
    _gnp_assemble(n, bounds, boff, lptr, lower, ustart, urel, uval, shift, rstart, indptr,
                  indices)
    return indptr, indices


# ---------------------------------------------------------- preferential attachment

# How often (in newcomers) a growth loop tells its PageWarmer how far it has written.
_PROGRESS_EVERY = 4096


@njit(cache=True, nogil=True, inline='always')
def _endpoint(ends, x, ba_m):
    """Entry ``x`` of the endpoint list of a preferential-attachment graph.

    Holme–Kim keeps the list in ``ends`` (``ba_m`` = 0). Barabási–Albert's list is
    implied by its edges and is not kept (``ends`` is its ``dst``, ``ba_m`` its m):
    it is the star's pairs (0, t) for t = 1..m, then for each newcomer its m targets
    (the next m entries of ``dst``) and m copies of itself.
    """
    if ba_m == 0:
        return ends[x]
    if x < 2 * ba_m:
        return 0 if x % 2 == 0 else x // 2 + 1
    y = x - 2 * ba_m
    blk = y // (2 * ba_m)  # the newcomer's place after the star
    off = y - blk * 2 * ba_m
    if off < ba_m:
        return ends[ba_m + blk * ba_m + off]
    return ba_m + 1 + blk


@njit(cache=True, nogil=True, inline='always')
def _pick_distinct(state, ends, rlen, m, out, pre, ba_m):
    """Fill ``out[:m]`` with m distinct entries drawn uniformly from the first ``rlen``
    entries of the endpoint list (see :func:`_endpoint` for ``ends`` and ``ba_m``).

    networkx's ``_random_subset``: draws are with replacement from the endpoint list,
    so an agent is drawn in proportion to its degree; repeats are redrawn. The first
    draws are the positions ``pre`` (drawn in advance, uniform on the same range).
    """
    c = 0
    j = 0
    while c < m:
        if j < pre.shape[0]:
            x = _endpoint(ends, pre[j], ba_m)
            j += 1
        else:
            x = _endpoint(ends, randint(state, rlen), ba_m)
        dup = False
        for q in range(c):
            if out[q] == x:
                dup = True
                break
        if not dup:
            out[c] = x
            c += 1


def barabasi_albert_edges(
    n: int, m: int, state: np.ndarray, tmpl: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Barabási–Albert as networkx builds it; returns ``(src, dst)``.

    Starts from a star on agents 0..m (agent 0 the centre); each new agent links to m
    distinct earlier agents chosen in proportion to degree. Exactly
    ``m + m (n - m - 1)`` edges. The endpoint list the draws come from is read off
    the edges (:func:`_endpoint`), not stored; the edge arrays are written front to
    back, their pages faulted in on the spare core meanwhile (:mod:`rumorsim.pages`).
    """
    n_edges = m + m * (n - m - 1)
    src = np.empty(n_edges, tmpl.dtype)
    dst = np.empty(n_edges, tmpl.dtype)
    with PageWarmer([src, dst]) as warmer:
        _barabasi_albert_fill(n, m, state, src, dst, warmer.progress)
    return src, dst


@njit(cache=True, nogil=True)
def _barabasi_albert_fill(n, m, state, src, dst, progress):
    """The growth of :func:`barabasi_albert_edges` into its arrays; every
    ``_PROGRESS_EVERY`` newcomers ``progress[:2]`` gets how far it has written."""
    e = 0
    for t in range(1, m + 1):
        src[e] = 0
        dst[e] = t
        e += 1
    targets = np.empty(m, src.dtype)
    no_pre = np.empty(0, np.int64)
    for source in range(m + 1, n):
        if source % _PROGRESS_EVERY == 0:
            progress[0] = e
            progress[1] = e
        # (the endpoint list has 2e entries: 2 per edge made so far)
        _pick_distinct(state, dst, 2 * e, m, targets, no_pre, m)
        for q in range(m):
            src[e] = source
            dst[e] = targets[q]
            e += 1


@njit(cache=True, nogil=True, inline='always')
def _adj_push(pool, top, meta, t, x):
    """Append x to agent t's neighbour array in ``pool``; returns the new pool top.

    Each agent owns a slice of one big pool, ``meta[t] = (start, length,
    capacity)`` (one row, so one cache line per agent), doubled and moved to the
    pool's top when full; neighbours of any agent can then be read by index while
    the graph grows. The caller sizes the pool for the worst case (see
    :func:`_holme_kim_grow`), so it never has to grow.
    """
    start = meta[t, 0]
    length = meta[t, 1]
    if length == meta[t, 2]:
        for q in range(length):  # a loop, not a slice copy: no temporary array
            pool[top + q] = pool[start + q]
        start = top
        meta[t, 0] = top
        meta[t, 2] = max(4, 2 * length)
        top += meta[t, 2]
    pool[start + length] = x
    meta[t, 1] = length + 1
    return top


@njit(cache=True, nogil=True, inline='always')
def _eligible(x, source, linked, n_linked):
    if x == source:
        return False
    for q in range(n_linked):
        if linked[q] == x:
            return False
    return True


# How many newcomers ahead the Holme–Kim loop draws its preferential picks: far enough
# that the reads they start have arrived (~150 ns) when the newcomer is processed.
_LOOKAHEAD = 16


def _holme_kim_scratch(n: int, m: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The neighbour pool, its index ``meta`` and the endpoint list for n agents.

    Every newcomer adds exactly 2m entries to the endpoint list (m targets, m copies
    of itself), so it has m + 2 m (n - m) entries at the end: at least the sum of the
    degrees, so the CSR ``indices`` can reuse it. The pool's worst case: 2m up front
    per newcomer (4 for the m seeds) plus, for an agent that outgrows it, doubling
    slices summing to < 4 x its degree: 2mn + 8 m (n - m). Untouched pages of the pool
    are never faulted in, so this costs address space, not memory, and a pool that
    never grows keeps the loop fast. Allocated by numpy (huge pages; see
    ``network._numpy_owned``).
    """
    links = _holme_kim_links(n, m)
    pool = np.empty(2 * m * n + 8 * links + 4 * m + 16, dtype)
    meta = np.zeros((n, 3), np.int64)
    repeated = np.empty(m + 2 * links, dtype)
    return pool, meta, repeated


def _holme_kim_links(n: int, m: int) -> int:
    """Links the Holme–Kim growth makes at most: m per newcomer."""
    return m * (n - m) if n > m else 0


@njit(cache=True, nogil=True)
def _holme_kim_grow(n, m, p, state, pool, meta, repeated, src, dst, record, progress):
    """Holme–Kim growth with triad formation, as networkx's ``powerlaw_cluster_graph``.

    Starts from m isolated agents. Each new agent makes one preferential link, then
    m - 1 more: with probability ``p`` to a uniformly random neighbour of the last
    preferential target that it is not yet linked to (closing a triangle), otherwise
    to the next of its m preferentially drawn targets. As in networkx, a drawn
    target that the triad step already linked still counts as one of the m links,
    so a few agents end with fewer than m.

    The triad step draws a random neighbour by index and redraws if ineligible (up
    to 8 times), then falls back to counting the eligible ones: uniform either way,
    and O(1) for hubs, whose neighbours are almost all eligible.

    Speed: every newcomer adds exactly 2m entries to the endpoint list, so the range
    its preferential draws come from is known in advance. The first m draws of
    newcomer t are made ``_LOOKAHEAD`` newcomers early and their memory prefetched;
    halfway there, the drawn agents' rows are prefetched too. The draws are the same
    uniform picks (only their order in the random stream differs), so the graph has
    the same distribution; the reads they need overlap instead of waiting in turn.
    The newcomer's links are written to the neighbour lists only at the end of its
    turn, the row of each triad pick prefetched when it is chosen: its write no
    longer waits for that read. Nothing read in the meantime changes: eligibility
    is decided by ``linked``, and the one list read, the target's, only lacks the
    newcomer at its end, which the triad step counts in (same draws, same graph,
    same pool, byte for byte; 25-30 % faster at 2 x 10^6 agents).

    The caller provides the arrays: ``pool`` and ``repeated`` (the endpoint list) of
    the lengths :func:`_holme_kim_scratch` gives, ``meta`` zeros of shape (n, 3), and
    with ``record`` ``src, dst`` of length m (n - m) for the edges (``e`` of them;
    otherwise empty). Every agent's neighbours end up in
    ``pool[meta[t, 0]:][:meta[t, 1]]``; returns ``e``. Every ``_PROGRESS_EVERY``
    newcomers ``progress[:4]`` gets how far the loop has written into ``meta`` (flat),
    ``repeated``, ``pool`` and an ``n + 1`` array filled later (for a
    :class:`rumorsim.pages.PageWarmer`). No edge is made twice and none is a
    self-loop: a newcomer links only to earlier agents, each at most once (the triad
    step skips ``linked``, the preferential step checks it).
    """
    top = 0
    r = 0
    for i in range(m):
        repeated[r] = i
        r += 1
    e = 0
    D = _LOOKAHEAD
    W = D + 1  # newcomer t's first m picks: row t % W (rows for t .. t + D)
    ahead = np.empty((W, max(m, 1)), np.int64)
    for t in range(m, min(n, m + D)):
        for j in range(m):
            ahead[t % W, j] = randint(state, m + 2 * m * (t - m))
    possible = np.empty(m, pool.dtype)
    linked = np.empty(m, pool.dtype)  # the new agent's neighbours so far
    tri_u = np.empty(m, np.float64)
    for source in range(m, n):
        if source % _PROGRESS_EVERY == 0:
            progress[0] = 3 * source
            progress[1] = r
            progress[2] = top
            progress[3] = source
        # (r == m + 2m (source - m) here: the range of this newcomer's picks)
        far = source + D
        if far < n:
            for j in range(m):
                x = randint(state, m + 2 * m * (far - m))
                ahead[far % W, j] = x
                prefetch(repeated, x)
        mid = source + D // 2
        if mid < n:
            for j in range(m):
                x = ahead[mid % W, j]
                if x < r:  # (else written by a newcomer still to come)
                    prefetch_row(meta, repeated[x])
        # the newcomer will have m neighbours at once: give it room for 2m up front
        meta[source, 0] = top
        meta[source, 2] = 2 * m
        top += 2 * m
        # m distinct picks from the endpoint list: the pre-drawn ones first
        _pick_distinct(state, repeated, r, m, possible, ahead[source % W], 0)
        for q in range(m):
            # where each target's new neighbour will be written, and the neighbour a
            # triad step after it would try first (the same uniform, scaled by the
            # degree then: one more at most, so almost always the same cache line)
            t = possible[q]
            prefetch(pool, meta[t, 0] + meta[t, 1])
            u = uniform(state)
            tri_u[q] = u
            prefetch(pool, meta[t, 0] + np.int64(u * meta[t, 1]))
        n_possible = m
        n_linked = 0
        count = 0
        target = -1
        first_try = -1.0  # the pre-drawn uniform of the current target, until used
        while count < m:
            if count > 0 and uniform(state) < p:
                # the target is linked to the newcomer, so its list ends with the
                # newcomer: entry dr, not yet written (see below), never eligible
                st = meta[target, 0]
                dr = meta[target, 1]
                d = dr + 1
                chosen = -1
                for _ in range(8):
                    if first_try >= 0.0:
                        j = min(np.int64(first_try * d), d - 1)
                        first_try = -1.0
                    else:
                        j = randint(state, d)
                    if j < dr:
                        x = pool[st + j]
                        if _eligible(x, source, linked, n_linked):
                            chosen = x
                            break
                if chosen < 0:
                    n_elig = 0
                    for q in range(st, st + dr):
                        if _eligible(pool[q], source, linked, n_linked):
                            n_elig += 1
                    if n_elig > 0:
                        k = randint(state, n_elig)
                        for q in range(st, st + dr):
                            if _eligible(pool[q], source, linked, n_linked):
                                if k == 0:
                                    chosen = pool[q]
                                    break
                                k -= 1
                if chosen >= 0:
                    if record:
                        src[e] = source
                        dst[e] = chosen
                    e += 1
                    prefetch_row(meta, chosen)  # for its push at the end
                    linked[n_linked] = chosen
                    n_linked += 1
                    repeated[r] = chosen
                    r += 1
                    count += 1
                    continue
            # preferential step: next drawn target
            n_possible -= 1
            target = possible[n_possible]
            first_try = tri_u[n_possible]
            already = False
            for q in range(n_linked):
                if linked[q] == target:
                    already = True
                    break
            if not already:
                if record:
                    src[e] = source
                    dst[e] = target
                e += 1
                linked[n_linked] = target
                n_linked += 1
            repeated[r] = target
            r += 1
            count += 1
        # The lists are written now, in the order of the links, so the pool ends up
        # byte for byte as if each link were written when made; meanwhile the rows
        # of the triad picks (prefetched when chosen) have arrived.
        for q in range(n_linked):
            x = linked[q]
            top = _adj_push(pool, top, meta, source, x)
            top = _adj_push(pool, top, meta, x, source)
        for q in range(m):
            repeated[r] = source
            r += 1
    return e


def powerlaw_cluster_edges(
    n: int, m: int, p: float, state: np.ndarray, tmpl: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Holme–Kim graph (see :func:`_holme_kim_grow`) as an edge list ``(src, dst)``.

    Each edge once, newcomer first, in the order made. :func:`powerlaw_cluster_csr`
    gives the same graph from the same state without the edge arrays.
    """
    pool, meta, repeated = _holme_kim_scratch(n, m, tmpl.dtype)
    src = np.empty(_holme_kim_links(n, m), tmpl.dtype)
    dst = np.empty(src.shape[0], tmpl.dtype)
    e = _holme_kim_grow(n, m, p, state, pool, meta, repeated, src, dst, True,
                        np.zeros(4, np.int64))
    return src[:e], dst[:e]


@njit(cache=True, nogil=True)
def _csr_from_pool(pool, meta, m, indptr, indices):
    """Fill CSR ``indptr`` (n + 1) and ``indices`` (the sum of the degrees) with sorted
    rows from the Holme–Kim neighbour pool.

    A row starts with the agent's own links, made on arrival (at most m earlier
    agents, in any order), followed by the later agents that linked to it, in
    arrival order: increasing, and larger than everything before them. So only the
    first min(m, degree) entries need sorting, and since a row has no repeats, each
    one's place is the number of them that are smaller: a branch-free count the
    compiler vectorises (an insertion sort mispredicts a branch per entry; this
    pass took 2.1 s with one at 10^7 agents, 1.3 s so). Rows are read in agent
    order but the slices lie anywhere in the pool (those that outgrew their room
    moved to its top), so each is prefetched a few agents ahead.
    """
    n = meta.shape[0]
    indptr[0] = 0
    for t in range(n):
        indptr[t + 1] = indptr[t] + meta[t, 1]
    head = np.empty(max(m, 1), indices.dtype)
    D = _LOOKAHEAD
    for t in range(n):
        far = t + D
        if far < n and meta[far, 1] > 0:
            # first and last cache line of the slice; the hardware streams the rest
            prefetch(pool, meta[far, 0])
            prefetch(pool, meta[far, 0] + meta[far, 1] - 1)
        s = meta[t, 0]
        a = indptr[t]
        d = meta[t, 1]
        k = min(m, d)
        for j in range(k):
            head[j] = pool[s + j]
        for i in range(k):
            x = head[i]
            r = 0
            for j in range(k):
                r += head[j] < x
            indices[a + r] = x
        for q in range(k, d):
            indices[a + q] = pool[s + q]


def powerlaw_cluster_csr(
    n: int, m: int, p: float, state: np.ndarray, tmpl: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Holme–Kim graph as CSR ``(indptr, indices)``: sorted rows, each edge in both rows.

    The same graph as ``csr_from_edges(*powerlaw_cluster_edges(n, m, p, state, tmpl),
    n, directed=False)`` for the same state, written straight from the neighbour
    pool of the growth: no edge arrays, no counting sort, and nothing to drop (the
    model makes no repeats or self-loops). The CSR arrays are allocated here, by
    numpy, which asks Linux for transparent huge pages for large arrays (numba's
    allocations do not; see ``network._numpy_owned``).
    """
    pool, meta, repeated = _holme_kim_scratch(n, m, tmpl.dtype)
    indptr = np.empty(n + 1, np.int64)
    none = np.empty(0, tmpl.dtype)
    # The growth writes these arrays front to back; their first-touch page faults
    # are taken on the other core meanwhile (see rumorsim.pages).
    with PageWarmer([meta, repeated, pool, indptr]) as warmer:
        _holme_kim_grow(n, m, p, state, pool, meta, repeated, none, none, False, warmer.progress)
    # The endpoint list is spent, and at least as long as the sum of the degrees:
    # the CSR indices go there, on pages already faulted in.
    indices = repeated[:int(meta[:, 1].sum())]
    _csr_from_pool(pool, meta, m, indptr, indices)
    return indptr, indices


# ------------------------------------------------------------------ Watts–Strogatz


@njit(cache=True, nogil=True)
def _hash_slot(key, mask):
    h = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
    return np.int64(h >> np.uint64(20)) & mask


@njit(cache=True, nogil=True)
def _hash_has(table, key):
    mask = table.shape[0] - 1
    i = _hash_slot(key, mask)
    while table[i] != -1:
        if table[i] == key:
            return True
        i = (i + 1) & mask
    return False


@njit(cache=True, nogil=True)
def _hash_add(table, key):
    mask = table.shape[0] - 1
    i = _hash_slot(key, mask)
    while table[i] != -1:
        if table[i] == key:
            return
        i = (i + 1) & mask
    table[i] = key


@njit(cache=True, nogil=True)
def _ws_has_edge(a, b, n, h, removed, table):
    d = (b - a) % n
    if 1 <= d <= h:
        if removed[(d - 1) * n + a] == 0:
            return True
    elif 1 <= n - d <= h:
        if removed[(n - d - 1) * n + b] == 0:
            return True
    lo = min(a, b)
    hi = max(a, b)
    return _hash_has(table, lo * n + hi)


@njit(cache=True, nogil=True)
def watts_strogatz_edges(n, k, p, state, tmpl):
    """Watts–Strogatz in networkx's order; ``k`` even, ``k < n``. Returns ``(src, dst)``.

    Ring lattice (each agent to k/2 neighbours on each side), then for j = 1..k/2 and
    each agent u in order, with probability p the lattice edge (u, u + j) is moved to
    (u, w), w uniform, redrawn while w = u or already a neighbour (and skipped if u
    is linked to everyone). Lattice edges are tested by arithmetic plus one
    "removed" byte each; only the rewired edges go into a hash set.
    """
    h = k // 2
    n_lat = n * h
    removed = np.zeros(n_lat, np.uint8)
    deg = np.full(n, 2 * h, np.int64)
    cap = 64
    expected = p * n_lat
    while cap < 2.0 * (expected + 6.0 * math.sqrt(expected + 1.0)) + 64:
        cap *= 2
    table = np.full(cap, -1, np.int64)
    n_added = 0
    for j in range(1, h + 1):
        for u in range(n):
            if uniform(state) < p:
                w = randint(state, n)
                skip = False
                while w == u or _ws_has_edge(u, w, n, h, removed, table):
                    w = randint(state, n)
                    if deg[u] >= n - 1:
                        skip = True
                        break
                if not skip:
                    v = (u + j) % n
                    removed[(j - 1) * n + u] = 1
                    deg[v] -= 1
                    deg[w] += 1
                    _hash_add(table, min(u, w) * n + max(u, w))
                    n_added += 1
                    if 2 * n_added > table.shape[0]:  # keep the load under one half
                        old = table
                        table = np.full(2 * old.shape[0], -1, np.int64)
                        for q in range(old.shape[0]):
                            if old[q] != -1:
                                _hash_add(table, old[q])
    src = np.empty(n_lat, tmpl.dtype)
    dst = np.empty(n_lat, tmpl.dtype)
    e = 0
    for j in range(1, h + 1):
        for u in range(n):
            if removed[(j - 1) * n + u] == 0:
                src[e] = u
                dst[e] = (u + j) % n
                e += 1
    for q in range(table.shape[0]):
        key = table[q]
        if key != -1:
            src[e] = key // n
            dst[e] = key % n
            e += 1
    return src[:e], dst[:e]


# --------------------------------------------------------------- stochastic block


@njit(cache=True, nogil=True)
def _sbm_pass(offsets, p_in, p_out, directed, state, src, dst, fill):
    """Skip through every pair of blocks; returns the number of edges."""
    nb = offsets.shape[0] - 1
    e = 0
    for a in range(nb):
        for b in range(nb):
            if not directed and b < a:
                continue
            p = p_in if a == b else p_out
            if p <= 0.0:
                continue
            log_q = math.log1p(-p) if p < 1.0 else -math.inf
            sa = offsets[a + 1] - offsets[a]
            sb = offsets[b + 1] - offsets[b]
            oa = offsets[a]
            ob = offsets[b]
            if a == b and not directed:  # pairs w < v inside the block
                e = _gnp_undirected_pass(sa, log_q, state, src, dst, fill, oa, e)
            elif a == b:
                total = sa * (sa - 1)
                i = -1
                while True:
                    i += 1 + geometric_skip(state, log_q)
                    if i >= total:
                        break
                    u = i // (sa - 1)
                    j = i - u * (sa - 1)
                    v = j + 1 if j >= u else j
                    if fill:
                        src[e] = oa + u
                        dst[e] = oa + v
                    e += 1
            else:
                total = sa * sb
                i = -1
                while True:
                    i += 1 + geometric_skip(state, log_q)
                    if i >= total:
                        break
                    if fill:
                        src[e] = oa + i // sb
                        dst[e] = ob + i % sb
                    e += 1
    return e


def stochastic_block_edges(
    sizes: np.ndarray, p_in: float, p_out: float, state: np.ndarray, *, directed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Stochastic block model on consecutive blocks of ``sizes``; returns ``(src, dst)``.

    Two passes from the same starting state (count, then fill) so the edge arrays
    are allocated once at their exact size.
    """
    offsets = np.zeros(len(sizes) + 1, np.int64)
    offsets[1:] = np.cumsum(sizes)
    n = int(offsets[-1])
    start = state.copy()
    dummy = np.empty(0, index_dtype(n))
    m = _sbm_pass(offsets, p_in, p_out, directed, state, dummy, dummy, False)
    src = np.empty(m, index_dtype(n))
    dst = np.empty(m, index_dtype(n))
    _sbm_pass(offsets, p_in, p_out, directed, start, src, dst, True)
    return src, dst


# -------------------------------------------------------- configuration model

DEGREE_KINDS = {"powerlaw": 0, "poisson": 1, "lognormal": 2, "fixed": 3}


@njit(cache=True, nogil=True)
def _poisson(state, lam):
    """Poisson deviate: multiplication method for small means, PTRS (Hörmann 1993) else."""
    if lam < 10.0:
        limit = math.exp(-lam)
        k = 0
        prod = uniform(state)
        while prod > limit:
            k += 1
            prod *= uniform(state)
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform(state) - 0.5
        v = uniform(state)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return np.int64(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)) <= (
            -lam + k * loglam - math.lgamma(k + 1.0)
        ):
            return np.int64(k)


@njit(cache=True, nogil=True)
def _powerlaw(state, gamma, kmin, kmax):
    """Exact discrete power law P(k) ∝ k^-gamma on kmin..kmax (kmin >= 1).

    Proposal: floor of a continuous Pareto on [kmin, kmax + 1); accept with
    r(k) / r(kmin), where r(k) = k^-gamma / ∫_k^{k+1} x^-gamma dx is decreasing in k.
    """
    a = 1.0 - gamma
    lo = kmin**a
    hi = (kmax + 1.0) ** a
    r_min = kmin ** (-gamma) / (kmin**a - (kmin + 1.0) ** a)
    while True:
        x = (lo - uniform(state) * (lo - hi)) ** (1.0 / a)
        k = math.floor(x)
        if k > kmax:
            k = kmax
        if k < kmin:
            k = kmin
        r_k = k ** (-gamma) / (k**a - (k + 1.0) ** a)
        if uniform(state) * r_min <= r_k:
            return np.int64(k)


@njit(cache=True, nogil=True)
def draw_degrees(n, kind, exponent, mean, sigma, kmin, kmax, state):
    """Degree sequence of length n drawn from a distribution truncated to [kmin, kmax].

    ``kind``: 0 powerlaw(exponent), 1 poisson(mean), 2 lognormal(mean, sigma: sd of
    log degree), 3 fixed(round(mean)). Values outside [kmin, kmax] are redrawn (up
    to 1000 times, then clipped). If the sum is odd one agent below kmax gets one
    more stub (or, failing that, one above kmin one fewer), since stubs pair up.
    """
    deg = np.empty(n, np.int64)
    mu = 0.0
    if kind == 2:
        mu = math.log(mean) - 0.5 * sigma * sigma
    for i in range(n):
        k = kmin
        for _ in range(1000):
            if kind == 0:
                k = _powerlaw(state, exponent, kmin, kmax)
            elif kind == 1:
                k = _poisson(state, mean)
            elif kind == 2:
                k = np.int64(round(math.exp(mu + sigma * normal(state))))
            else:
                k = np.int64(round(mean))
            if kmin <= k <= kmax:
                break
        deg[i] = min(max(k, kmin), kmax)
    if deg.sum() % 2 == 1:
        fixed = False
        for _ in range(64 * n + 64):
            i = randint(state, n)
            if deg[i] < kmax:
                deg[i] += 1
                fixed = True
                break
        if not fixed:
            for i in range(n):
                if deg[i] > kmin:
                    deg[i] -= 1
                    break
    return deg


@njit(cache=True, nogil=True)
def _shuffle(state, a):
    for i in range(a.shape[0] - 1, 0, -1):
        j = randint(state, i + 1)
        t = a[i]
        a[i] = a[j]
        a[j] = t


@njit(cache=True, nogil=True)
def _stubs(deg, tmpl):
    stubs = np.empty(deg.sum(), tmpl.dtype)
    s = 0
    for i in range(deg.shape[0]):
        for _ in range(deg[i]):
            stubs[s] = i
            s += 1
    return stubs


@njit(cache=True, nogil=True)
def configuration_edges(deg, directed, state, tmpl):
    """Stub matching for a degree sequence; returns ``(src, dst)`` with loops and repeats.

    Undirected: all stubs shuffled, consecutive stubs paired (the sum must be even).
    Directed: every agent has ``deg`` out-stubs and ``deg`` in-stubs; the in-stubs are
    shuffled and paired with the out-stubs. The caller erases self-loops and
    multi-edges (:func:`csr_from_edges`), which is the *erased* configuration model.
    """
    stubs = _stubs(deg, tmpl)
    if directed:
        ins = stubs.copy()
        _shuffle(state, ins)
        return stubs, ins
    _shuffle(state, stubs)
    half = stubs.shape[0] // 2
    src = np.empty(half, tmpl.dtype)
    dst = np.empty(half, tmpl.dtype)
    for e in range(half):
        src[e] = stubs[2 * e]
        dst[e] = stubs[2 * e + 1]
    return src, dst


# ----------------------------------------------------------------- statistics


@njit(cache=True, nogil=True)
def local_clustering(indptr, indices, nodes):
    """Local clustering coefficient of each agent in ``nodes`` (undirected CSR).

    Triangles through u are counted by marking u's neighbours and scanning theirs;
    agents with degree < 2 get 0, as in networkx.
    """
    n = indptr.shape[0] - 1
    mark = np.zeros(n, np.uint8)
    out = np.zeros(nodes.shape[0], np.float64)
    for i in range(nodes.shape[0]):
        u = nodes[i]
        a = indptr[u]
        b = indptr[u + 1]
        d = b - a
        if d < 2:
            continue
        for p in range(a, b):
            mark[indices[p]] = 1
        tri = 0
        for p in range(a, b):
            v = indices[p]
            for q in range(indptr[v], indptr[v + 1]):
                tri += mark[indices[q]]
        for p in range(a, b):
            mark[indices[p]] = 0
        out[i] = tri / (d * (d - 1.0))
    return out


@njit(cache=True, nogil=True)
def clustering_cost(indptr, indices):
    """Work of an exact clustering pass: sum over edges of the far end's degree."""
    c = 0
    for p in range(indices.shape[0]):
        v = indices[p]
        c += indptr[v + 1] - indptr[v]
    return c


# ------------------------------------------------------------------ edge-list text

#: Error codes of :func:`parse_edge_chunk`.
PARSE_OK = 0
PARSE_FEW_COLUMNS = 1
PARSE_MANY_COLUMNS = 2
PARSE_BAD_ID = 3
PARSE_BAD_WEIGHT = 4
PARSE_NEGATIVE_WEIGHT = 5
PARSE_ID_RANGE = 6
PARSE_ID_OVERFLOW = 7


@njit(cache=True, nogil=True)
def _is_blank(c):
    return c == 32 or c == 9 or c == 13 or c == 11 or c == 12


@njit(cache=True, nogil=True)
def _parse_int(buf, a, b):
    """Integer in buf[a:b]; returns (value, error code)."""
    neg = False
    if buf[a] == 45:
        neg = True
        a += 1
    elif buf[a] == 43:
        a += 1
    if a >= b:
        return 0, PARSE_BAD_ID
    val = 0
    for q in range(a, b):
        c = np.int64(buf[q]) - 48
        if c < 0 or c > 9:
            return 0, PARSE_BAD_ID
        if val > 922337203685477579:
            return 0, PARSE_ID_OVERFLOW
        val = val * 10 + c
    return (-val if neg else val), PARSE_OK


@njit(cache=True, nogil=True)
def _parse_float(buf, a, b):
    """Decimal number in buf[a:b] (sign, digits, point, exponent); (value, error code).

    Up to 19 significant digits are kept, then scaled by an exact power of ten, which
    is correctly rounded for ordinary weights and within one ulp otherwise.
    """
    neg = False
    if buf[a] == 45:
        neg = True
        a += 1
    elif buf[a] == 43:
        a += 1
    mant = 0
    ndig = 0
    exp10 = 0
    seen_digit = False
    seen_point = False
    q = a
    while q < b:
        c = np.int64(buf[q])
        if 48 <= c <= 57:
            seen_digit = True
            if ndig < 19:
                mant = mant * 10 + (c - 48)
                if mant > 0:
                    ndig += 1
                if seen_point:
                    exp10 -= 1
            elif not seen_point:
                exp10 += 1
            q += 1
        elif c == 46 and not seen_point:
            seen_point = True
            q += 1
        else:
            break
    if not seen_digit:
        return 0.0, PARSE_BAD_WEIGHT
    if q < b:
        c = buf[q]
        if c != 101 and c != 69:  # e, E
            return 0.0, PARSE_BAD_WEIGHT
        q += 1
        eneg = False
        if q < b and (buf[q] == 45 or buf[q] == 43):
            eneg = buf[q] == 45
            q += 1
        if q >= b:
            return 0.0, PARSE_BAD_WEIGHT
        e = 0
        while q < b:
            c = np.int64(buf[q]) - 48
            if c < 0 or c > 9:
                return 0.0, PARSE_BAD_WEIGHT
            if e < 100000:
                e = e * 10 + c
            q += 1
        exp10 += -e if eneg else e
    if mant == 0:
        val = 0.0
    elif exp10 >= 0:
        val = mant * 10.0**exp10
    else:
        val = mant / 10.0 ** (-exp10)
    if neg:
        val = -val
    if not math.isfinite(val):
        return val, PARSE_BAD_WEIGHT
    if val < 0.0:
        return val, PARSE_NEGATIVE_WEIGHT
    return val, PARSE_OK


@njit(cache=True, nogil=True)
def parse_edge_chunk(buf, weighted, id_limit, skip_first, ids, wts):
    """Parse whole lines of an edge list held as bytes.

    Each data line is ``u v`` (or ``u v w`` when ``weighted``), separated by blanks
    and/or one comma; ``#`` or ``%`` starts a comment; blank lines are skipped.
    Node ids are integers (any sign, int64); with ``id_limit >= 0`` they must lie in
    ``0 .. id_limit - 1``. ``ids`` receives ``u0, v0, u1, v1, ...``; ``wts`` the
    weights. With ``skip_first`` the first data line (a header) is ignored.

    Returns
    -------
    (n_edges, err, err_line, err_start, err_end, err_tok_start, err_tok_end, skipping)
        ``err`` is a PARSE_* code; ``err_line`` the 0-based line within ``buf``;
        the offsets delimit the offending line and token in ``buf``; ``skipping``
        is still True if no data line was seen to skip (carry it to the next chunk).
    """
    n = buf.shape[0]
    ncols = 3 if weighted else 2
    i = 0
    line = 0
    e = 0
    skipping = skip_first
    while i < n:
        line_start = i
        col = 0
        u = np.int64(0)
        v = np.int64(0)
        w = 1.0
        err = PARSE_OK
        tok_a = 0
        tok_b = 0
        while True:
            while i < n and _is_blank(buf[i]):
                i += 1
            if col > 0 and i < n and buf[i] == 44:  # one comma between columns
                i += 1
                while i < n and _is_blank(buf[i]):
                    i += 1
            if i >= n or buf[i] == 10 or buf[i] == 35 or buf[i] == 37:
                break
            a = i
            while i < n and not _is_blank(buf[i]) and buf[i] != 44 and buf[i] != 10:
                i += 1
            if i == a:  # a stray comma: an empty column
                i += 1
                tok_a = a
                tok_b = i
                if skipping:
                    continue
                err = PARSE_BAD_ID
                break
            tok_a = a
            tok_b = i
            if skipping:
                col += 1
                continue
            if col >= ncols:
                err = PARSE_MANY_COLUMNS
                break
            if col < 2:
                val, err = _parse_int(buf, a, i)
                if err == PARSE_OK and id_limit >= 0 and (val < 0 or val >= id_limit):
                    err = PARSE_ID_RANGE
                if err != PARSE_OK:
                    break
                if col == 0:
                    u = val
                else:
                    v = val
            else:
                w, err = _parse_float(buf, a, i)
                if err != PARSE_OK:
                    break
            col += 1
        # find the end of this line (comments included)
        end = i
        while end < n and buf[end] != 10:
            end += 1
        if err == PARSE_OK and col > 0:
            if skipping:
                skipping = False
            elif col < ncols:
                err = PARSE_FEW_COLUMNS
            else:
                ids[2 * e] = u
                ids[2 * e + 1] = v
                if weighted:
                    wts[e] = w
                e += 1
        if err != PARSE_OK:
            return e, err, line, line_start, end, tok_a, tok_b, skipping
        i = end + 1
        line += 1
    return e, PARSE_OK, line, 0, 0, 0, 0, skipping


@njit(cache=True, nogil=True)
def factorize_dense(ids, lo, span):
    """Number integer ids 0, 1, 2, ... in order of first appearance.

    For ids within ``lo .. lo + span - 1``: one lookup table of ``span`` entries
    instead of a hash table, so each id costs one array access. Returns
    ``(codes, uniques)`` like ``pandas.factorize``.
    """
    table = np.full(span, -1, np.int64)
    codes = np.empty(ids.shape[0], np.int64)
    uniques = np.empty(min(span, ids.shape[0]), np.int64)
    k = 0
    for i in range(ids.shape[0]):
        j = ids[i] - lo
        c = table[j]
        if c < 0:
            c = k
            table[j] = k
            uniques[k] = ids[i]
            k += 1
        codes[i] = c
    return codes, uniques[:k]
