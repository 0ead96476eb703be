"""The numba kernel: one replicate of the discrete-time multi-trait model.

Takes and returns plain arrays only: ``rumorsim.kernel_arrays.FIELDS`` says what each
input holds (dtype, shape, meaning), in ``run_replicate``'s order. Semantics (DESIGN.md,
"Model semantics"):

* time advances in steps of ``dt``; in a step an agent whose competing transitions have
  total hazard H makes at most one transition, with probability 1 - exp(-H dt), chosen
  in proportion to the hazards (infinite hazards - ``probability: 1`` - win outright);
* updates are synchronous: every decision in a step reads the states at its start;
* induced hazards are rate x (weighted) count of matching in-neighbours; threshold
  transitions fire once the matching fraction/count reaches the agent's threshold.

Cost: neighbour counts are kept up to date incrementally as agents change state. Agents
whose hazards can only change when their neighbourhood changes (*static* joint states:
no signal-modulated transition, no complete-graph counter) are not visited every step:
each gets a firing step drawn from the geometric law of "first success of a Bernoulli
(1 - exp(-H dt)) per step", kept in a calendar (a bucket queue over steps) - exact,
because the geometric law is memoryless. The step is *proposed* at a rate R kept with
the agent (``prop``), a bound of its hazard, and accepted when it comes with the ratio
of the actual to the proposed per-step probability (thinning): this covers signal
modulations (R uses their upper bounds) and hazards that fell since (R is left as it
was). Superposition: when a neighbour's change raises an agent's hazard by g, the
agent is not re-drawn; g gets a firing step of its own and the earlier of the two
stands, with R + g - the first success of two independent Bernoulli sequences is one
of probability 1 - exp(-(R + g) dt) per step. So a neighbour's change costs an update
of the agent's counts and, only if its hazard rose, one draw. A rejected proposal is
re-drawn at the bound of the moment. Agents in *dynamic* states (a modulation with no useful bound, a
complete-graph counter, or mixed daily-activity flags) are kept in a candidate list and
tried every step. So a step costs
O(agents firing + dynamic candidates + edges of agents that changed), not O(N). A full
O(N) rescan happens only at the start and when the rate schedule changes (interventions,
the hour of the day) or a complete-graph count leaves zero.

Edge pushes: an induced transition with a constant rate that is the only live rule of
its state, read from states left only by constant spontaneous rules (SIR, SIS, SEIR,
independent cascade ...), skips the counts altogether. When a source enters its state its
exit step is drawn, and each of its edges is drawn once - does it fire within the
source's window, and at which step - skipping geometrically over the edges that do not,
so a source costs O(edges that fire). A target keeps its earliest candidate step; see
"edge pushes" below and ``model._edge_push_plan`` for when this applies.

A worker's replicates share one record buffer (``record_buffer``). A replicate lists, in
the buffer's tail, the agents that leave joint state 0; the next replicate on the buffer
starts by resetting their records and their neighbours' - all a replicate can have
written, unless it made a pass over all agents (a rescan, a schedule change, counts that
start non-zero) or the list filled up: then it resets all records. When
nobody in state 0 needs routing at step 0 (no rules there, or a push target), step 0
routes only the agents the seeds moved. So a small cascade on a large graph costs what it
reaches. Seeds by random count or fraction draw their agents by rejection when they are
few among the eligible (``_draw_distinct``: O(count)); otherwise, and for a broadcast's
share, one number per eligible agent scanned.

One-step cascades (the independent cascade, discrete SIR with one infectious step: every
moving agent is a push source for exactly one step, then idle) need none of the routing
above; ``kernel_cascade.run_one_step_cascade`` runs them generation by generation, with
this function's arguments and bytes, and the engine picks it when it applies.

Layout. ``run_replicate`` is the time loop, one numbered phase after another; the phases
that run once per replicate or once per step are named functions above it
(``_initial_counts``, ``_rescan``, ``_start_list``, ``_mark_states_dirty``, ``_push_room``,
``_pop_pushed``, ``_track_signals``, ``_modulation``, ``_outcome_probabilities``,
``_prepare_records``), each tested against a reference; the per-agent and per-edge loops
stay written out in it, for the reasons below.

Performance notes. At 10^6 agents and more a run is bound by the latency of reads
scattered over per-agent arrays, not by arithmetic; three things follow. (1) All that
the kernel keeps per agent (state, neighbour counts, thresholds, flags, calendar stamp)
lives in one record of 32 or 64 bytes (``record_layout``), so that visiting an agent is
one cache miss; and the loops over lists of scattered agents (routing, calendar buckets,
pending changes, an agent's neighbours) request the records they will need a few items
early (``prefetch.py``), so that the misses overlap. The edges fired by a step's sources
are collected first and resolved together for the same reason. (2) The calendars are
chains of blocks, read and written a block at a time (see ``_BLOCK``). (3) Reference
counting: each array argument of an inlined helper becomes a new reference, and in a
function this large the two atomic reference-count updates it costs per call are not
optimised away. So the loops that run per agent or per edge are written out for the
common cases (constant rules, a single rule, sure rules, the superposition), and a
helper with many arrays that runs less often (``_apply_change``, for events) is a plain
call, whose arguments are borrowed.

Only numpy and numba are imported here.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .prefetch import prefetch, prefetch2, prefetch_row
from .rng import normal, randint, uniform, uniform_pos

# transition kinds
SPONTANEOUS = 0
INDUCED = 1
THRESHOLD = 2
# signal kinds
SIG_VALUE = 0
SIG_COUNT = 1
SIG_FLOW = 2
SIG_OVERLOAD = 3
SIG_RATIO = 4
SIG_AVERAGE = 5
# threshold distributions
DIST_FIXED = 0
DIST_UNIFORM = 1
DIST_NORMAL = 2
DIST_LOGNORMAL = 3

# Memory-latency hiding (see prefetch.py): lists of scattered agents (and an agent's
# neighbours) are read with their records requested _AHEAD items early; a calendar bucket
# is read a block at a time, the records of the block's agents requested before any is used.
_AHEAD = 8


@njit(cache=True, nogil=True, inline='always')
def _neighbour_count(c, i, s, counts, ctr_layer, ctr_match, lay_complete, glob):
    """Matching in-neighbours (weight sum) of agent i (in state s) for counter c."""
    if lay_complete[ctr_layer[c]]:
        return glob[c] - ctr_match[c, s]
    return counts[i, c]


@njit(cache=True, nogil=True, inline='always')
def _threshold_met(t, i, value, tr_thr_slot, thr_mode, thr_vals, in_strength, ctr_layer, tr_counter):
    slot = tr_thr_slot[t]
    return _meets(value, thr_vals[slot, i], thr_mode[slot] == 1,
                  in_strength[ctr_layer[tr_counter[t]], i])


@njit(cache=True, nogil=True, inline='always')
def _meets(value, theta, by_count, strength):
    """Does a matching count (or weight) ``value`` reach threshold ``theta`` - a count, or
    a fraction of the in-strength ``strength``?"""
    if by_count:
        return value >= theta - 1e-9
    if strength <= 0.0:
        return False
    return value >= (theta - 1e-12) * strength


@njit(cache=True, nogil=True, inline='always')
def _add_candidate(i, is_cand, cand, n_cand):
    if is_cand[i] == 0:
        is_cand[i] = 1
        cand[n_cand] = i
        return n_cand + 1
    return n_cand


@njit(cache=True, nogil=True, inline='always')
def _hazards(i, s, hazard, mult, haz, st_ptr, st_tr, tr_kind, tr_counter, tr_thr_slot, thr_mode,
             thr_vals, in_strength, counts, ctr_layer, ctr_match, lay_complete, glob):
    """Fill haz[t] for the transitions of state s; return (total finite, number infinite, any alive)."""
    total = 0.0
    n_inf = 0
    alive = False
    for q in range(st_ptr[s], st_ptr[s + 1]):
        t = st_tr[q]
        h0 = hazard[t]
        haz[t] = 0.0
        if h0 == 0.0:
            continue
        kind = tr_kind[t]
        if kind == SPONTANEOUS:
            h = h0
        else:
            value = _neighbour_count(tr_counter[t], i, s, counts, ctr_layer, ctr_match,
                                     lay_complete, glob)
            if kind == INDUCED:
                if value <= 0.0:
                    continue
                h = h0 * value
            else:
                if not _threshold_met(t, i, value, tr_thr_slot, thr_mode, thr_vals,
                                      in_strength, ctr_layer, tr_counter):
                    continue
                h = h0
        alive = True
        m = mult[t]
        h = h * m if m > 0.0 else 0.0  # (inf * 0 would be nan: a sure rule switched off)
        haz[t] = h
        if h == np.inf:
            n_inf += 1
        else:
            total += h
    return total, n_inf, alive


@njit(cache=True, nogil=True, inline='always')
def _choose(rng, s, haz, total, n_inf, st_ptr, st_tr):
    """Pick one transition of state s: uniformly among infinite hazards, else in proportion."""
    chosen = -1
    if n_inf == 0:
        pick = uniform(rng) * total
        for q in range(st_ptr[s], st_ptr[s + 1]):
            t = st_tr[q]
            if haz[t] > 0.0:
                chosen = t
                pick -= haz[t]
                if pick < 0.0:
                    break
    else:
        k = randint(rng, n_inf) if n_inf > 1 else 0
        for q in range(st_ptr[s], st_ptr[s + 1]):
            t = st_tr[q]
            if haz[t] == np.inf:
                chosen = t
                if k == 0:
                    break
                k -= 1
    return chosen


@njit(cache=True, nogil=True)
def _schedule_totals(hazard, st_ptr, st_tr, st_total, st_n_inf, st_single):
    """Per joint state, the total finite scheduled hazard, the number of sure rules and
    the rule that fires if only one can (-1 if several compete): what the constant
    spontaneous states fire on; recomputed when a segment starts."""
    for s in range(st_total.shape[0]):
        total = 0.0
        n_inf = 0
        n_live = 0
        inf_rule = -1
        live_rule = -1
        for q in range(st_ptr[s], st_ptr[s + 1]):
            t = st_tr[q]
            h = hazard[t]
            if h == np.inf:
                n_inf += 1
                inf_rule = t
            elif h > 0.0:
                total += h
                n_live += 1
                live_rule = t
        st_total[s] = total
        st_n_inf[s] = n_inf
        if n_inf > 0:
            st_single[s] = inf_rule if n_inf == 1 else -1
        else:
            st_single[s] = live_rule if n_live == 1 else -1


@njit(cache=True, nogil=True, inline='always')
def _mark_dirty(i, is_dirty, dirty, n_dirty):
    if is_dirty[i] == 0:
        is_dirty[i] = 1
        dirty[n_dirty] = i
        return n_dirty + 1
    return n_dirty


@njit(cache=True, nogil=True)  # (a call, not inlined: see "reference counting" below)
def _apply_change(i, new_s, state, n_state, counts, glob, ctr_layer, ctr_match, ctr_push,
                  lay_complete, lay_indptr, indices, weights, lay_weighted, st_ctr_use, is_cand,
                  cand, n_cand):
    """Move agent i to joint state new_s, updating counts; mark dirty i and the neighbours
    whose hazards may have risen, i.e. whose state reads a count that rose (a hazard
    that fell needs nothing: the pending firing step was proposed at a rate that is
    still a bound - see "thinning" above). ``is_cand``/``cand`` here are the dirty
    flag/list. Counters served by edge pushes are not kept.

    Returns (n_dirty, complete_count_left_zero, edge ends read)."""
    old_s = state[i]
    state[i] = new_s
    n_state[old_s] -= 1
    n_state[new_s] += 1
    woke = False
    visits = 0
    n_ctr = ctr_layer.shape[0]
    for layer in range(lay_complete.shape[0]):
        changed = False
        for c in range(n_ctr):
            if ctr_layer[c] == layer and not ctr_push[c] and ctr_match[c, new_s] != ctr_match[c, old_s]:
                changed = True
                if lay_complete[layer]:
                    before = glob[c]
                    glob[c] += np.float64(ctr_match[c, new_s]) - np.float64(ctr_match[c, old_s])
                    # Counts of others go from 0 to > 0 only when the global count passes 1.
                    if before <= 1.0 and glob[c] > before:
                        woke = True
        if not changed or lay_complete[layer]:
            continue
        weighted = lay_weighted[layer]
        # Each neighbour once, all its counters on this layer together (one cache line:
        # counts is agent-major).
        lo = lay_indptr[layer, i]
        hi = lay_indptr[layer, i + 1]
        visits += hi - lo
        # (see prefetch.py; state, counts and flag share a record) the first neighbours'
        # records at once, then each _AHEAD neighbours early
        for e in range(lo, min(lo + _AHEAD, hi)):
            prefetch(state, indices[e])
        for e in range(lo, hi):
            if e + _AHEAD < hi:
                prefetch(state, indices[e + _AHEAD])
            j = indices[e]
            w = weights[e] if weighted else 1.0
            sj = state[j]
            reads = False
            for c in range(n_ctr):
                if ctr_layer[c] != layer or ctr_push[c]:
                    continue
                d = np.float64(ctr_match[c, new_s]) - np.float64(ctr_match[c, old_s])
                if d != 0.0:
                    v = counts[j, c] + d * w
                    # float32 sums: a residue below 1e-6 of a weighted count is rounding, not a neighbour
                    counts[j, c] = v if (v > 1e-6 or not weighted) else 0.0
                    if st_ctr_use[sj, c] and d * w > 0.0:
                        reads = True
            if reads:  # else j's calendar entry stays valid
                n_cand = _mark_dirty(j, is_cand, cand, n_cand)
    n_cand = _mark_dirty(i, is_cand, cand, n_cand)
    return n_cand, woke, visits


# The calendars (static agents' firing steps; push targets' candidate steps) are bucket
# queues over steps. A bucket is a chain of blocks of _BLOCK entries (agent, stamp), the
# newest block at its head and only that one partly filled: pushing writes to a head block
# that is in cache (there is one per step), and popping reads whole blocks in order, so a
# bucket costs one cache miss per block rather than one per entry, as a chain of single
# entries scattered over the pool would.
_BLOCK = 32


@njit(cache=True, nogil=True)
def _blocks_new(n_blocks):
    """A block pool: entries (agent, stamp), every block chained as free."""
    ent = np.empty((n_blocks * _BLOCK, 2), dtype=np.int32)
    nxt = np.empty(n_blocks, dtype=np.int64)
    for b in range(n_blocks - 1):
        nxt[b] = b + 1
    nxt[n_blocks - 1] = -1
    return ent, nxt


@njit(cache=True, nogil=True)
def _blocks_reserve(pushes, span, n_free, free, ent, nxt):
    """Grow the pool (at least doubling) so that ``pushes`` entries into at most ``span``
    buckets cannot run out of blocks: a bucket given p entries takes at most p // _BLOCK
    + 1 new blocks.

    Called between phases, never per entry: the loops that push then never reassign the
    pool's arrays (a reassigned array costs reference counting every pass).
    Returns (ent, nxt, free, n_free)."""
    need = pushes // _BLOCK + min(pushes, span) + 1
    if n_free >= need:
        return ent, nxt, free, n_free
    old = nxt.shape[0]
    new = max(2 * old, old + need - n_free)
    ent2 = np.empty((new * _BLOCK, 2), dtype=np.int32)
    ent2[:old * _BLOCK] = ent
    nxt2 = np.empty(new, dtype=np.int64)
    nxt2[:old] = nxt
    for b in range(old, new - 1):
        nxt2[b] = b + 1
    nxt2[new - 1] = free  # the new blocks, then the old free chain
    return ent2, nxt2, old, n_free + (new - old)


@njit(cache=True, nogil=True)
def _cal_flush(n_out, out_agent, out_stamp, out_when, span, head, count, ent, nxt, free, n_free):
    """Push the buffered entries (agent, stamp, step) into the calendar; returns
    (ent, nxt, free, n_free). The hot loops buffer their pushes (three sequential
    writes) and this one call, per phase, does them: the pushes written out once, and
    with the arrays borrowed rather than reference-counted per push (see "reference
    counting" above)."""
    ent, nxt, free, n_free = _blocks_reserve(n_out, span, n_free, free, ent, nxt)
    for q in range(n_out):
        when = out_when[q]
        c = count[when]
        r = c % _BLOCK
        if r == 0:  # a new head block (also when the bucket is empty)
            b = free
            free = nxt[b]
            n_free -= 1
            nxt[b] = head[when]
            head[when] = b
        pos = head[when] * _BLOCK + r
        ent[pos, 0] = out_agent[q]
        ent[pos, 1] = out_stamp[q]
        count[when] = c + 1
    return ent, nxt, free, n_free


# ----------------------------------------------------------------- edge pushes
# (the push loop itself is written out in run_replicate's routing step)
# An induced transition t whose hazard is rate x count (no signal, no daily rhythm, no
# schedule change), out of a state where it is the only live rule, read from source
# states whose exit step is drawn once on entry (spontaneous, unmodulated rules only):
# then "some neighbour's per-step Bernoulli succeeds" is the per-step law of t, and each
# source-target edge can be drawn once per source visit - whether it fires within the
# source's remaining window, and at which step (a truncated geometric) - instead of
# counting neighbours and re-drawing the target each time a count moves. Skipping over
# edges geometrically makes a source cost O(edges that fire), not O(degree). A target
# keeps its earliest candidate step (``pwhen``) in a second calendar; a change of state
# (a new *visit*) voids it. The pair (source, target) is drawn by whichever entered its
# state later: a new source pushes to its targets, a new target (after step 0) pulls from
# sources already in their windows.

NEVER = np.int32(2147483647)


@njit(cache=True, nogil=True, inline='always')
def _new_visit(i, step, since, pvisit, pwhen):
    """Agent i starts a new visit of a state at ``step``; returns 1 if a live push
    candidate was voided."""
    since[i] = step
    pvisit[i] += 1
    if pwhen[i] != NEVER:
        pwhen[i] = NEVER
        return 1
    return 0


@njit(cache=True, nogil=True)
def _pop_pushed(k, head, count, ent, nxt, free, n_free, pvisit, pwhen, now, n_now):
    """Empty the push calendar's bucket of step k: append to ``now`` the targets whose
    entry is still their current candidate (stamped with their visit, and the earliest:
    ``pwhen == k``), and give the bucket's blocks back to the pool.
    Returns (n_now, free, n_free)."""
    blk = head[k]
    n_chunk = (count[k] - 1) % _BLOCK + 1  # entries in the head block
    head[k] = -1
    count[k] = 0
    while blk >= 0:
        base = blk * _BLOCK
        # the block's targets' records, requested before any is read (their misses
        # overlap; see prefetch.py), and the next block's entries
        for c in range(n_chunk):
            prefetch(pvisit, ent[base + c, 0])
        if nxt[blk] >= 0:
            prefetch_row(ent, nxt[blk] * _BLOCK)
        for c in range(n_chunk):
            i = ent[base + c, 0]
            if ent[base + c, 1] == pvisit[i] and pwhen[i] == k:
                now[n_now] = i
                n_now += 1
        after = nxt[blk]
        nxt[blk] = free
        free = blk
        n_free += 1
        blk = after
        n_chunk = _BLOCK  # (every block after the head is full)
    return n_now, free, n_free


@njit(cache=True, nogil=True, inline='always')
def _schedule_draw(rng, total, n_inf, dt, first_step, follows_activity, activity, clock):
    """First step >= first_step at which an agent of constant hazard ``total`` fires.

    Per-step law: P(fire in step j) = 1 - exp(-H a_j dt) (a_j = 1 without a daily
    profile). Equivalently, the first j with H * (clock[j+1] - clock[first]) >= E,
    E ~ Exp(1): one draw, and a binary search when the activity varies.
    Returns -1 for "never within the run".
    """
    n_steps = activity.shape[0]
    if n_inf > 0:  # surely, at the first step with any activity
        j = first_step
        if follows_activity:
            while j < n_steps and activity[j] <= 0.0:
                j += 1
        return j if j < n_steps else -1
    if total <= 0.0:
        return -1
    e = -np.log(uniform_pos(rng)) / total
    if not follows_activity:
        g = e / dt
        if g > 2e9:
            return -1
        return first_step + np.int64(g)
    return _clock_step(clock, first_step, e)


@njit(cache=True, nogil=True, inline='always')
def _clock_step(clock, first_step, e):
    """The first step j >= first_step with clock[j + 1] - clock[first_step] >= e (activity
    time e), or -1 if the run ends first.

    By bisection over clock[first_step + 1 .. n_steps]. Written out (np.searchsorted is a
    call, and a call costs a reference-count update per array it is passed), and without
    branches on the data: the comparisons are unpredictable, and a mispredicted branch
    costs more than the read."""
    n_steps = clock.shape[0] - 1
    target = clock[first_step] + e
    if target > clock[n_steps]:
        return -1
    base = first_step + 1  # clock[n_steps] >= target: the answer is in base .. n_steps
    length = n_steps - first_step
    while length > 1:
        half = length >> 1
        base = base + half if clock[base + half - 1] < target else base
        length -= half
    return base - 1


@njit(cache=True, nogil=True)
def _draw_thresholds(rng, thr_dist, thr_p1, thr_p2, thr_vals):
    for slot in range(thr_vals.shape[0]):
        d = thr_dist[slot]
        a = thr_p1[slot]
        b = thr_p2[slot]
        for i in range(thr_vals.shape[1]):
            if d == DIST_FIXED:
                v = a
            elif d == DIST_UNIFORM:
                v = a + (b - a) * uniform(rng)
            elif d == DIST_NORMAL:
                v = a + b * normal(rng)
            else:
                v = np.exp(a + b * normal(rng))
            thr_vals[slot, i] = v


@njit(cache=True, nogil=True)
def _compute_signals(sig_kind, sig_a, sig_b, sig_scale, sig_state_mask, sig_tr_mask, sig_alpha,
                     seg_value_row, n_state, fired_step, sig_val):
    """Evaluate every signal in order (each may read the ones before it)."""
    n_joint = n_state.shape[0]
    for g in range(sig_kind.shape[0]):
        kind = sig_kind[g]
        if kind == SIG_VALUE:
            v = seg_value_row[g]
        elif kind == SIG_COUNT:
            total = 0
            for s in range(n_joint):
                if sig_state_mask[g, s]:
                    total += n_state[s]
            v = total * sig_scale[g]
        elif kind == SIG_FLOW:
            total = 0
            for t in range(fired_step.shape[0]):
                if sig_tr_mask[g, t]:
                    total += fired_step[t]
            v = total * sig_scale[g]
        elif kind == SIG_OVERLOAD:
            capacity = sig_val[sig_a[g]]
            demand = sig_val[sig_b[g]]
            v = 0.0
            if demand > 0.0 and capacity < demand:
                v = 1.0 - capacity / demand
        elif kind == SIG_RATIO:
            den = sig_val[sig_b[g]]
            v = sig_val[sig_a[g]] / den if den != 0.0 else 0.0
        else:  # SIG_AVERAGE: exponential moving average with the given half-life
            v = sig_val[g] + sig_alpha[g] * (sig_val[sig_a[g]] - sig_val[g])
        sig_val[g] = v


@njit(cache=True, nogil=True)
def _record(r, n_state, fired_tot, sig_val, state, out_counts, out_fired, out_signals,
            out_agent_states):
    """Write report row r: joint-state counts, cumulative firings, signals (and agents)."""
    out_counts[r, :] = n_state
    out_fired[r, :] = fired_tot
    out_signals[r, :] = sig_val
    if out_agent_states.shape[0] > 0:
        out_agent_states[r, :] = state


@njit(cache=True, nogil=True)
def _record_rest(r0, n_state, fired_tot, sig_val, state, out_counts, out_fired, out_signals,
                 out_agent_states):
    """Write report rows r0 .. the last, all alike (nothing can change any more), in one
    call: a small cascade stops after a few dozen of a thousand report times, and a call
    per row costs more than the row. Returns the number of rows."""
    for r in range(r0, out_counts.shape[0]):
        for s in range(n_state.shape[0]):
            out_counts[r, s] = n_state[s]
        for t in range(fired_tot.shape[0]):
            out_fired[r, t] = fired_tot[t]
        for g in range(sig_val.shape[0]):
            out_signals[r, g] = sig_val[g]
        if out_agent_states.shape[0] > 0:
            out_agent_states[r, :] = state
    return out_counts.shape[0]


# ----------------------------------------------------- once per replicate or per step
# Named phases of run_replicate. Plain calls, not inlined: their array arguments are
# borrowed, and they run once per replicate or once per step, so a call costs nothing
# that shows (see "reference counting" above).


@njit(cache=True, nogil=True)
def _initial_counts(n_agents, ctr_layer, ctr_match, ctr_push, lay_complete, in_strength, counts,
                    glob):
    """Neighbour counts at the start, when everybody is in joint state 0: a counter that
    matches state 0 counts every in-neighbour (the in-strength; ``glob`` holds the
    population count for a complete layer). Counters served by pushes are not kept.
    Returns whether any agent's count was written (then every record was)."""
    wrote = False
    for c in range(ctr_layer.shape[0]):
        if ctr_match[c, 0] and not ctr_push[c]:
            if lay_complete[ctr_layer[c]]:
                glob[c] = n_agents
            else:
                wrote = True
                for i in range(n_agents):
                    counts[i, c] = in_strength[ctr_layer[c], i]
    return wrote


@njit(cache=True, nogil=True)
def _mark_states_dirty(states_dirty, state, is_dirty, dirty, n_dirty):
    """Mark every agent whose joint state is flagged in ``states_dirty`` (a schedule
    segment changed its hazards); returns the new length of the dirty list."""
    for i in range(state.shape[0]):
        if states_dirty[state[i]]:
            n_dirty = _mark_dirty(i, is_dirty, dirty, n_dirty)
    return n_dirty


@njit(cache=True, nogil=True)
def _rescan(start_push, state, sched, st_idle, st_push_tr, is_dirty, dirty):
    """A full rescan: list every agent for routing (``dirty``), except those whose routing
    would do nothing - in an idle state, or a push target at step 0 (``start_push``:
    nothing to pull yet) - and that have no pending calendar entry (routing voids it).
    Returns the number listed."""
    n_dirty = 0
    for i in range(state.shape[0]):
        s = state[i]
        idle = st_idle[s] or (start_push and st_push_tr[s] >= 0)
        if idle and sched[i] < 0:
            is_dirty[i] = 0
            continue
        is_dirty[i] = 1
        dirty[n_dirty] = i
        n_dirty += 1
    return n_dirty


@njit(cache=True, nogil=True)
def _push_room(k, dirty, rec, state, since, st_push_src, st_push_tr, tr_push_p, tr_counter,
               ctr_layer, ctr_match, lay_indptr):
    """The most edges this step's routing can fire: the edges, on pushed layers, of the
    listed agents whose visit begins now as a source (or, after step 0, as a target that
    pulls)."""
    need = 0
    n_dirty = dirty.shape[0]
    for q in range(n_dirty):
        if q + _AHEAD < n_dirty:
            j = dirty[q + _AHEAD]
            prefetch_row(rec, j)
            prefetch2(lay_indptr, 0, j)
        i = dirty[q]
        s = state[i]
        if since[i] == k and (st_push_src[s] or (st_push_tr[s] >= 0 and k > 0)):
            for t in range(tr_push_p.shape[0]):
                if tr_push_p[t] >= 0.0 and (ctr_match[tr_counter[t], s] or st_push_tr[s] == t):
                    layer = ctr_layer[tr_counter[t]]
                    need += lay_indptr[layer, i + 1] - lay_indptr[layer, i]
    return need


@njit(cache=True, nogil=True)
def _track_signals(sig_val, time, span, sig_alert, peak, peak_time, above):
    """Fold the signals' values of a stretch of ``span`` time from ``time`` into each
    signal's peak (and the time it was first reached) and its time above the alert level."""
    for g in range(sig_val.shape[0]):
        if sig_val[g] > peak[g]:
            peak[g] = sig_val[g]
            peak_time[g] = time
        if sig_val[g] > sig_alert[g]:
            above[g] += span


@njit(cache=True, nogil=True)
def _modulation(a, sig_val, mod_ptr, mod_sig, mod_gain, tr_act, modm, mult):
    """Each transition's rate multiplier this step: ``modm`` the signal modulations,
    prod max(0, 1 + gain x signal) (calendar thinning), and ``mult`` that times the
    activity ``a`` for the transitions that follow the daily rhythm (per-step trials)."""
    for t in range(modm.shape[0]):
        m = 1.0
        for q in range(mod_ptr[t], mod_ptr[t + 1]):
            f = 1.0 + mod_gain[q] * sig_val[mod_sig[q]]
            m *= f if f > 0.0 else 0.0
        modm[t] = m
        mult[t] = m * a if tr_act[t] else m


@njit(cache=True, nogil=True)
def _outcome_probabilities(sig_val, tr_n_out, out_p, out_sig, out_complement, out_rest, cum_p):
    """Cumulative outcome probabilities of each transition this step (``cum_p[t, o]``).

    An outcome has a fixed probability or a signal's value (clipped to [0, 1], or its
    complement); if they sum above 1 they are scaled to 1; a "rest" outcome takes what
    is left. The last cumulative value may be below 1: outcomes are drawn in proportion.
    """
    for t in range(tr_n_out.shape[0]):
        fixed = 0.0
        for o in range(tr_n_out[t]):
            if out_rest[t, o]:
                p = 0.0
            elif out_sig[t, o] >= 0:
                p = min(max(sig_val[out_sig[t, o]], 0.0), 1.0)
                if out_complement[t, o]:
                    p = 1.0 - p
            else:
                p = out_p[t, o]
            cum_p[t, o] = p
            fixed += p
        if fixed > 1.0:
            for o in range(tr_n_out[t]):
                cum_p[t, o] /= fixed
            fixed = 1.0
        acc = 0.0
        for o in range(tr_n_out[t]):
            if out_rest[t, o]:
                cum_p[t, o] = 1.0 - fixed
            acc += cum_p[t, o]
            cum_p[t, o] = acc


@njit(cache=True, nogil=True)
def _select_and_apply(ev, rng, ev_mode, ev_count, ev_fraction, ev_share, ev_ids_ptr, ev_ids,
                      ev_among, ev_eff_ptr, eff_from, eff_target, eff_p, ev_fire_index,
                      n_agents, state, n_state, counts, glob, ctr_layer, ctr_match, ctr_push,
                      lay_complete, lay_indptr, indices, weights, lay_weighted, st_ctr_use, is_cand,
                      cand, n_cand, fired_tot, k, has_push, since, pvisit, pwhen, touched, n_touched):
    """Apply one dated event (seed or broadcast) at step k: choose agents, apply the first
    matching effect; list in ``touched`` the agents it moves out of joint state 0 (while
    there is room). Returns (n_dirty, complete count woke, push candidates voided, edge
    ends read, n_touched)."""
    woke = False
    voided = 0
    visits = 0
    # Eligible agents: everyone (mode 0) or a listed set (mode 1), restricted to ev_among.
    if ev_mode[ev] == 0:
        m = 0
        for s in range(n_state.shape[0]):
            if ev_among[ev, s]:
                m += n_state[s]
        n_list = n_agents
    else:
        m = 0
        n_list = ev_ids_ptr[ev + 1] - ev_ids_ptr[ev]
        for q in range(ev_ids_ptr[ev], ev_ids_ptr[ev + 1]):
            if ev_among[ev, state[ev_ids[q]]]:
                m += 1
    if ev_count[ev] >= 0:
        want = min(ev_count[ev], m)
    elif ev_fraction[ev] >= 0.0:
        want = min(np.int64(np.floor(ev_fraction[ev] * m + 0.5)), m)
    else:
        want = -1  # Bernoulli(ev_share) per eligible agent
    share = ev_share[ev]
    # First decide who is chosen (reading states before any change), then apply:
    # selection must not see the effects of this same event.
    chosen = np.empty(max(want, 0) if want >= 0 else 16, dtype=np.int64)
    n_chosen = 0
    seen = 0
    if want >= 0 and 9 * want <= m:
        # A few among many (seeds): by rejection, O(want) rather than a pass over the list.
        n_chosen = _draw_distinct(rng, want, n_list, ev_mode[ev] == 1, ev_ids, ev_ids_ptr[ev],
                                  ev_among[ev], state, chosen)
        n_list = 0  # (the pass below is not needed)
    for q in range(n_list):
        i = q if ev_mode[ev] == 0 else ev_ids[ev_ids_ptr[ev] + q]
        if not ev_among[ev, state[i]]:
            continue
        if want >= 0:
            if n_chosen >= want:
                break
            # Knuth's selection sampling: exactly `want` of the m eligible, uniformly.
            if uniform(rng) * (m - seen) < (want - n_chosen):
                chosen[n_chosen] = i
                n_chosen += 1
            seen += 1
        else:
            if uniform(rng) < share:
                if n_chosen == chosen.shape[0]:
                    bigger = np.empty(chosen.shape[0] * 2, dtype=np.int64)
                    bigger[:n_chosen] = chosen[:n_chosen]
                    chosen = bigger
                chosen[n_chosen] = i
                n_chosen += 1
    fire = ev_fire_index[ev]
    for q in range(n_chosen):  # (k is the step: it dates the new visits)
        i = chosen[q]
        s = state[i]
        for f in range(ev_eff_ptr[ev], ev_eff_ptr[ev + 1]):
            if eff_from[f, s]:
                if eff_p[f] >= 1.0 or uniform(rng) < eff_p[f]:
                    target = eff_target[f, s]
                    if target != s:
                        if s == 0 and n_touched < touched.shape[0]:
                            touched[n_touched] = i
                            n_touched += 1
                        n_cand, w, v = _apply_change(i, target, state, n_state, counts, glob, ctr_layer,
                                                  ctr_match, ctr_push, lay_complete, lay_indptr,
                                                  indices, weights, lay_weighted, st_ctr_use,
                                                  is_cand, cand, n_cand)
                        woke = woke or w
                        visits += v
                        if has_push:  # in its new state from this very step
                            voided += _new_visit(i, k, since, pvisit, pwhen)
                        if fire >= 0:
                            fired_tot[fire] += 1
                break
    return n_cand, woke, voided, visits, n_touched


@njit(cache=True, nogil=True)
def _draw_distinct(rng, want, n_list, listed, ids, first, among, state, chosen):
    """Choose ``want`` distinct positions of a list of ``n_list`` agents (all agents, or
    ``ids[first:first + n_list]`` if ``listed``) uniformly among those whose state is
    allowed by ``among`` (m of them), without replacement; write the agents, in list
    order, to ``chosen``. Returns ``want``.

    By rejection: draw a position uniformly, keep it if its agent is eligible and the
    position is new (a small hash set) - each kept one is uniform among the eligible
    positions not yet kept, so the set is a uniform ``want``-subset. With 9 want <= m
    (the caller's condition) the expected number of draws is at most
    want n_list / (m - want) <= n_list / 8, and in the usual case of seeds among
    everyone about ``want``: a seed costs O(want), not one draw per agent."""
    size = 16
    while size < 2 * want:
        size *= 2
    table = np.full(size, -1, dtype=np.int64)
    mask = size - 1
    n = 0
    while n < want:
        q = randint(rng, n_list)
        i = ids[first + q] if listed else q
        if not among[state[i]]:
            continue
        h = (q * 0x9E3779B1) & mask  # (a multiplicative hash; linear probing)
        while table[h] >= 0 and table[h] != q:
            h = (h + 1) & mask
        if table[h] == q:
            continue
        table[h] = q
        chosen[n] = q
        n += 1
    chosen[:want] = np.sort(chosen[:want])  # list order, as a pass over the list gives
    if listed:
        for c in range(want):
            chosen[c] = ids[first + chosen[c]]
    return want


def _record_layout(n_counters, n_thresholds, has_push):
    """Columns (int32 or float32) of the per-agent record: candidate flag, changed flag,
    calendar stamp, firing step; the proposal rate (a float64 over columns 4-5); the
    edge-push visit (4, if any push); the joint state; one neighbour count per counter
    (at least 1); one threshold per threshold rule. Returns (width, first push column,
    state column, first count column, first threshold column); the width is 8 or 16
    columns (half or one 64-byte cache line), or a multiple of 16."""
    c_push = 6
    c_state = c_push + (4 if has_push else 0)
    c_counts = c_state + 1
    c_thr = c_counts + max(n_counters, 1)
    used = c_thr + n_thresholds
    width = 8 if used <= 8 else 16 * ((used + 15) // 16)
    return width, c_push, c_state, c_counts, c_thr


#: (the memory estimate calls the plain Python function: ``record_layout.py_func``)
record_layout = njit(cache=True, nogil=True)(_record_layout)


def record_buffer(n_agents: int, n_counters: int, n_thresholds: int, has_push: bool,
                  zeros=np.zeros) -> np.ndarray:
    """A clean buffer for ``run_replicate``'s per-agent records (its ``records``): every
    agent's record as at the start of a replicate, then a tail saying which records the
    last replicate left written (``_prepare_records``). A worker passes the same buffer to
    all its replicates: each cleans only what the one before touched.

    Allocated here, by numpy, rather than inside the kernel: numpy asks Linux for
    transparent huge pages on large arrays, and with 2 MB pages the scattered reads of
    records rarely miss the TLB (with 4 kB pages nearly every one does, at 10^7 agents).
    ``zeros(size, dtype)`` allocates it (``rumorsim.pages.zeros`` faults its pages in on
    all cores first: the clean below then writes mapped memory).
    """
    width, c_push = _record_layout(n_counters, n_thresholds, has_push)[:2]
    flat = zeros(_buffer_size(n_agents, width), dtype=np.int32)
    _clean_records(flat, n_agents, width, c_push, has_push, False)
    return flat


@njit(cache=True, nogil=True)
def _buffer_size(n_agents, width):
    """int32 entries of a record buffer: the records (aligned to 64 bytes: 16 spare), then
    the tail - status, count, and room to list an eighth of the agents (past that,
    cleaning agents and their neighbours one by one would cost about a full clean)."""
    return n_agents * width + 16 + 2 + n_agents // 8 + 64


@njit(cache=True, nogil=True)
def _record_rows(flat, n_agents, width):
    """The (agents, width) view of a record buffer, its first row aligned to 64 bytes."""
    first = ((64 - flat.ctypes.data % 64) % 64) // 4
    return flat[first:first + n_agents * width].reshape((n_agents, width))


@njit(cache=True, nogil=True)
def _clean_records(flat, n_agents, width, c_push, has_push, zero):
    """Every record clean: zeros (written unless ``zero`` is False: a fresh np.zeros
    buffer), no pending firing step (column 3 = -1), and for pushes no source window (-1)
    and no candidate step (NEVER). The tail's status says clean (0)."""
    if zero:
        flat[:] = 0
    flat[n_agents * width + 16] = 0
    rec = _record_rows(flat, n_agents, width)
    rec[:, 3] = -1
    if has_push:
        rec[:, c_push + 1] = -1
        rec[:, c_push + 2] = NEVER


@njit(cache=True, nogil=True)
def _prepare_records(flat, n_agents, width, c_push, has_push, kept, lay_indptr, indices,
                     lay_complete):
    """Clean what the last replicate on this buffer left written, as its tail says:
    status 0 nothing, 1 the listed agents - and their neighbours if ``kept`` (counts kept
    on a stored layer) - (``_clean_touched``), 2 every record. Returns the tail's list,
    for this replicate to fill."""
    tail = flat[n_agents * width + 16:]
    if tail[0] == 1:
        rec = _record_rows(flat, n_agents, width)
        _clean_touched(rec, tail[2:2 + tail[1]], kept, lay_indptr, indices, lay_complete,
                       c_push, has_push)
    elif tail[0] == 2:
        _clean_records(flat, n_agents, width, c_push, has_push, True)
    tail[0] = 0
    tail[1] = 0
    return tail[2:]


@njit(cache=True, nogil=True)
def _clean_touched(rec, touched, kept, lay_indptr, indices, lay_complete, c_push, has_push):
    """Make clean again the records a replicate may have written - those of the agents
    that left joint state 0 (``touched``; listed again if they left it again) and, when
    counts are kept on a stored layer (``kept``), of their neighbours on every layer (their
    counts and calendar steps moved). With pushes alone, an agent's record is written only
    once it changes state: a push target reached fires, or changes state first.
    Costs what the replicate touched, not O(agents)."""
    width = rec.shape[1]
    for q in range(touched.shape[0]):
        i = touched[q]
        for layer in range(lay_complete.shape[0] if kept else 0):
            if lay_complete[layer]:
                continue
            for e in range(lay_indptr[layer, i], lay_indptr[layer, i + 1]):
                j = indices[e]
                for c in range(width):
                    rec[j, c] = 0
                rec[j, 3] = -1
                if has_push:
                    rec[j, c_push + 1] = -1
                    rec[j, c_push + 2] = NEVER
        for c in range(width):
            rec[i, c] = 0
        rec[i, 3] = -1
        if has_push:
            rec[i, c_push + 1] = -1
            rec[i, c_push + 2] = NEVER


@njit(cache=True, nogil=True)
def _start_list(touched, state, st_idle, st_push_tr, is_dirty, dirty, n_dirty):
    """Step 0's rescan when joint state 0 needs no routing at step 0 (idle, or a push
    target): the agents the dated events moved out of it, in index order (the order a
    full rescan lists them in), except those in a state that needs none either. The
    dirty flags the events set are cleared first. Returns the length of the list."""
    for q in range(n_dirty):
        is_dirty[dirty[q]] = 0
    moved = np.sort(touched)
    n = 0
    last = -1
    for q in range(moved.shape[0]):
        i = moved[q]
        if i == last:
            continue
        last = i
        s = state[i]
        if st_idle[s] or st_push_tr[s] >= 0:
            continue
        is_dirty[i] = 1
        dirty[n] = i
        n += 1
    return n


@njit(cache=True, nogil=True)
def run_replicate(
    rng,                                    # uint64[4] xoshiro state (advanced in place)
    # -- the model: rumorsim.kernel_arrays.FIELDS, in this order (a test checks it)
    n_agents, n_steps, dt, report_steps,
    st_ptr, st_tr, dyn_state, st_act, tr_act, activity, clock,
    tr_kind, tr_counter, tr_thr_slot, tr_n_out, out_target, out_p, out_sig, out_complement,
    out_rest, mod_ptr, mod_sig, mod_gain, tr_mod_max,
    thr_mode, thr_dist, thr_p1, thr_p2,
    ctr_layer, ctr_match, st_ctr_use, ctr_push, st_push_tr, st_push_src, tr_push_p, push_log_q,
    st_simple, st_ctr_class, st_idle, st_thr,
    lay_indptr, indices, weights, lay_weighted, lay_complete, in_strength,
    sig_kind, sig_a, sig_b, sig_scale, sig_state_mask, sig_tr_mask, sig_alpha, sig_alert,
    seg_start, seg_hazard, seg_value, seg_state_dirty,
    ev_step, ev_mode, ev_count, ev_fraction, ev_share, ev_ids_ptr, ev_ids, ev_among,
    ev_eff_ptr, eff_from, eff_target, eff_p, ev_fire_index,
    # -- outputs, filled in place (rows: report_steps)
    out_counts,                             # int32 (R, S): agents per joint state
    out_fired,                              # int64 (R, T + events): cumulative firings
    out_signals,                            # float64 (R, G): signal values
    out_sig_peak, out_sig_peak_time,        # float64 (G,): each signal's peak and its time
    out_sig_above,                          # float64 (G,): time spent above the alert level
    out_agent_states,                       # int16 (R, N) agents' joint states, or (0, 0)
    records,                                # a worker's buffer from record_buffer (too small: made here)
):
    """Run one replicate; fill the ``out_*`` arrays.

    Returns (steps run, edge visits): the step at which it stopped (``n_steps``, or
    earlier once nothing could change any more) and the number of edge ends the cascade
    covered - a changed agent's edges on the layers whose counts it moved (state changes
    and dated events), a push source's edges (drawn at once: the ones that do not fire
    are skipped, not read), a pulling target's edges - the work measure of
    ``rumorsim run --profile``, comparable between the two paths (the set-up is not
    counted).
    """
    n_joint = out_counts.shape[1]
    n_tr = tr_kind.shape[0]
    n_ctr = ctr_layer.shape[0]
    n_sig = sig_kind.shape[0]
    n_ev = ev_step.shape[0]
    n_seg = seg_start.shape[0]
    n_layers = lay_complete.shape[0]
    was = np.zeros(max(n_ctr, 1), dtype=np.float64)  # a neighbour's counts before a change

    has_push = False
    for s in range(st_push_tr.shape[0]):
        has_push = has_push or st_push_tr[s] >= 0
    n_push = n_agents if has_push else 0
    # Everything the kernel keeps per agent lives in one record per agent, aligned to a
    # cache line and used through strided views: visiting an agent (routing it, updating
    # its counts as a neighbour changes, popping it from the calendar) then costs one
    # cache miss, not one per array - at 10^6 agents and more the kernel is bound by
    # these misses. See ``record_layout`` for the columns.
    width, c_push, c_state, c_counts, c_thr = record_layout(n_ctr, thr_mode.shape[0], has_push)
    if records.shape[0] >= _buffer_size(n_agents, width):  # (a record_buffer)
        flat = records
    else:
        flat = np.empty(_buffer_size(n_agents, width), dtype=np.int32)
        _clean_records(flat, n_agents, width, c_push, has_push, True)
    # clean what the replicate before left written; ``touched`` lists, in the buffer's
    # tail, the agents that leave joint state 0 in this one (see "A worker's replicates")
    kept = False  # counts kept on a stored layer: a change writes neighbours' records
    for c in range(n_ctr):
        kept = kept or (not ctr_push[c] and not lay_complete[ctr_layer[c]])
    touched = _prepare_records(flat, n_agents, width, c_push, has_push, kept, lay_indptr,
                               indices, lay_complete)
    rec = _record_rows(flat, n_agents, width)
    recf = rec.view(np.float32)
    state = rec[:, c_state]
    # the rate at which the pending firing step was proposed (see "superposition")
    prop = rec.view(np.float64)[:, 2]
    n_state = np.zeros(n_joint, dtype=np.int64)
    n_state[0] = n_agents
    counts = recf[:, c_counts:c_counts + max(n_ctr, 1)]
    glob = np.zeros(n_ctr, dtype=np.float64)
    # ``touched_all`` once every record may have been written (a pass over all agents):
    # then, as when ``touched`` is full, the next replicate cleans all records.
    n_touched = 0
    touched_all = _initial_counts(n_agents, ctr_layer, ctr_match, ctr_push, lay_complete,
                                  in_strength, counts, glob)
    thr_vals = recf[:, c_thr:c_thr + thr_mode.shape[0]].T  # (threshold slot, agent)
    _draw_thresholds(rng, thr_dist, thr_p1, thr_p2, thr_vals)

    # dynamic candidates (tried every step)
    is_cand = rec[:, 0]
    cand = np.empty(n_agents, dtype=np.int32)
    n_cand = 0
    # agents whose state or counts changed: routed to the candidates or the calendar
    is_dirty = rec[:, 1]
    dirty = np.empty(n_agents, dtype=np.int32)
    n_dirty = 0
    # calendar of static agents: a bucket per step (head block, entries), blocks of
    # entries (agent, stamp) in a growable pool
    stamp = rec[:, 2]
    sched = rec[:, 3]  # (-1 in a clean record)
    n_live = 0
    cal_head = np.full(n_steps + 1, -1, dtype=np.int64)
    cal_count = np.zeros(n_steps + 1, dtype=np.int64)
    n_free = 32 + n_agents // (4 * _BLOCK)
    cal_ent, cal_next = _blocks_new(n_free)
    free = 0

    # edge pushes (see "edge pushes" above): per-agent visit bookkeeping, a second calendar
    if has_push:
        since = rec[:, c_push]       # first step of the current visit
        xend = rec[:, c_push + 1]    # last step of a source's window
        pwhen = rec[:, c_push + 2]   # a target's earliest candidate step
        pvisit = rec[:, c_push + 3]  # visit counter: stamps push entries
    else:
        since = rec[:0, 0]
        xend = rec[:0, 0]
        pwhen = rec[:0, 0]
        pvisit = rec[:0, 0]
    # (xend -1 and pwhen NEVER in a clean record)
    pcal_head = np.full(n_steps + 1 if has_push else 1, -1, dtype=np.int64)
    pcal_count = np.zeros(pcal_head.shape[0], dtype=np.int64)
    n_pfree = 32 + n_push // (8 * _BLOCK)
    pcal_ent, pcal_next = _blocks_new(n_pfree)
    pfree = 0
    now = np.empty(n_push, dtype=np.int32)  # targets pushed for this very step
    # edges fired by this step's sources (edge, transition, window length, P(fires in it))
    fire_e = np.empty(1024 + n_push // 8, dtype=np.int64)
    fire_t = np.empty(fire_e.shape[0], dtype=np.int32)
    fire_L = np.empty(fire_e.shape[0], dtype=np.int32)
    fire_P = np.empty(fire_e.shape[0], dtype=np.float64)
    n_fire = 0
    n_now = 0
    n_plive = 0

    # agents whose constant rules include a sure one (probability 1): they fire at the
    # step they are routed, so they skip the calendar
    sure = np.empty(n_agents, dtype=np.int32)
    n_sure = 0
    # calendar pushes of a phase (routing, fired edges, calendar pops, superposition),
    # made after it by _cal_flush; routing and pops push at most one per agent, fired
    # edges one per edge (room made before), superposition routes instead when it is full
    out_agent = np.empty(n_agents, dtype=np.int32)
    out_stamp = np.empty(n_agents, dtype=np.int32)
    out_when = np.empty(n_agents, dtype=np.int32)
    n_out = 0
    chunk_agent = np.empty(_BLOCK, dtype=np.int32)
    chunk_stamp = np.empty(_BLOCK, dtype=np.int32)
    pend_agent = np.empty(n_agents, dtype=np.int32)
    pend_tr = np.empty(n_agents, dtype=np.int32)
    fired_step = np.zeros(n_tr, dtype=np.int64)
    fired_tot = np.zeros(out_fired.shape[1], dtype=np.int64)
    sig_val = np.zeros(n_sig, dtype=np.float64)
    haz = np.zeros(n_tr, dtype=np.float64)
    mult = np.ones(n_tr, dtype=np.float64)   # signal modulation x activity (per-step trials)
    modm = np.ones(n_tr, dtype=np.float64)   # signal modulation only (calendar thinning)
    cum_p = np.zeros(out_p.shape, dtype=np.float64)
    for g in range(n_sig):
        out_sig_peak[g] = -np.inf
        out_sig_peak_time[g] = 0.0
        out_sig_above[g] = 0.0

    seg = 0
    hazard = seg_hazard[0]
    # per state: total finite hazard, number of sure rules, the single rule (for the constant states)
    st_total = np.zeros(n_joint, dtype=np.float64)
    st_n_inf = np.zeros(n_joint, dtype=np.int64)
    st_single = np.zeros(n_joint, dtype=np.int64)
    _schedule_totals(hazard, st_ptr, st_tr, st_total, st_n_inf, st_single)
    next_ev = 0
    next_report = 0
    need_rescan = True
    steps_run = n_steps
    visits = 0  # edge ends read: by state changes (counts), pushes and pulls (see the return)

    for k in range(n_steps + 1):
        # 1. schedule segment (rates, capacities) in force from this step
        while seg + 1 < n_seg and seg_start[seg + 1] <= k:
            seg += 1
            hazard = seg_hazard[seg]
            _schedule_totals(hazard, st_ptr, st_tr, st_total, st_n_inf, st_single)
            # Agents in states whose hazards changed redraw their firing steps.
            n_dirty = _mark_states_dirty(seg_state_dirty[seg], state, is_dirty, dirty, n_dirty)
            touched_all = True
        # 2. dated events (seeds, broadcasts) due now
        while next_ev < n_ev and ev_step[next_ev] <= k:
            n_dirty, woke, voided, v, n_touched = _select_and_apply(
                next_ev, rng, ev_mode, ev_count, ev_fraction, ev_share, ev_ids_ptr, ev_ids,
                ev_among, ev_eff_ptr, eff_from, eff_target, eff_p, ev_fire_index, n_agents,
                state, n_state, counts, glob, ctr_layer, ctr_match, ctr_push, lay_complete,
                lay_indptr, indices, weights, lay_weighted, st_ctr_use, is_dirty, dirty, n_dirty,
                fired_tot, k, has_push, since, pvisit, pwhen, touched, n_touched)
            n_plive -= voided
            visits += v
            need_rescan = need_rescan or woke
            next_ev += 1
        # 3. route changed agents (or everyone, on a rescan); they may fire from this step
        if need_rescan:
            # Everyone, except agents whose routing would do nothing: in a state with no
            # rules (and pushing nothing), or a push target at step 0 (no calendar entry,
            # nothing to pull yet). Skipping them keeps a rescan to one pass over states.
            if k == 0 and not touched_all and n_touched < touched.shape[0] and (
                    st_idle[0] or st_push_tr[0] >= 0):
                # everybody still in state 0 would be skipped: list only the others
                n_dirty = _start_list(touched[:n_touched], state, st_idle, st_push_tr, is_dirty,
                                      dirty, n_dirty)
            else:
                n_dirty = _rescan(has_push and k == 0, state, sched, st_idle, st_push_tr,
                                  is_dirty, dirty)
                touched_all = True
            need_rescan = False
        # At most one new calendar entry per routed agent and one push entry per edge of
        # a new source or target: reserved here, once, so that the loop below never
        # reassigns the pools (a reassigned array costs reference counting every pass).
        if has_push:
            need = _push_room(k, dirty[:n_dirty], rec, state, since, st_push_src, st_push_tr,
                              tr_push_p, tr_counter, ctr_layer, ctr_match, lay_indptr)
            if need > fire_e.shape[0]:  # room for every edge of the new sources to fire
                size = max(need, 2 * fire_e.shape[0])
                fire_e = np.empty(size, dtype=np.int64)
                fire_t = np.empty(size, dtype=np.int32)
                fire_L = np.empty(size, dtype=np.int32)
                fire_P = np.empty(size, dtype=np.float64)
        for q in range(n_dirty):
            # (see prefetch.py) the agent's record 2 _AHEAD items early; _AHEAD items
            # early, what its state needs: in-strengths for thresholds, or its edges
            # (for pushes). Only what will be read: the reads in flight at once are
            # limited. (Routing an agent is short work: the reads need a long lead.)
            if q + 2 * _AHEAD < n_dirty:
                j = dirty[q + 2 * _AHEAD]
                prefetch_row(rec, j)
                if has_push:
                    prefetch2(lay_indptr, 0, j)
            if q + _AHEAD < n_dirty:
                j = dirty[q + _AHEAD]
                if st_thr[state[j]]:
                    prefetch2(in_strength, 0, j)
                if has_push:
                    prefetch(indices, min(lay_indptr[0, j], indices.shape[0] - 1))
            i = dirty[q]
            is_dirty[i] = 0
            s = state[i]
            new_visit = False
            if has_push:
                # A visit that began this step (a change applied last step, or an event
                # or the start now) is routed for the first time: routing runs once a step.
                new_visit = since[i] == k
                if st_push_src[s] and not new_visit:
                    continue  # a push source keeps the exit step its pushes were drawn for
                if st_push_tr[s] >= 0 and (k == 0 or not new_visit):
                    continue  # a target has no calendar entry, and nothing to pull at step 0
            if sched[i] >= 0:  # any pending firing step is void now
                sched[i] = -1
                n_live -= 1
            stamp[i] += 1
            when = -1
            if dyn_state[s]:
                n_cand = _add_candidate(i, is_cand, cand, n_cand)
            elif st_simple[s]:
                # Constant spontaneous hazards (the common case: recoveries, onsets): the
                # firing step straight from the schedule's rates, without _hazards - every
                # helper call costs a reference-count update per array it is passed.
                total = st_total[s]
                n_inf = st_n_inf[s]
                if n_inf > 0:  # fires now: the sure list, not the calendar
                    sure[n_sure] = i
                    n_sure += 1
                    sched[i] = k
                    n_live += 1
                    when = k
                elif total > 0.0:
                    g = -np.log(uniform_pos(rng)) / (total * dt)
                    when = k + np.int64(g) if g < 2e9 else -1
            else:
                # Proposals at the upper bound of any signal modulation (thinned when popped).
                total, n_inf, alive = _hazards(i, s, hazard, tr_mod_max, haz, st_ptr, st_tr,
                                               tr_kind, tr_counter, tr_thr_slot, thr_mode,
                                               thr_vals, in_strength, counts, ctr_layer,
                                               ctr_match, lay_complete, glob)
                prop[i] = total if n_inf == 0 else np.inf
                if alive:
                    when = _schedule_draw(rng, total, n_inf, dt, k, st_act[s], activity, clock)
            if 0 <= when < n_steps and sched[i] < 0 and not dyn_state[s]:
                out_agent[n_out] = i  # (pushed after this loop: _cal_flush)
                out_stamp[n_out] = stamp[i]
                out_when[n_out] = when
                n_out += 1
                sched[i] = when
                n_live += 1
            if not new_visit:
                continue
            if st_push_src[s]:  # a source: in this state for steps k .. its exit step
                last = when if 0 <= when < n_steps else n_steps - 1
                xend[i] = last
                for t in range(n_tr):
                    if tr_push_p[t] >= 0.0 and ctr_match[tr_counter[t], s]:
                        layer = ctr_layer[tr_counter[t]]
                        # Push along i's edges: which fire for t within steps k..last (each
                        # with per-step probability p); at which step is drawn when the
                        # fired edges are resolved, after this loop. Written out here, not
                        # as a helper: a helper call costs a reference-count update per
                        # array argument.
                        p = tr_push_p[t]
                        L = last - k + 1
                        log_q1 = push_log_q[t]
                        if L == 1:  # (one-step windows: cascades, discrete SIR)
                            P = p
                            log_qP = log_q1
                        else:
                            P = -np.expm1(L * log_q1) if p < 1.0 else 1.0  # fires in the window
                            if L <= 0:
                                P = 0.0
                            log_qP = np.log1p(-P) if P < 1.0 else -np.inf
                        e = lay_indptr[layer, i]
                        hi = lay_indptr[layer, i + 1]
                        visits += hi - e  # (covered: drawn at once, skipped geometrically)
                        while e < hi and P > 0.0:
                            if P < 1.0:  # skip the edges that do not fire (geometric gap)
                                gap = np.log(uniform_pos(rng)) / log_qP
                                if gap >= hi - e:
                                    break
                                e += np.int64(gap)
                            # resolved after this loop (below), all fired edges together
                            fire_e[n_fire] = e
                            fire_t[n_fire] = t
                            fire_L[n_fire] = L
                            fire_P[n_fire] = P
                            n_fire += 1
                            e += 1
            elif st_push_tr[s] >= 0 and k > 0:
                # A target pulls: the edges from sources that entered their states before
                # k and are still in their windows (xend) - does each fire in what is left
                # of its window? The fired ones join this step's fired edges (the target
                # itself coded as -(i + 1)), resolved below like the pushed ones.
                t = st_push_tr[s]
                c = tr_counter[t]
                layer = ctr_layer[c]
                p = tr_push_p[t]
                hi = lay_indptr[layer, i + 1]
                visits += hi - lay_indptr[layer, i]
                for e in range(lay_indptr[layer, i], hi):
                    if e + _AHEAD < hi:
                        ahead = indices[e + _AHEAD]
                        prefetch(state, ahead)  # (since is in its record)
                    u = indices[e]
                    if not ctr_match[c, state[u]] or since[u] >= k or xend[u] < k:
                        continue
                    L = xend[u] - k + 1
                    P = -np.expm1(L * push_log_q[t]) if p < 1.0 else 1.0
                    if P < 1.0 and uniform(rng) >= P:
                        continue
                    fire_e[n_fire] = -(i + 1)
                    fire_t[n_fire] = t
                    fire_L[n_fire] = L
                    fire_P[n_fire] = P
                    n_fire += 1
        n_dirty = 0
        cal_ent, cal_next, free, n_free = _cal_flush(n_out, out_agent, out_stamp, out_when,
                                                     n_steps - k + 1, cal_head, cal_count, cal_ent,
                                                     cal_next, free, n_free)
        n_out = 0
        # The edges fired by this step's sources (and pulled by its new targets): which
        # reach an agent waiting in the edge's target state, and at which step in the
        # window. Resolved here rather than edge by edge as they are drawn, so that the
        # reads of the targets (scattered over all agents) are requested well before
        # they are used: the cost of push models at scale is these reads. (Nothing below
        # depends on the order: a target keeps the earliest of its candidates.)
        if n_fire > out_agent.shape[0]:  # (at most one calendar push per fired edge)
            out_agent = np.empty(n_fire, dtype=np.int32)
            out_stamp = np.empty(n_fire, dtype=np.int32)
            out_when = np.empty(n_fire, dtype=np.int32)
        for q in range(n_fire):
            if q + 2 * _AHEAD < n_fire and fire_e[q + 2 * _AHEAD] >= 0:
                prefetch(indices, fire_e[q + 2 * _AHEAD])
            if q + _AHEAD < n_fire:
                e = fire_e[q + _AHEAD]
                j = indices[e] if e >= 0 else -e - 1
                prefetch_row(rec, j)
            e = fire_e[q]
            v = indices[e] if e >= 0 else -e - 1  # (a pull: the target itself)
            t = fire_t[q]
            if st_push_tr[state[v]] != t:
                continue
            cw = k  # first firing step in the window, given that it fires
            L = fire_L[q]
            p = tr_push_p[t]
            if p < 1.0 and L > 1:
                cw += min(np.int64(np.log1p(-uniform(rng) * fire_P[q]) / push_log_q[t]), L - 1)
            if cw >= pwhen[v]:
                continue  # v already has an earlier candidate
            if pwhen[v] == NEVER:
                n_plive += 1
            pwhen[v] = cw
            if cw == k:
                now[n_now] = v
                n_now += 1
            else:
                out_agent[n_out] = v  # (pushed after this loop: _cal_flush)
                out_stamp[n_out] = pvisit[v]
                out_when[n_out] = cw
                n_out += 1
        n_fire = 0
        if n_out > 0:
            pcal_ent, pcal_next, pfree, n_pfree = _cal_flush(
                n_out, out_agent, out_stamp, out_when, n_steps - k, pcal_head, pcal_count,
                pcal_ent, pcal_next, pfree, n_pfree)
            n_out = 0
        if k == 0:  # signals at t = 0 see the t = 0 seeds (no flows yet)
            _compute_signals(sig_kind, sig_a, sig_b, sig_scale, sig_state_mask, sig_tr_mask,
                             sig_alpha, seg_value[0], n_state, fired_step, sig_val)
        # 4. report (states at the start of this step)
        while next_report < report_steps.shape[0] and report_steps[next_report] <= k:
            _record(next_report, n_state, fired_tot, sig_val, state, out_counts, out_fired,
                    out_signals, out_agent_states)
            next_report += 1
        if k == n_steps:
            break
        # Nothing can ever change again: fill the remaining reports and stop early.
        if n_cand == 0 and n_live == 0 and n_plive == 0 and next_ev >= n_ev and seg + 1 >= n_seg:
            for t in range(n_tr):
                fired_step[t] = 0
            _compute_signals(sig_kind, sig_a, sig_b, sig_scale, sig_state_mask, sig_tr_mask,
                             sig_alpha, seg_value[seg], n_state, fired_step, sig_val)
            _track_signals(sig_val, k * dt, (n_steps - k) * dt, sig_alert, out_sig_peak,
                           out_sig_peak_time, out_sig_above)
            next_report = _record_rest(next_report, n_state, fired_tot, sig_val, state,
                                       out_counts, out_fired, out_signals, out_agent_states)
            steps_run = k
            break

        # 5. decisions, all reading start-of-step states (synchronous)
        fired_step[:] = 0
        _modulation(activity[k], sig_val, mod_ptr, mod_sig, mod_gain, tr_act, modm, mult)
        n_pend = 0
        # 5a. static agents whose drawn firing step is now: the sure ones, then the calendar
        for q in range(n_sure):
            i = sure[q]
            sched[i] = -1
            n_live -= 1
            s = state[i]
            chosen = st_single[s]  # (a helper call here would cost reference counting)
            if chosen < 0:
                chosen = _choose(rng, s, hazard, st_total[s], st_n_inf[s], st_ptr, st_tr)
            pend_agent[n_pend] = i
            pend_tr[n_pend] = chosen
            n_pend += 1
            fired_step[chosen] += 1
        n_sure = 0
        blk = cal_head[k]
        n_chunk = (cal_count[k] - 1) % _BLOCK + 1  # entries in the head block
        cal_head[k] = -1
        cal_count[k] = 0
        while blk >= 0:
            # Copy out a block and free it (a re-proposal below may reuse it), asking
            # early for the records of its agents: they are scattered, and their reads
            # overlap only if started early; and for the next block of the chain.
            base = blk * _BLOCK
            for c in range(n_chunk):
                i = cal_ent[base + c, 0]
                chunk_agent[c] = i
                chunk_stamp[c] = cal_ent[base + c, 1]
                prefetch_row(rec, i)
            after = cal_next[blk]
            cal_next[blk] = free
            free = blk
            n_free += 1
            if after >= 0:
                for c in range(0, _BLOCK, 8):  # (8 entries of 8 bytes: a cache line)
                    prefetch2(cal_ent, after * _BLOCK + c, 0)
            blk = after
            for c in range(n_chunk):
                if c + _AHEAD // 2 < n_chunk:  # (its state has arrived by now)
                    j = chunk_agent[c + _AHEAD // 2]
                    if st_thr[state[j]]:  # thinning will read its in-strength
                        prefetch2(in_strength, 0, j)
                i = chunk_agent[c]
                valid = chunk_stamp[c] == stamp[i] and sched[i] == k
                if valid and st_simple[state[i]]:
                    # constant spontaneous hazards: the drawn step stands; pick the rule
                    sched[i] = -1
                    n_live -= 1
                    s = state[i]
                    # (their hazards are the schedule's rates: ``hazard`` serves as haz)
                    chosen = st_single[s]
                    if chosen < 0:
                        chosen = _choose(rng, s, hazard, st_total[s], st_n_inf[s], st_ptr, st_tr)
                    if chosen >= 0:
                        pend_agent[n_pend] = i
                        pend_tr[n_pend] = chosen
                        n_pend += 1
                        fired_step[chosen] += 1
                elif valid:
                    sched[i] = -1
                    n_live -= 1
                    s = state[i]
                    # Thinning: the step was proposed at rate prop[i], a bound of the
                    # hazard since (signal modulations at their bounds, counts that fell
                    # since not subtracted); accept with the ratio of this step's actual
                    # to proposed firing probabilities. Exact: each step then fires with
                    # the actual probability, and a rejection is followed by a fresh
                    # (memoryless) proposal from the next step, at the bound now.
                    total, n_inf, alive = _hazards(i, s, hazard, modm, haz, st_ptr, st_tr, tr_kind,
                                                   tr_counter, tr_thr_slot, thr_mode, thr_vals,
                                                   in_strength, counts, ctr_layer, ctr_match,
                                                   lay_complete, glob)
                    a = activity[k] if st_act[s] else 1.0
                    p_prop = 1.0 if prop[i] == np.inf else -np.expm1(-prop[i] * a * dt)
                    p_act = 1.0 if n_inf > 0 else -np.expm1(-total * a * dt)
                    accept = alive and p_act > 0.0
                    if accept and p_act < p_prop:
                        accept = uniform(rng) * p_prop < p_act
                    if accept:
                        chosen = _choose(rng, s, haz, total, n_inf, st_ptr, st_tr)
                        pend_agent[n_pend] = i
                        pend_tr[n_pend] = chosen
                        n_pend += 1
                        fired_step[chosen] += 1
                        continue
                    t_max, n_inf_max, _ = _hazards(i, s, hazard, tr_mod_max, haz, st_ptr, st_tr,
                                                   tr_kind, tr_counter, tr_thr_slot, thr_mode,
                                                   thr_vals, in_strength, counts, ctr_layer,
                                                   ctr_match, lay_complete, glob)
                    prop[i] = t_max if n_inf_max == 0 else np.inf
                    if t_max > 0.0 or n_inf_max > 0:
                        when = _schedule_draw(rng, t_max, n_inf_max, dt, k + 1, st_act[s], activity, clock)
                        if 0 <= when < n_steps:
                            out_agent[n_out] = i  # (pushed after this loop: _cal_flush)
                            out_stamp[n_out] = stamp[i]
                            out_when[n_out] = when
                            n_out += 1
                            sched[i] = when
                            n_live += 1
            n_chunk = _BLOCK  # (every block after the head is full)
        cal_ent, cal_next, free, n_free = _cal_flush(n_out, out_agent, out_stamp, out_when,
                                                     n_steps - k, cal_head, cal_count, cal_ent,
                                                     cal_next, free, n_free)
        n_out = 0
        # 5a'. targets whose earliest pushed edge fires now (their only live transition)
        if has_push:
            n_now, pfree, n_pfree = _pop_pushed(k, pcal_head, pcal_count, pcal_ent, pcal_next,
                                                pfree, n_pfree, pvisit, pwhen, now, n_now)
            for q in range(n_now):
                if q + _AHEAD < n_now:
                    j = now[q + _AHEAD]
                    prefetch_row(rec, j)
                i = now[q]
                if pwhen[i] == k:
                    pwhen[i] = NEVER
                    n_plive -= 1
                    chosen = st_push_tr[state[i]]
                    pend_agent[n_pend] = i
                    pend_tr[n_pend] = chosen
                    n_pend += 1
                    fired_step[chosen] += 1
            n_now = 0
        # 5b. dynamic candidates: a Bernoulli trial each, every step
        w = 0
        for idx in range(n_cand):
            i = cand[idx]
            s = state[i]
            if not dyn_state[s]:
                is_cand[i] = 0  # it moved to a static state: the calendar has it
                continue
            total, n_inf, alive = _hazards(i, s, hazard, mult, haz, st_ptr, st_tr, tr_kind,
                                           tr_counter, tr_thr_slot, thr_mode, thr_vals,
                                           in_strength, counts, ctr_layer, ctr_match,
                                           lay_complete, glob)
            if not alive:
                is_cand[i] = 0  # drop it; a neighbour's change or a rescan brings it back
                continue
            cand[w] = i
            w += 1
            if n_inf == 0:
                if total <= 0.0 or uniform(rng) >= -np.expm1(-total * dt):
                    continue
            chosen = _choose(rng, s, haz, total, n_inf, st_ptr, st_tr)
            pend_agent[n_pend] = i
            pend_tr[n_pend] = chosen
            n_pend += 1
            fired_step[chosen] += 1
        n_cand = w

        # 6. signals from this step's flows and start-of-step counts
        _compute_signals(sig_kind, sig_a, sig_b, sig_scale, sig_state_mask, sig_tr_mask, sig_alpha,
                         seg_value[seg], n_state, fired_step, sig_val)
        _track_signals(sig_val, k * dt, dt, sig_alert, out_sig_peak, out_sig_peak_time,
                       out_sig_above)
        # 7. outcome probabilities of this step (they may read signals)
        _outcome_probabilities(sig_val, tr_n_out, out_p, out_sig, out_complement, out_rest, cum_p)
        # 8. apply all decisions; changed agents (and neighbours whose hazards may have
        # fallen) are routed next step
        for q in range(n_pend):
            if q + _AHEAD < n_pend:
                j = pend_agent[q + _AHEAD]
                prefetch_row(rec, j)
                prefetch2(lay_indptr, 0, j)
            if q + _AHEAD // 2 < n_pend:
                j = pend_agent[q + _AHEAD // 2]
                prefetch(indices, min(lay_indptr[0, j], indices.shape[0] - 1))
            i = pend_agent[q]
            t = pend_tr[q]
            s = state[i]
            o = 0
            if tr_n_out[t] > 1:
                u = uniform(rng) * cum_p[t, tr_n_out[t] - 1]
                while o < tr_n_out[t] - 1 and u >= cum_p[t, o]:
                    o += 1
            fired_tot[t] += 1
            target = out_target[t, o, s]
            if s == 0 and target != 0 and n_touched < touched.shape[0]:  # (see "touched")
                touched[n_touched] = i
                n_touched += 1
            if target != s and st_ctr_class[target] != st_ctr_class[s]:
                # _apply_change written out, with one difference (see "superposition"): a
                # neighbour whose hazards only rose is not routed; the hazard it gained
                # gets a firing step of its own, and the earlier of that and its pending
                # one stands.
                state[i] = target
                n_state[s] -= 1
                n_state[target] += 1
                for layer in range(n_layers):
                    changed = False
                    for c in range(n_ctr):
                        if (ctr_layer[c] == layer and not ctr_push[c]
                                and ctr_match[c, target] != ctr_match[c, s]):
                            changed = True
                            if lay_complete[layer]:
                                before = glob[c]
                                glob[c] += np.float64(ctr_match[c, target]) - np.float64(ctr_match[c, s])
                                if before <= 1.0 and glob[c] > before:
                                    need_rescan = True  # others' counts left zero
                    if not changed or lay_complete[layer]:
                        continue
                    weighted = lay_weighted[layer]
                    lo = lay_indptr[layer, i]
                    hi = lay_indptr[layer, i + 1]
                    visits += hi - lo
                    for e in range(lo, min(lo + _AHEAD, hi)):
                        prefetch(state, indices[e])
                    for e in range(lo, hi):
                        if e + _AHEAD < hi:
                            prefetch(state, indices[e + _AHEAD])
                        j = indices[e]
                        w = weights[e] if weighted else 1.0
                        sj = state[j]
                        reads = False
                        for c in range(n_ctr):
                            if ctr_layer[c] != layer or ctr_push[c]:
                                continue
                            d = np.float64(ctr_match[c, target]) - np.float64(ctr_match[c, s])
                            if d != 0.0:
                                was[c] = counts[j, c]
                                v = was[c] + d * w
                                counts[j, c] = v if (v > 1e-6 or not weighted) else 0.0
                                if st_ctr_use[sj, c] and d * w > 0.0:
                                    reads = True
                        if not reads or is_dirty[j]:
                            continue  # nothing rose that j reads; or j is routed anyway
                        # the hazard j gained (at the bounds of any modulation)
                        gain = 0.0
                        if not dyn_state[sj] and n_out < out_agent.shape[0]:
                            for q2 in range(st_ptr[sj], st_ptr[sj + 1]):
                                t2 = st_tr[q2]
                                c = tr_counter[t2]
                                if tr_kind[t2] == SPONTANEOUS or ctr_layer[c] != layer:
                                    continue
                                d = np.float64(ctr_match[c, target]) - np.float64(ctr_match[c, s])
                                m = tr_mod_max[t2]
                                h = hazard[t2] * m if m > 0.0 else 0.0
                                if d <= 0.0 or h == 0.0:
                                    continue
                                if tr_kind[t2] == INDUCED:
                                    gain += h * d * w
                                else:  # a threshold: gained if crossed just now
                                    slot = tr_thr_slot[t2]
                                    by_count = thr_mode[slot] == 1
                                    strength = in_strength[layer, j]
                                    theta = thr_vals[slot, j]
                                    if (_meets(counts[j, c], theta, by_count, strength)
                                            and not _meets(was[c], theta, by_count, strength)):
                                        gain += h
                        else:
                            gain = np.inf  # tried every step (or no room): route it
                        if gain == 0.0:
                            continue  # a count rose, but no hazard (a threshold not reached)
                        if gain == np.inf:
                            if is_dirty[j] == 0:
                                is_dirty[j] = 1
                                dirty[n_dirty] = j
                                n_dirty += 1
                            continue
                        prop[j] += gain
                        # its firing step from k + 1 (_schedule_draw's finite case, written
                        # out: the loop runs per neighbour, a helper's arrays cost there)
                        e = -np.log(uniform_pos(rng)) / gain
                        if not st_act[sj]:
                            g = e / dt
                            when = k + 1 + np.int64(g) if g < 2e9 else -1
                        else:
                            when = _clock_step(clock, k + 1, e)
                        if 0 <= when < n_steps and (sched[j] < 0 or when < sched[j]):
                            if sched[j] < 0:
                                n_live += 1
                            stamp[j] += 1  # (voids the pending entry)
                            sched[j] = when
                            out_agent[n_out] = j  # (pushed after this loop: _cal_flush)
                            out_stamp[n_out] = stamp[j]
                            out_when[n_out] = when
                            n_out += 1
                if is_dirty[i] == 0:
                    is_dirty[i] = 1
                    dirty[n_dirty] = i
                    n_dirty += 1
            else:  # no kept count changes (written out: no helper call in this hot loop)
                n_state[s] -= 1
                n_state[target] += 1
                state[i] = target
                # (an agent entering a state where routing has nothing to do is not routed)
                if is_dirty[i] == 0 and (not st_idle[target] or sched[i] >= 0):
                    is_dirty[i] = 1
                    dirty[n_dirty] = i
                    n_dirty += 1
            if has_push:  # a new visit from the next step, also after a self-loop
                since[i] = k + 1
                pvisit[i] += 1
                if pwhen[i] != NEVER:  # its pending candidate is void
                    pwhen[i] = NEVER
                    n_plive -= 1
        cal_ent, cal_next, free, n_free = _cal_flush(n_out, out_agent, out_stamp, out_when,
                                                     n_steps - k, cal_head, cal_count, cal_ent,
                                                     cal_next, free, n_free)
        n_out = 0
    # what the next replicate on this buffer must clean (the tail: status, count)
    tail = flat[n_agents * width + 16:]
    tail[0] = 2 if touched_all or n_touched >= touched.shape[0] else 1
    tail[1] = n_touched
    return steps_run, visits
