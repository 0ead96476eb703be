"""The kernel's interface: every array ``run_replicate`` reads, declared once, by name.

``FIELDS`` below is the one declaration: for each input of ``rumorsim.kernel.run_replicate``
(after the RNG state, before the ``out_*`` arrays), in the kernel's argument order, its
dtype, its shape and what it holds. ``KernelArrays`` (a NamedTuple) is built from it, and
``compile_model`` fills it by keyword; a test checks that its fields are exactly the
kernel's parameters, and that a compiled model's arrays have the dtypes and dimensions
written here. Nothing here imports numba.

Sizes in the shapes: N agents, K steps, S joint states, T transitions, O most outcomes of
a transition, M signal modulations, H threshold rules, C neighbour counters (C+ = max(C, 1)),
L layers, E stored edge ends (all layers, concatenated), G signals, P schedule segments,
V dated events (seeds, broadcasts), F event effects, I listed agent ids, R report rows.
"CSR" pairs: ``x_ptr[a] .. x_ptr[a + 1]`` index the items of ``a`` in the array beside it.
``print(rumorsim.kernel_arrays.table())`` prints the table.
"""

from __future__ import annotations

from typing import NamedTuple, Tuple

import numpy as np

#: (name, dtype, shape, meaning) of each kernel input, in ``run_replicate``'s order.
#: A dtype "int" is any signed integer (the layers keep the width they were built with).
FIELDS: Tuple[Tuple[str, str, str, str], ...] = (
    # time
    ("n_agents", "int64", "()", "agents simulated, N"),
    ("n_steps", "int64", "()", "steps of length dt up to time.until, K"),
    ("dt", "float64", "()", "step length, scenario time units"),
    ("report_steps", "int64", "(R,)", "steps whose start is reported (ascending, last = K)"),
    # transitions by joint state
    ("st_ptr", "int64", "(S+1,)", "CSR over joint states into st_tr"),
    ("st_tr", "int32", "(st_ptr[S],)", "the transitions that apply to each joint state"),
    ("dyn_state", "uint8", "(S,)", "1: agents in the state are tried every step (no calendar)"),
    ("st_act", "uint8", "(S,)", "1: all the state's rules follow the daily activity"),
    ("tr_act", "uint8", "(T,)", "1: the transition's hazard is multiplied by activity[k]"),
    ("activity", "float64", "(K,)", "daily activity multiplier a_k of step k (1 without a profile)"),
    ("clock", "float64", "(K+1,)", "activity time at step starts: cumulative sum of a_k dt"),
    # transitions
    ("tr_kind", "int8", "(T,)", "SPONTANEOUS, INDUCED or THRESHOLD (kernel constants)"),
    ("tr_counter", "int32", "(T,)", "the neighbour counter an induced/threshold rule reads, else -1"),
    ("tr_thr_slot", "int32", "(T,)", "a threshold rule's slot in the thr_* arrays, else -1"),
    ("tr_n_out", "int32", "(T,)", "number of outcomes of the transition"),
    ("out_target", "int32", "(T,O,S)", "joint state after outcome o of transition t from state s"),
    ("out_p", "float64", "(T,O)", "fixed probability of an outcome"),
    ("out_sig", "int32", "(T,O)", "the signal giving an outcome's probability, else -1"),
    ("out_complement", "uint8", "(T,O)", "1: the probability is 1 - the signal"),
    ("out_rest", "uint8", "(T,O)", "1: the outcome takes what the others leave"),
    ("mod_ptr", "int64", "(T+1,)", "CSR over transitions into mod_sig/mod_gain"),
    ("mod_sig", "int32", "(M,)", "signal of a rate modulation"),
    ("mod_gain", "float64", "(M,)", "its gain: the rate is multiplied by max(0, 1 + gain x signal)"),
    ("tr_mod_max", "float64", "(T,)", "upper bound of the transition's modulation multiplier"),
    # thresholds
    ("thr_mode", "int8", "(H,)", "0: a fraction of the in-strength, 1: a count"),
    ("thr_dist", "int8", "(H,)", "per-agent threshold law: DIST_* kernel constants"),
    ("thr_p1", "float64", "(H,)", "its first parameter (value, low or mean)"),
    ("thr_p2", "float64", "(H,)", "its second parameter (high or sd; 0 if none)"),
    # neighbour counters and edge pushes
    ("ctr_layer", "int32", "(C,)", "the layer a counter counts on"),
    ("ctr_match", "uint8", "(C,S)", "1: a neighbour in joint state s counts for the counter"),
    ("st_ctr_use", "uint8", "(S,C+)", "1: a rule of state s reads the counter"),
    ("ctr_push", "uint8", "(C+,)", "1: the counter is served by edge pushes (not kept)"),
    ("st_push_tr", "int32", "(S,)", "a push target state's push transition, else -1"),
    ("st_push_src", "uint8", "(S,)", "1: a push source state (its agents push along edges)"),
    ("tr_push_p", "float64", "(T,)", "per-step per-edge probability of a push transition, else -1"),
    ("push_log_q", "float64", "(T,)", "log(1 - tr_push_p) (-inf where p is 1 or no push)"),
    ("st_simple", "uint8", "(S,)", "1: only constant spontaneous rules live: drawn without hazards"),
    ("st_ctr_class", "int32", "(S,)", "states with equal kept-counter membership share a class"),
    ("st_idle", "uint8", "(S,)", "1: routing has nothing to do (no rules, not dynamic, no pushes)"),
    ("st_thr", "uint8", "(S,)", "1: the state has a threshold rule"),
    # layers
    ("lay_indptr", "int", "(L,N+1)", "CSR out-edges of each layer into indices (offset per layer)"),
    ("indices", "int", "(E,)", "edge targets, all layers concatenated"),
    ("weights", "float64", "(E,) or (0,)", "edge weights; empty when no layer is weighted"),
    ("lay_weighted", "uint8", "(L,)", "1: the layer's edges carry weights"),
    ("lay_complete", "uint8", "(L,)", "1: an implicit complete graph (no stored edges)"),
    ("in_strength", "float64", "(L,N)", "sum of in-edge weights (threshold fractions' denominator)"),
    # signals
    ("sig_kind", "int8", "(G,)", "SIG_* kernel constants; evaluated in order"),
    ("sig_a", "int32", "(G,)", "first signal read (capacity, numerator, of), else -1"),
    ("sig_b", "int32", "(G,)", "second signal read (demand, denominator), else -1"),
    ("sig_scale", "float64", "(G,)", "multiplier of counts and flows (people per agent, 1/dt)"),
    ("sig_state_mask", "uint8", "(G,S)", "1: agents in state s count (count signals)"),
    ("sig_tr_mask", "uint8", "(G,T)", "1: firings of t count (flow signals)"),
    ("sig_alpha", "float64", "(G,)", "moving-average weight per step (average signals)"),
    ("sig_alert", "float64", "(G,)", "alert level (inf if none): time above it is reported"),
    # piecewise-constant schedule
    ("seg_start", "int64", "(P,)", "first step of each schedule segment (seg_start[0] = 0)"),
    ("seg_hazard", "float64", "(P,T)", "hazard of each transition in the segment (inf: sure)"),
    ("seg_value", "float64", "(P,G)", "value signals in the segment"),
    ("seg_state_dirty", "uint8", "(P,S)", "1: the state's hazards change when the segment starts"),
    # dated events: seeds and broadcasts, by step
    ("ev_step", "int64", "(V,)", "the step an event applies at (ascending)"),
    ("ev_mode", "int8", "(V,)", "0: eligible among all agents, 1: among the listed ids"),
    ("ev_count", "int64", "(V,)", "exactly this many chosen, else -1"),
    ("ev_fraction", "float64", "(V,)", "this fraction of the eligible chosen, else -1"),
    ("ev_share", "float64", "(V,)", "else each eligible agent chosen with this probability"),
    ("ev_ids_ptr", "int64", "(V+1,)", "CSR over events into ev_ids"),
    ("ev_ids", "int32", "(I,)", "listed agents (top degree, community, given ids)"),
    ("ev_among", "uint8", "(V,S)", "1: agents in joint state s are eligible"),
    ("ev_eff_ptr", "int64", "(V+1,)", "CSR over events into the eff_* arrays"),
    ("eff_from", "uint8", "(F,S)", "1: the effect applies to a chosen agent in state s"),
    ("eff_target", "int32", "(F,S)", "joint state the effect moves state s to"),
    ("eff_p", "float64", "(F,)", "probability that the effect applies to a chosen agent"),
    ("ev_fire_index", "int64", "(V,)", "column of out_fired the event counts in, else -1"),
)

KernelArrays = NamedTuple("KernelArrays", [(name, object) for name, *_ in FIELDS])
KernelArrays.__doc__ = (
    "The kernel's inputs by name, in ``run_replicate``'s order (see ``FIELDS``): build it by "
    "keyword, pass it with ``*arrays`` after the RNG state.")


def table() -> str:
    """``FIELDS`` as a plain-text table (one line per field)."""
    rows = [f"{n:<16} {d:<8} {s:<12} {m}" for n, d, s, m in FIELDS]
    return "\n".join([f"{'field':<16} {'dtype':<8} {'shape':<12} meaning"] + rows)


def check_arrays(arrays: KernelArrays) -> None:
    """Raise ``TypeError`` if an array's dtype or dimensions disagree with ``FIELDS``.

    A programming check (``compile_model``'s output against the declaration), not a
    user-input check.
    """
    for (name, dtype, shape, _), value in zip(FIELDS, arrays):
        a = np.asarray(value)
        ndim = 0 if shape == "()" else shape.count(",") + (0 if shape.endswith(",)") else 1)
        if " or " in shape:
            ndim = 1
        if dtype == "int":
            ok = a.dtype.kind == "i"
        else:
            ok = a.dtype == np.dtype(dtype)
        if not ok or a.ndim != ndim:
            raise TypeError(f"kernel array {name}: {a.dtype} with {a.ndim} dimensions, "
                            f"declared {dtype} {shape}")
