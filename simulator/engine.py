"""Run replicates of a compiled model in parallel.

Each replicate gets its own child of one ``numpy.random.SeedSequence`` and its own
xoshiro state, and the kernel releases the GIL, so replicates run on a thread pool with
no pickling and the numbers do not depend on the number of threads (or on which thread
ran which replicate). The same seed with a different variant of a scenario reuses the
same child seeds: common random numbers for paired what-if comparisons.

The kernel is ``kernel.run_replicate``, or for one-step cascades (the independent
cascade, discrete SIR with one infectious step) ``kernel_cascade.run_one_step_cascade``:
the same arguments and the same numbers, a pass per generation instead of the general
routing (``_kernel_for``).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Optional, Sequence

import numpy as np

from . import pages
from .kernel import record_buffer, run_replicate
from .kernel_cascade import is_one_step_cascade, run_one_step_cascade
from .model import CompiledModel
from .results import RawRun
from .rng import new_state


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def replicate_seeds(seed: "int | np.random.SeedSequence", replicates: int,
                    first: int = 0) -> Sequence[np.random.SeedSequence]:
    """Child seed sequences ``first .. first+replicates-1`` of ``seed`` (an int or a
    SeedSequence; an int ``s`` is ``SeedSequence(s)``).

    Replicate i always gets child i, whatever the batch it is run in, so a resumed or
    split run reproduces the same numbers.
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (first + i,))
            for i in range(replicates)]


def run_replicates(
    model: CompiledModel,
    replicates: int,
    seed: int = 0,
    *,
    workers: Optional[int] = None,
    first_replicate: int = 0,
    progress: Optional[Callable[[int], None]] = None,
    profile: Optional[Dict[str, float]] = None,
) -> RawRun:
    """Run ``replicates`` independent realisations of ``model``.

    Parameters
    ----------
    model : the compiled scenario.
    replicates : how many.
    seed : the run's seed; replicate i uses child ``first_replicate + i`` of it.
    workers : threads (default: all cores). Results do not depend on it.
    progress : called with 1 each time a replicate finishes (e.g. a tqdm bar's update).
    profile : if given, filled with ``jit_seconds`` (loading the compiled kernel from
        numba's cache, or compiling it; not part of ``wall_seconds``) and ``edge_visits``
        (edge ends the kernel read, all replicates: see ``run_replicate``'s return).
    """
    workers = default_workers() if workers is None else max(1, int(workers))
    R = int(replicates)
    n_rep = len(model.report_steps)
    S, E, G = model.n_joint, model.n_events, model.n_signals
    counts = np.zeros((R, n_rep, S), np.int32)
    fired = np.zeros((R, n_rep, E), np.int64)
    signals = np.zeros((R, n_rep, G), np.float64)
    peak = np.zeros((R, G), np.float64)
    peak_time = np.zeros((R, G), np.float64)
    above = np.zeros((R, G), np.float64)
    steps = np.zeros(R, np.int64)
    seeds = replicate_seeds(seed, R, first_replicate)
    states = np.stack([new_state(s) for s in seeds]) if R else np.zeros((0, 4), np.uint64)
    seed_record = states.copy()
    no_agents = np.zeros((0, 0), np.int16)
    visits = np.zeros(R, np.int64)

    kernel = _kernel_for(model)

    def args(r: int, records: np.ndarray) -> tuple:
        return (states[r], *model.kernel_args, counts[r], fired[r], signals[r], peak[r],
                peak_time[r], above[r], no_agents, records)

    # One record buffer per worker thread, reused by its replicates: the kernel leaves it
    # clean, at the cost of what the replicate touched (so a small cascade on a large
    # graph costs what it reaches, not a fresh buffer of all agents).
    local = threading.local()

    def one(r: int) -> None:
        records = getattr(local, "records", None)
        if records is None:
            records = local.records = _records(model)
        steps[r], visits[r] = kernel(*args(r, records))
        if progress is not None:
            progress(1)

    t0 = time.perf_counter()
    if R:
        _load_kernel(kernel, args(0, np.zeros(0, np.int32)))  # once, before threads start
    jit = time.perf_counter() - t0
    t0 = time.perf_counter()
    if workers == 1 or R <= 1:
        for r in range(R):
            one(r)
    else:
        # The kernel releases the GIL: replicates run side by side, one per thread. Each
        # thread takes the next replicate itself (``next`` on a shared counter is atomic
        # under the GIL) rather than a future per replicate: a small replicate costs
        # about a millisecond, and a future's round trip a visible share of that.
        pending = itertools.count()

        def take_replicates() -> None:
            while True:
                r = next(pending)
                if r >= R:
                    return
                one(r)

        n_threads = min(workers, R)
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            for done in [pool.submit(take_replicates) for _ in range(n_threads)]:
                done.result()
    wall = time.perf_counter() - t0
    if profile is not None:
        profile["jit_seconds"] = jit
        profile["edge_visits"] = int(visits.sum())
    return RawRun(
        counts=counts, fired=fired, signals=signals, signal_peak=peak,
        signal_peak_time=peak_time, signal_time_above=above, steps_run=steps,
        replicate_seeds=seed_record, wall_seconds=wall,
    )


def _kernel_for(model: CompiledModel) -> Callable[..., tuple]:
    """The kernel function for ``model``: ``run_one_step_cascade`` when it applies (the
    independent cascade, discrete SIR with one infectious step: same arguments, same
    numbers, one pass per agent), else ``run_replicate``."""
    if is_one_step_cascade(model.kernel_args):
        return run_one_step_cascade
    return run_replicate


def _load_kernel(kernel: Callable[..., tuple], args: tuple) -> None:
    """Compile ``kernel`` for these arguments' types, or load it from numba's cache,
    unless this process has it already. (A plain function when the tests run the kernel
    as pure Python: nothing to do.)"""
    if not hasattr(kernel, "compile"):
        return
    import numba

    sig = tuple(numba.typeof(a) for a in args)
    if sig not in kernel.overloads:
        kernel.compile(sig)


def record_agent_states(model: CompiledModel, seed: int = 0, replicate: int = 0) -> np.ndarray:
    """Every agent's joint state at each report time, for one replicate.

    Re-runs replicate ``replicate`` of ``seed`` (bit-identical to the same replicate in
    ``run_replicates``) keeping per-agent history: for network snapshots and animations
    of small graphs. Returns int16 (n_reports, n_agents).
    """
    n_rep = len(model.report_steps)
    S, E, G = model.n_joint, model.n_events, model.n_signals
    history = np.zeros((n_rep, model.n_agents), np.int16)
    rng = new_state(replicate_seeds(seed, 1, replicate)[0])
    _kernel_for(model)(
        rng, *model.kernel_args,
        np.zeros((n_rep, S), np.int32), np.zeros((n_rep, E), np.int64),
        np.zeros((n_rep, G)), np.zeros(G), np.zeros(G), np.zeros(G), history, _records(model),
    )
    return history


def _records(model: CompiledModel) -> np.ndarray:
    """A clean per-agent record buffer (numpy-allocated: see ``kernel.record_buffer``)."""
    ka = model.kernel_args
    return record_buffer(model.n_agents, ka.ctr_layer.shape[0], ka.thr_mode.shape[0],
                         bool((ka.st_push_tr >= 0).any()), zeros=pages.zeros)
