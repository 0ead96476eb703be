"""Compile a scenario into the plain arrays the kernel runs on.

Traits are combined into one *joint state* per agent (mixed radix over the traits'
states), so every rule becomes a lookup table over joint states: which joint states a
transition applies to, where each outcome sends each joint state, which joint states a
neighbour counter counts. Time-dependent rate and capacity changes become a
piecewise-constant schedule; seeds and broadcasts become a list of dated events.

``compile_model`` runs these stages in order, one function each: the rules
(``_compile_rules``) and the rules by joint state, the layers packed together, the
signals, the schedule and the activity clock, the dated events, the reporting grid; then
what the kernel derives from them - which states are tried every step or follow the
daily rhythm (``_routing_paths``), which counters each state reads, which counters are
served by edge pushes (``_edge_push_plan``) and the shortcut tables (``_shortcuts``).
The result is a ``KernelArrays`` built by keyword: ``rumorsim.kernel_arrays`` declares
each field once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

# (plain data, numba-free, so that reading a finished run never loads the kernel)
from .modelinfo import InterventionMarker, ModelInfo  # noqa: F401  (re-exported)

# ---------------------------------------------------------------- kernel arrays

from .errors import ScenarioError  # noqa: E402
from .scenario import (  # noqa: E402
    Distribution,
    Scenario,
    SeedSpec,
    SignalRef,
)
from . import kernel as K  # noqa: E402
from .kernel_arrays import KernelArrays  # noqa: E402

_SIGNAL_KINDS = {"value": K.SIG_VALUE, "count": K.SIG_COUNT, "flow": K.SIG_FLOW,
                 "overload": K.SIG_OVERLOAD, "ratio": K.SIG_RATIO, "average": K.SIG_AVERAGE}
_DISTS = {"fixed": K.DIST_FIXED, "uniform": K.DIST_UNIFORM, "normal": K.DIST_NORMAL,
          "lognormal": K.DIST_LOGNORMAL}


@dataclass(frozen=True)
class CompiledModel:
    """A scenario as arrays: ``kernel_args`` (a ``KernelArrays``) is exactly what
    ``run_replicate`` takes after the RNG and before the output arrays."""

    info: ModelInfo
    n_agents: int
    n_steps: int
    dt: float
    report_steps: np.ndarray
    kernel_args: KernelArrays
    n_counters: int
    n_thresholds: int

    @property
    def n_joint(self) -> int:
        return len(self.info.joint_states)

    @property
    def n_events(self) -> int:
        return len(self.info.event_names)

    @property
    def n_signals(self) -> int:
        return len(self.info.signal_names)


class _JointStates:
    """Mixed-radix codes for the joint state over all traits (first trait varies fastest)."""

    def __init__(self, traits: Dict[str, List[str]]) -> None:
        self.names = list(traits)
        self.states = [list(v) for v in traits.values()]
        self.sizes = np.array([len(v) for v in self.states], dtype=np.int64)
        self.n = int(np.prod(self.sizes))
        self.strides = np.concatenate([[1], np.cumprod(self.sizes)[:-1]]).astype(np.int64)
        codes = np.arange(self.n)
        self.table = (codes[:, None] // self.strides[None, :]) % self.sizes[None, :]

    def mask(self, condition: Optional[Dict[str, object]]) -> np.ndarray:
        """uint8 mask over joint states matching ``{trait: state or [states]}`` (None: all)."""
        m = np.ones(self.n, dtype=bool)
        for trait, wanted in (condition or {}).items():
            k = self.names.index(trait)
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            m &= np.isin(self.table[:, k], [self.states[k].index(w) for w in wanted])
        return m.astype(np.uint8)

    def target(self, assignment: Dict[str, str]) -> np.ndarray:
        """For each joint state, the joint state after setting the assigned traits."""
        codes = np.arange(self.n, dtype=np.int64)
        for trait, value in assignment.items():
            k = self.names.index(trait)
            new = self.states[k].index(value)
            codes = codes + (new - self.table[:, k]) * self.strides[k]
        return codes.astype(np.int32)


def _step_of(t: float, dt: float) -> int:
    """First step whose start time is at or after t (tolerant of float error)."""
    return int(np.ceil(t / dt - 1e-9))


def _hazard_of(value: float, is_probability: bool, dt: float) -> float:
    """Per-unit-time hazard equivalent to a rate, or to a per-step probability."""
    if not is_probability:
        return float(value)
    if value >= 1.0:
        return np.inf
    return float(-np.log1p(-value) / dt)


def compile_model(scenario: Scenario, network: "object", *, edge_push: bool = True) -> CompiledModel:
    """Turn a validated scenario and its built network into kernel arrays.

    Parameters
    ----------
    scenario : the validated scenario.
    network : a ``rumorsim.network.Network`` built for it (its layers in scenario order).
    edge_push : serve the induced transitions that allow it by per-edge pushes (see
        the kernel's "edge pushes"); False keeps every one on neighbour counts. Both realise
        the same law (tested); pushes are faster.
    """
    sc = scenario
    js = _JointStates(sc.traits)
    if js.n > np.iinfo(np.int16).max:
        raise ScenarioError(
            f"the traits make {js.n} joint states; at most 32767 are supported",
            file=sc.source, field="traits", suggestion="Use fewer traits or fewer states per trait",
        )
    dt = sc.time.dt
    n = sc.population.agents
    n_steps = sc.time.n_steps
    layer_names = list(sc.network.layers)
    T = len(sc.transitions)

    rules = _compile_rules(sc, js, layer_names)
    st_ptr, st_tr, st_lists = _rules_by_state(rules.tr_match)
    layers = _pack_layers(network)
    signals, base_value = _compile_signals(sc, js)
    seg_start, seg_hazard, seg_value = _schedule(sc, rules.base_hazard, base_value,
                                                 [t.name for t in sc.transitions], list(sc.signals))
    activity, clock = _activity_clock(sc)
    events = _pack_events(_events(sc, js, network, layer_names, n, sc.time.until), js, T,
                          _event_names(sc))
    report_steps = _report_steps(sc)
    tr_mod_max = _modulation_bounds(sc, rules.mod_ptr, rules.mod_sig, rules.mod_gain, seg_value, n,
                                    sc.population.people_per_agent, dt)
    dyn_state, st_act = _routing_paths(rules, st_lists, tr_mod_max, layers.lay_complete)
    ctr_push, st_push_tr, st_push_src, tr_push_p = _edge_push_plan(
        rules.tr_kind, rules.tr_counter, rules.tr_match, seg_hazard, rules.mod_ptr,
        rules.activity_flag, dyn_state, rules.ctr_layer, rules.ctr_match, layers.lay_complete,
        layers.lay_weighted, np.array([ly.directed for ly in network.layers], bool),
        rules.out_target, rules.tr_n_out, events.eff_from, events.eff_target,
        _moved_by_events(events.ev_step, events.ev_among, events.ev_eff_ptr, events.eff_from,
                         events.eff_target),
        dt, enabled=edge_push)
    kernel_args = KernelArrays(
        n_agents=np.int64(n), n_steps=np.int64(n_steps), dt=np.float64(dt),
        report_steps=report_steps,
        st_ptr=st_ptr, st_tr=st_tr, dyn_state=dyn_state, st_act=st_act,
        tr_act=rules.activity_flag.astype(np.uint8), activity=activity, clock=clock,
        **{f: getattr(rules, f) for f in _Rules._fields if f in KernelArrays._fields},
        tr_mod_max=tr_mod_max,
        st_ctr_use=_counters_read(rules, js.n),
        ctr_push=ctr_push, st_push_tr=st_push_tr, st_push_src=st_push_src, tr_push_p=tr_push_p,
        **_shortcuts(rules, st_ptr, st_lists, seg_hazard, dyn_state, ctr_push, st_push_tr,
                     st_push_src, tr_push_p),
        **layers._asdict(),
        **signals._asdict(),
        seg_start=seg_start, seg_hazard=seg_hazard, seg_value=seg_value,
        seg_state_dirty=_segment_dirty_states(seg_hazard, rules.tr_match),
        **events._asdict(),
    )
    info = _model_info(sc, js, report_steps)
    return CompiledModel(info, n, n_steps, dt, report_steps, kernel_args, len(rules.ctr_layer),
                         len(rules.thr_mode))


class _Rules(NamedTuple):
    """The transitions as tables over joint states (``_compile_rules``); the fields named
    as in ``KernelArrays`` go to the kernel as they are."""

    tr_kind: np.ndarray
    tr_counter: np.ndarray
    tr_thr_slot: np.ndarray
    tr_n_out: np.ndarray
    out_target: np.ndarray
    out_p: np.ndarray
    out_sig: np.ndarray
    out_complement: np.ndarray
    out_rest: np.ndarray
    mod_ptr: np.ndarray
    mod_sig: np.ndarray
    mod_gain: np.ndarray
    thr_mode: np.ndarray
    thr_dist: np.ndarray
    thr_p1: np.ndarray
    thr_p2: np.ndarray
    ctr_layer: np.ndarray
    ctr_match: np.ndarray
    base_hazard: np.ndarray  # (T,) hazard before any intervention (inf: sure)
    tr_match: np.ndarray  # uint8 (T, S): joint states each transition applies to
    activity_flag: np.ndarray  # bool (T,): follows the daily activity profile


def _compile_rules(sc: Scenario, js: _JointStates, layer_names: List[str]) -> _Rules:
    """Transitions, their outcomes, modulations and thresholds, and the neighbour counters
    they read: one counter per distinct (layer, matched joint states)."""
    dt = sc.time.dt
    T = len(sc.transitions)
    counters: List[Tuple[int, bytes]] = []
    ctr_masks: List[np.ndarray] = []

    def counter_for(layer: str, cond: Dict[str, object]) -> int:
        mask = js.mask(cond)
        key = (layer_names.index(layer), mask.tobytes())
        if key not in counters:
            counters.append(key)
            ctr_masks.append(mask)
        return counters.index(key)

    tr_kind = np.zeros(T, np.int8)
    tr_counter = np.full(T, -1, np.int32)
    tr_thr_slot = np.full(T, -1, np.int32)
    base_hazard = np.zeros(T, np.float64)
    tr_match = np.zeros((T, js.n), np.uint8)
    max_out = max([len(t.outcomes) for t in sc.transitions] + [1])
    tr_n_out = np.zeros(T, np.int32)
    out_target = np.zeros((T, max_out, js.n), np.int32)
    out_p = np.zeros((T, max_out), np.float64)
    out_sig = np.full((T, max_out), -1, np.int32)
    out_complement = np.zeros((T, max_out), np.uint8)
    out_rest = np.zeros((T, max_out), np.uint8)
    mod_ptr = np.zeros(T + 1, np.int64)
    mod_sig: List[int] = []
    mod_gain: List[float] = []
    thr_mode: List[int] = []
    thr_dist: List[int] = []
    thr_p1: List[float] = []
    thr_p2: List[float] = []
    signal_names = list(sc.signals)
    activity_flag = np.zeros(T, bool)

    for t, tr in enumerate(sc.transitions):
        tr_match[t] = js.mask(tr.from_)
        is_prob = tr.probability is not None
        value = tr.probability if is_prob else tr.rate
        if tr.threshold is not None:
            tr_kind[t] = K.THRESHOLD
            tr_counter[t] = counter_for(tr.threshold.layer, tr.threshold.state)
            tr_thr_slot[t] = len(thr_mode)
            spec = tr.threshold.fraction if tr.threshold.fraction is not None else tr.threshold.count
            thr_mode.append(0 if tr.threshold.fraction is not None else 1)
            if isinstance(spec, Distribution):
                thr_dist.append(_DISTS[spec.distribution])
                if spec.distribution == "fixed":
                    thr_p1.append(spec.value); thr_p2.append(0.0)
                elif spec.distribution == "uniform":
                    thr_p1.append(spec.low); thr_p2.append(spec.high)
                else:
                    thr_p1.append(spec.mean); thr_p2.append(spec.sd)
            else:
                thr_dist.append(K.DIST_FIXED); thr_p1.append(float(spec)); thr_p2.append(0.0)
            # Without a rate, a met threshold fires at the next step, surely.
            base_hazard[t] = np.inf if value is None else _hazard_of(value, is_prob, dt)
        elif tr.induced_by is not None:
            tr_kind[t] = K.INDUCED
            tr_counter[t] = counter_for(tr.induced_by.layer, tr.induced_by.state)
            base_hazard[t] = _hazard_of(value, is_prob, dt)
        else:
            tr_kind[t] = K.SPONTANEOUS
            base_hazard[t] = _hazard_of(value, is_prob, dt)
        outs = tr.outcomes
        tr_n_out[t] = len(outs)
        for o, oc in enumerate(outs):
            out_target[t, o] = js.target(oc.state)
            if oc.p == "rest":
                out_rest[t, o] = 1
            elif isinstance(oc.p, SignalRef):
                out_sig[t, o] = signal_names.index(oc.p.signal)
                out_complement[t, o] = oc.p.complement
            else:
                out_p[t, o] = float(oc.p)
        for m in tr.modulated_by:
            mod_sig.append(signal_names.index(m.signal))
            mod_gain.append(m.gain)
        mod_ptr[t + 1] = len(mod_sig)
        activity_flag[t] = tr.daily_activity and sc.time.daily_activity is not None

    C = len(counters)
    return _Rules(
        tr_kind=tr_kind, tr_counter=tr_counter, tr_thr_slot=tr_thr_slot, tr_n_out=tr_n_out,
        out_target=out_target, out_p=out_p, out_sig=out_sig, out_complement=out_complement,
        out_rest=out_rest, mod_ptr=mod_ptr, mod_sig=np.array(mod_sig, np.int32),
        mod_gain=np.array(mod_gain, np.float64),
        thr_mode=np.array(thr_mode, np.int8), thr_dist=np.array(thr_dist, np.int8),
        thr_p1=np.array(thr_p1, np.float64), thr_p2=np.array(thr_p2, np.float64),
        ctr_layer=np.array([c[0] for c in counters], np.int32),
        ctr_match=np.array(ctr_masks, np.uint8).reshape(C, js.n),
        base_hazard=base_hazard, tr_match=tr_match, activity_flag=activity_flag,
    )


def _rules_by_state(tr_match: np.ndarray) -> Tuple[np.ndarray, np.ndarray, List[np.ndarray]]:
    """Transitions by joint state, as CSR (st_ptr, st_tr) and as a list of arrays."""
    n_joint = tr_match.shape[1]
    st_ptr = np.zeros(n_joint + 1, np.int64)
    st_lists = [np.nonzero(tr_match[:, s])[0] for s in range(n_joint)]
    st_ptr[1:] = np.cumsum([len(x) for x in st_lists])
    st_tr = (np.concatenate(st_lists) if st_lists else np.zeros(0)).astype(np.int32)
    return st_ptr, st_tr, st_lists


class _Layers(NamedTuple):
    lay_indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    lay_weighted: np.ndarray
    lay_complete: np.ndarray
    in_strength: np.ndarray


def _pack_layers(network: "object") -> _Layers:
    """The network's layers as one set of arrays (concatenated only when there are several:
    a single layer's arrays are used as they are, not copied)."""
    L = len(network.layers)
    lay_complete = np.array([ly.complete for ly in network.layers], np.uint8)
    lay_weighted = np.array([ly.weights is not None for ly in network.layers], np.uint8)
    if L == 1:
        ly = network.layers[0]
        lay_indptr = ly.indptr.reshape(1, -1)
        indices = ly.indices
        weights = ly.weights if ly.weights is not None else np.zeros(0, np.float64)
        in_strength = ly.in_strength.reshape(1, -1)
    else:
        offsets = np.cumsum([0] + [len(ly.indices) for ly in network.layers])
        lay_indptr = np.stack([ly.indptr.astype(np.int64) + offsets[k] for k, ly in enumerate(network.layers)])
        idx_dtype = np.result_type(*[ly.indices.dtype for ly in network.layers])
        indices = np.concatenate([ly.indices for ly in network.layers]).astype(idx_dtype, copy=False)
        if lay_weighted.any():
            weights = np.concatenate([
                ly.weights if ly.weights is not None else np.ones(len(ly.indices))
                for ly in network.layers
            ]).astype(np.float64)
        else:
            weights = np.zeros(0, np.float64)
        in_strength = np.stack([ly.in_strength for ly in network.layers]).astype(np.float64)
    return _Layers(lay_indptr=lay_indptr, indices=indices, weights=weights,
                   lay_weighted=lay_weighted, lay_complete=lay_complete, in_strength=in_strength)


class _Signals(NamedTuple):
    sig_kind: np.ndarray
    sig_a: np.ndarray
    sig_b: np.ndarray
    sig_scale: np.ndarray
    sig_state_mask: np.ndarray
    sig_tr_mask: np.ndarray
    sig_alpha: np.ndarray
    sig_alert: np.ndarray


def _compile_signals(sc: Scenario, js: _JointStates) -> Tuple[_Signals, np.ndarray]:
    """The signals as arrays, and each value signal's value before any intervention."""
    dt = sc.time.dt
    ppa = sc.population.people_per_agent
    signal_names = list(sc.signals)
    t_names = [t.name for t in sc.transitions]
    G = len(signal_names)
    sig_kind = np.zeros(G, np.int8)
    sig_a = np.full(G, -1, np.int32)
    sig_b = np.full(G, -1, np.int32)
    sig_scale = np.ones(G, np.float64)
    sig_state_mask = np.zeros((G, js.n), np.uint8)
    sig_tr_mask = np.zeros((G, len(t_names)), np.uint8)
    sig_alpha = np.zeros(G, np.float64)
    sig_alert = np.full(G, np.inf, np.float64)
    base_value = np.zeros(G, np.float64)
    for g, (name, sg) in enumerate(sc.signals.items()):
        sig_kind[g] = _SIGNAL_KINDS[sg.kind]
        scale = ppa if sg.per == "people" else 1.0
        if sg.kind == "value":
            base_value[g] = sg.value
        elif sg.kind == "count":
            sig_state_mask[g] = js.mask(sg.state)
            sig_scale[g] = scale
        elif sg.kind == "flow":
            for tn in sg.transitions:
                sig_tr_mask[g, t_names.index(tn)] = 1
            sig_scale[g] = scale / dt  # firings per step -> per unit time
        elif sg.kind == "overload":
            sig_a[g] = signal_names.index(sg.capacity)
            sig_b[g] = signal_names.index(sg.demand)
        elif sg.kind == "ratio":
            sig_a[g] = signal_names.index(sg.numerator)
            sig_b[g] = signal_names.index(sg.denominator)
        else:
            sig_a[g] = signal_names.index(sg.of)
            sig_alpha[g] = 1.0 - 0.5 ** (dt / sg.half_life)
        if sg.alert_above is not None:
            sig_alert[g] = sg.alert_above
    return _Signals(sig_kind, sig_a, sig_b, sig_scale, sig_state_mask, sig_tr_mask, sig_alpha,
                    sig_alert), base_value


def _segment_dirty_states(seg_hazard: np.ndarray, tr_match: np.ndarray) -> np.ndarray:
    """States whose hazards change when a segment starts (value-signal changes alone change
    no hazard: the modulation bounds already cover the whole schedule)."""
    seg_state_dirty = np.zeros((len(seg_hazard), tr_match.shape[1]), np.uint8)
    for k in range(1, len(seg_hazard)):
        changed = seg_hazard[k] != seg_hazard[k - 1]
        seg_state_dirty[k] = tr_match[changed].any(axis=0)
    return seg_state_dirty


def _event_names(sc: Scenario) -> List[str]:
    """Interventions that are events (seeds, broadcasts): counted after the transitions."""
    return [name for name, iv in sc.interventions.items() if iv.kind in ("broadcast", "seed")]


def _report_steps(sc: Scenario) -> np.ndarray:
    """The reporting grid: multiples of the report interval, plus the last step."""
    n_steps = sc.time.n_steps
    every = max(1, int(round(sc.time.report_interval / sc.time.dt)))
    report_steps = np.arange(0, n_steps + 1, every, dtype=np.int64)
    if report_steps[-1] != n_steps:
        report_steps = np.append(report_steps, n_steps)
    return report_steps


def _model_info(sc: Scenario, js: _JointStates, report_steps: np.ndarray) -> ModelInfo:
    """What results and plots need to know about the model (no kernel arrays)."""
    t_names = [t.name for t in sc.transitions]
    ev_names = _event_names(sc)
    markers = tuple(
        InterventionMarker(name, iv.label or name.replace("_", " "), iv.kind, iv.at, iv.until)
        for name, iv in sc.interventions.items()
    )
    return ModelInfo(
        traits=tuple((t, tuple(s)) for t, s in sc.traits.items()),
        joint_states=js.table.astype(np.int64),
        event_names=tuple(t_names) + tuple(ev_names),
        event_kinds=("transition",) * len(t_names) + ("intervention",) * len(ev_names),
        signal_names=tuple(sc.signals),
        signal_labels=tuple(sg.label or n_.replace("_", " ") for n_, sg in sc.signals.items()),
        signal_units=tuple(sg.unit or "" for sg in sc.signals.values()),
        signal_alert_above=np.array([sg.alert_above if sg.alert_above is not None else np.nan
                                     for sg in sc.signals.values()], np.float64),
        interventions=markers,
        report_times=report_steps * sc.time.dt,
    )


def _routing_paths(rules: _Rules, st_lists: List[np.ndarray], tr_mod_max: np.ndarray,
                   lay_complete: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Which joint states the kernel tries every step (``dyn_state``) and which follow the
    daily activity (``st_act``).

    Dynamic joint states are tried every step: their hazards follow signals (modulated
    rates) or count a complete graph (every agent's count moves with every change).
    All others are scheduled on the calendar (see kernel docstring). States whose
    transitions disagree on following the daily activity are dynamic too (their
    competing hazards would change proportions with the hour).
    """
    T, n_joint = rules.tr_match.shape
    dyn_state = np.zeros(n_joint, np.uint8)
    for t in range(T):
        c = rules.tr_counter[t]
        per_step = tr_mod_max[t] > _MAX_THINNING or (c >= 0 and lay_complete[rules.ctr_layer[c]])
        if per_step:
            dyn_state[rules.tr_match[t].astype(bool)] = 1
    st_act = np.zeros(n_joint, np.uint8)
    for s in range(n_joint):
        flags = rules.activity_flag[st_lists[s]]
        if len(flags) and flags.all():
            st_act[s] = 1
        elif flags.any():
            dyn_state[s] = 1
    return dyn_state, st_act


def _counters_read(rules: _Rules, n_joint: int) -> np.ndarray:
    """Which counters each joint state's transitions read (``st_ctr_use``): a neighbour
    whose state reads none of the counts that changed keeps its drawn firing step."""
    st_ctr_use = np.zeros((n_joint, max(len(rules.ctr_layer), 1)), np.uint8)
    for t in range(len(rules.tr_kind)):
        if rules.tr_counter[t] >= 0:
            st_ctr_use[rules.tr_match[t].astype(bool), rules.tr_counter[t]] = 1
    return st_ctr_use


def _shortcuts(rules: _Rules, st_ptr, st_lists, seg_hazard, dyn_state, ctr_push, st_push_tr,
               st_push_src, tr_push_p) -> Dict[str, np.ndarray]:
    """Model-only tables that let the kernel skip work (computed once here, not per
    replicate): ``st_simple``, ``st_ctr_class``, ``st_idle``, ``st_thr``, ``push_log_q``
    (see ``kernel_arrays.FIELDS``)."""
    n_joint = len(st_lists)
    C = len(rules.ctr_layer)
    # States whose live rules are all spontaneous with constant rates (no signal, no
    # daily rhythm): the kernel draws and fires them without evaluating hazards.
    live_any = (seg_hazard != 0.0).any(axis=0)
    plain = (rules.tr_kind == K.SPONTANEOUS) & (np.diff(rules.mod_ptr) == 0) & ~rules.activity_flag
    st_simple = np.array([not dyn_state[s] and bool(plain[st_lists[s][live_any[st_lists[s]]]].all())
                          for s in range(n_joint)], np.uint8)
    # Joint states with the same membership in every kept (non-pushed) counter: moving
    # between them changes no neighbour count.
    kept = rules.ctr_match[ctr_push[:C] == 0] if C else np.zeros((0, n_joint), np.uint8)
    _, st_ctr_class = np.unique(kept.T, axis=0, return_inverse=True)
    st_ctr_class = np.asarray(st_ctr_class, np.int32).reshape(n_joint)
    # States where routing has nothing to do: no rules, not tried every step, no pushes.
    st_idle = ((np.diff(st_ptr) == 0) & (dyn_state == 0) & (st_push_src == 0)
               & (st_push_tr < 0)).astype(np.uint8)
    # States with a threshold rule (routing asks early for those agents' in-strengths).
    st_thr = np.array([bool((rules.tr_kind[st_lists[s]] == K.THRESHOLD).any())
                       for s in range(n_joint)], np.uint8)
    # log(1 - p) of each pushed transition (-inf for a sure one and for the others).
    pushed = (tr_push_p >= 0.0) & (tr_push_p < 1.0)
    push_log_q = np.full(len(tr_push_p), -np.inf)
    push_log_q[pushed] = np.log1p(-tr_push_p[pushed])
    return dict(st_simple=st_simple, st_ctr_class=st_ctr_class, st_idle=st_idle, st_thr=st_thr,
                push_log_q=push_log_q)


class _EventArrays(NamedTuple):
    ev_step: np.ndarray
    ev_mode: np.ndarray
    ev_count: np.ndarray
    ev_fraction: np.ndarray
    ev_share: np.ndarray
    ev_ids_ptr: np.ndarray
    ev_ids: np.ndarray
    ev_among: np.ndarray
    ev_eff_ptr: np.ndarray
    eff_from: np.ndarray
    eff_target: np.ndarray
    eff_p: np.ndarray
    ev_fire_index: np.ndarray


def _edge_push_plan(tr_kind, tr_counter, tr_match, seg_hazard, mod_ptr, activity_flag, dyn_state,
                    ctr_layer, ctr_match, lay_complete, lay_weighted, lay_directed, out_target,
                    tr_n_out, eff_from, eff_target, moved, dt, *, enabled: bool = True):
    """Which counters the kernel serves by per-edge pushes instead of neighbour counts.

    A counter qualifies when every transition reading it is *induced*, on an unweighted,
    non-complete layer, with a constant rate (no signal, no daily rhythm, no schedule
    change) and is the only live rule of each state it leaves (its *targets*); and every
    state it counts (its *sources*) leaves only by constant-rate spontaneous rules that no
    broadcast interrupts (``moved``: see ``_moved_by_events``), so a source's exit step is
    known on entry. Targets re-entered
    after the start pull from sources, which needs in-neighbours: undirected layers only.

    Returns
    -------
    ctr_push : uint8 (C,), the counters served by pushes.
    st_push_tr : int32 (n_joint,), the push transition of a target state, else -1.
    st_push_src : uint8 (n_joint,), source states.
    tr_push_p : float64 (T,), per-step per-edge probability of a push transition, else -1.
    """
    T, n_joint = tr_match.shape
    C = len(ctr_layer)
    ctr_push = np.zeros(max(C, 1), np.uint8)
    st_push_tr = np.full(n_joint, -1, np.int32)
    st_push_src = np.zeros(n_joint, np.uint8)
    tr_push_p = np.full(T, -1.0, np.float64)
    if not enabled:
        return ctr_push, st_push_tr, st_push_src, tr_push_p
    live = (seg_hazard != 0.0).any(axis=0)
    constant = (seg_hazard == seg_hazard[:1]).all(axis=0) & (np.diff(mod_ptr) == 0) & ~activity_flag
    from_states = [np.nonzero(tr_match[t])[0] for t in range(T)]
    live_from = [np.nonzero(live & tr_match[:, s].astype(bool))[0] for s in range(n_joint)]

    def target_ok(t: int) -> bool:
        c = tr_counter[t]
        layer = ctr_layer[c]
        return (tr_kind[t] == K.INDUCED and live[t] and constant[t] and not lay_complete[layer]
                and not lay_weighted[layer]
                and all(not dyn_state[s] and list(live_from[s]) == [t] for s in from_states[t]))

    def source_ok(s: int) -> bool:
        return (not dyn_state[s] and not moved[s]
                and all(tr_kind[t] == K.SPONTANEOUS and constant[t] for t in live_from[s]))

    for c in range(C):
        readers = [t for t in range(T) if tr_counter[t] == c]
        if not readers or not all(target_ok(t) for t in readers):
            continue
        if not all(source_ok(s) for s in np.nonzero(ctr_match[c])[0]):
            continue
        targets = np.zeros(n_joint, bool)
        for t in readers:
            targets[from_states[t]] = True
        if lay_directed[ctr_layer[c]] and _can_enter(targets, tr_match, live, out_target, tr_n_out,
                                                     eff_from, eff_target):
            continue
        ctr_push[c] = 1
        st_push_src[ctr_match[c].astype(bool)] = 1
        for t in readers:
            st_push_tr[from_states[t]] = t
            h = seg_hazard[0, t]
            tr_push_p[t] = 1.0 if np.isinf(h) else float(-np.expm1(-h * dt))
    return ctr_push, st_push_tr, st_push_src, tr_push_p


def _moved_by_events(ev_step, ev_among, ev_eff_ptr, eff_from, eff_target) -> np.ndarray:
    """Joint states a seed or broadcast may move an agent out of.

    At step 0, before any event, everyone is in joint state 0, so the usual initial
    seeds move nobody out of the states they fill; later events may meet any state.
    """
    n_joint = ev_among.shape[1]
    moved = np.zeros(n_joint, bool)
    occupied = np.zeros(n_joint, bool)
    occupied[0] = True
    for ev in range(len(ev_step)):
        if ev_step[ev] > 0:
            occupied[:] = True
        reach = occupied & ev_among[ev].astype(bool)
        for f in range(ev_eff_ptr[ev], ev_eff_ptr[ev + 1]):
            hit = reach & eff_from[f].astype(bool)
            leaves = hit & (eff_target[f] != np.arange(n_joint))
            moved |= leaves
            occupied[eff_target[f][hit]] = True
    return moved


def _can_enter(states, tr_match, live, out_target, tr_n_out, eff_from, eff_target) -> bool:
    """Can an agent enter (or, by a self-loop, re-enter) one of ``states`` during a run?"""
    for t in range(tr_match.shape[0]):
        if not live[t]:
            continue
        for s in np.nonzero(tr_match[t])[0]:
            if states[out_target[t, :tr_n_out[t], s]].any():
                return True
    for f in range(eff_from.shape[0]):
        for s in np.nonzero(eff_from[f])[0]:
            if eff_target[f, s] != s and states[eff_target[f, s]]:
                return True
    return False


#: Above this bound on a rate's signal multiplier, thinning would reject too often:
#: such states are tried every step instead.
_MAX_THINNING = 1000.0


def _signal_upper_bounds(sc: Scenario, seg_value: np.ndarray, n: int, ppa: float, dt: float) -> np.ndarray:
    """An upper bound of every signal over the run (all signals are >= 0 by construction)."""
    up: List[float] = []
    names = list(sc.signals)
    for g, sg in enumerate(sc.signals.values()):
        scale = ppa if sg.per == "people" else 1.0
        if sg.kind == "value":
            b = float(seg_value[:, g].max())
        elif sg.kind == "count":
            b = n * scale
        elif sg.kind == "flow":
            b = n * scale / dt
        elif sg.kind == "overload":
            b = 1.0
        elif sg.kind == "average":
            b = up[names.index(sg.of)]
        else:  # ratio: bounded only by a value signal that never reaches 0
            den = sc.signals[sg.denominator]
            low = float(seg_value[:, names.index(sg.denominator)].min()) if den.kind == "value" else 0.0
            b = up[names.index(sg.numerator)] / low if low > 0 else np.inf
        up.append(b)
    return np.array(up, np.float64)


def _modulation_bounds(sc: Scenario, mod_ptr, mod_sig, mod_gain, seg_value, n, ppa, dt) -> np.ndarray:
    """Upper bound of each transition's multiplier prod max(0, 1 + gain * signal)."""
    up = _signal_upper_bounds(sc, seg_value, n, ppa, dt)
    bounds = np.ones(len(sc.transitions), np.float64)
    for t in range(len(sc.transitions)):
        for q in range(mod_ptr[t], mod_ptr[t + 1]):
            gain = mod_gain[q]
            # signals are >= 0, so a negative gain can only lower the rate
            bounds[t] *= 1.0 + gain * up[mod_sig[q]] if gain > 0 else 1.0
    return bounds


def _schedule(sc: Scenario, base_hazard: np.ndarray, base_value: np.ndarray,
              t_names: List[str], signal_names: List[str]):
    """Hazards and value signals as a piecewise-constant function of the step.

    Only interventions (scale/set) make segments; the hour of the day is handled by
    the activity clock (``_activity_clock``), so it never forces a rescan.
    """
    dt = sc.time.dt
    n_steps = sc.time.n_steps
    bounds = {0}
    for iv in sc.interventions.values():
        if iv.kind in ("scale", "set"):
            bounds.add(_step_of(iv.at, dt))
            if iv.until is not None:
                bounds.add(_step_of(iv.until, dt))
    starts = np.array(sorted(b for b in bounds if 0 <= b <= n_steps), np.int64)
    seg_hazard = np.tile(base_hazard, (len(starts), 1))
    seg_value = np.tile(base_value, (len(starts), 1))
    for k, step in enumerate(starts):
        for iv in sc.interventions.values():
            if iv.kind not in ("scale", "set"):
                continue
            on = _step_of(iv.at, dt) <= step and (iv.until is None or step < _step_of(iv.until, dt))
            if not on:
                continue
            if iv.transition is not None:
                j = t_names.index(iv.transition)
                if iv.kind == "scale":
                    seg_hazard[k, j] *= iv.factor
                else:
                    tr = sc.transitions[j]
                    seg_hazard[k, j] = _hazard_of(iv.value, tr.probability is not None, dt)
            else:
                g = signal_names.index(iv.signal)
                seg_value[k, g] = seg_value[k, g] * iv.factor if iv.kind == "scale" else iv.value
    seg_hazard[np.isnan(seg_hazard)] = 0.0  # inf * 0: a surely-firing rule switched off
    return starts, seg_hazard, seg_value


def _activity_clock(sc: Scenario) -> Tuple[np.ndarray, np.ndarray]:
    """Per-step activity multiplier a_k and its integral ("activity time") at step starts.

    With a daily profile, transitions that follow it have hazard h * a_k in step k. An
    agent of constant h then fires at the first step j where h * (clock[j+1] - clock[k])
    exceeds an Exp(1) draw: exactly the per-step law, and no redraw when the hour changes.
    """
    dt = sc.time.dt
    n_steps = sc.time.n_steps
    activity = np.ones(n_steps, np.float64)
    if sc.time.daily_activity is not None:
        hpu = sc.time.hours_per_unit
        start = sc.time.start
        start_hour = start.hour + start.minute / 60 if start is not None else 0.0
        hours = start_hour + np.arange(n_steps) * dt * hpu
        activity = np.asarray(sc.time.daily_activity, np.float64)[np.floor(hours + 1e-9).astype(np.int64) % 24]
    clock = np.zeros(n_steps + 1, np.float64)
    clock[1:] = np.cumsum(activity * dt)
    return activity, clock


@dataclass
class _Event:
    step: int
    fire_name: Optional[str]
    mode: int = 0
    count: int = -1
    fraction: float = -1.0
    share: float = 1.0
    ids: Optional[np.ndarray] = None
    among: Optional[Dict[str, object]] = None
    effects: List[Tuple[Optional[Dict[str, object]], Dict[str, str], float]] = field(default_factory=list)


def _agents_of_ids(network, ids: List[int], where: str) -> np.ndarray:
    """Agent indices of the given ids: the file's node ids on edge-list networks."""
    node_ids = getattr(network, "node_ids", None)
    if node_ids is None:
        return np.array(ids, np.int32)
    index = {str(v): a for a, v in enumerate(np.asarray(node_ids).tolist())}
    missing = [i for i in ids if str(i) not in index]
    if missing:
        raise ScenarioError(
            f"node id {missing[0]} is not in the edge list", field=f"{where}.ids",
            expected="ids that appear in the network's edge-list file",
        )
    return np.array([index[str(i)] for i in ids], np.int32)


def _ranked_by_degree(network, layer_names: List[str], layer: Optional[str]) -> np.ndarray:
    ly = network.layers[layer_names.index(layer) if layer else 0]
    deg = ly.degree() if callable(getattr(ly, "degree", None)) else np.diff(ly.indptr)
    return np.argsort(-np.asarray(deg), kind="stable").astype(np.int32)


def _community_members(network, layer_names, layer: Optional[str], community: int, where: str) -> np.ndarray:
    ly = network.layers[layer_names.index(layer) if layer else 0]
    labels = getattr(ly, "communities", None)
    if labels is None:
        for other in network.layers:
            if getattr(other, "communities", None) is not None:
                labels = other.communities
                break
    if labels is None:
        raise ScenarioError(
            "selection by community needs a layer with communities (a stochastic_block layer)",
            field=where,
        )
    members = np.nonzero(labels == community)[0].astype(np.int32)
    if len(members) == 0:
        raise ScenarioError(f"community {community} has no members", field=where,
                            expected=f"one of {sorted(set(labels.tolist()))[:20]}")
    return members


def _events(sc: Scenario, js: _JointStates, network, layer_names, n: int, until: float) -> List[_Event]:
    dt = sc.time.dt
    events: List[_Event] = []

    def seed_event(name: str, s: SeedSpec, fire: Optional[str], where: str) -> _Event:
        ev = _Event(_step_of(s.at, dt), fire, among=s.among)
        if s.strategy == "random":
            ev.count = -1 if s.count is None else s.count
            ev.fraction = -1.0 if s.fraction is None else s.fraction
        else:
            ev.mode = 1
            if s.strategy == "ids":
                ev.ids = _agents_of_ids(network, s.ids, where)
            elif s.strategy == "top_degree":
                k = s.count if s.count is not None else int(round(s.fraction * n))
                ev.ids = _ranked_by_degree(network, layer_names, s.layer)[:k]
            else:
                ev.ids = _community_members(network, layer_names, s.layer, s.community, where)
                ev.count = -1 if s.count is None else s.count
                ev.fraction = -1.0 if s.fraction is None else s.fraction
        ev.effects = [(None, dict(s.state), 1.0)]
        return ev

    for i, s in enumerate(sc.seed):
        events.append(seed_event(s.name or f"seed[{i}]", s, None, f"seed[{i}]"))
    for name, iv in sc.interventions.items():
        where = f"interventions.{name}"
        if iv.kind == "seed":
            events.append(seed_event(name, iv.as_seed(name), name, where))
        elif iv.kind == "broadcast":
            times = [iv.at]
            if iv.every is not None:
                end = iv.until if iv.until is not None else until
                times = list(np.arange(iv.at, end + 1e-9, iv.every))
            for at in times:
                ev = _Event(_step_of(at, dt), name, share=iv.reach)
                if iv.select == "top_degree":
                    # `reach` picks the top share by degree, all of whom are reached (they
                    # must not be thinned by `reach` a second time).
                    ev.mode = 1
                    ev.share = 1.0
                    ev.ids = _ranked_by_degree(network, layer_names, iv.layer)[: int(round(iv.reach * n))]
                elif iv.select == "community":
                    ev.mode = 1
                    ev.ids = _community_members(network, layer_names, iv.layer, iv.community, where)
                elif iv.select == "in_state":
                    ev.among = iv.state
                ev.effects = [(e.from_, dict(e.to), e.p) for e in iv.effects]
                events.append(ev)
    # Stable by step: at the same step, initial seeds first, then interventions in file order.
    events.sort(key=lambda e: e.step)
    return events


def _pack_events(events: List[_Event], js: _JointStates, T: int, ev_names: List[str]) -> _EventArrays:
    """Seeds and broadcasts as arrays, by step (the kernel's ``ev_*`` and ``eff_*``)."""
    E = len(events)
    ev_step = np.array([e.step for e in events], np.int64)
    ev_mode = np.array([e.mode for e in events], np.int8)
    ev_count = np.array([e.count for e in events], np.int64)
    ev_fraction = np.array([e.fraction for e in events], np.float64)
    ev_share = np.array([e.share for e in events], np.float64)
    ids = [e.ids if e.ids is not None else np.zeros(0, np.int32) for e in events]
    ev_ids_ptr = np.zeros(E + 1, np.int64)
    ev_ids_ptr[1:] = np.cumsum([len(x) for x in ids])
    ev_ids = np.concatenate(ids).astype(np.int32) if ids else np.zeros(0, np.int32)
    ev_among = np.array([js.mask(e.among) for e in events], np.uint8).reshape(E, js.n)
    effs = [eff for e in events for eff in e.effects]
    ev_eff_ptr = np.zeros(E + 1, np.int64)
    ev_eff_ptr[1:] = np.cumsum([len(e.effects) for e in events])
    eff_from = np.array([js.mask(f) for f, _, _ in effs], np.uint8).reshape(len(effs), js.n)
    eff_target = np.array([js.target(to) for _, to, _ in effs], np.int32).reshape(len(effs), js.n)
    eff_p = np.array([p for _, _, p in effs], np.float64)
    ev_fire = np.array([T + ev_names.index(e.fire_name) if e.fire_name else -1 for e in events], np.int64)
    return _EventArrays(ev_step, ev_mode, ev_count, ev_fraction, ev_share, ev_ids_ptr, ev_ids,
                        ev_among, ev_eff_ptr, eff_from, eff_target, eff_p, ev_fire)
