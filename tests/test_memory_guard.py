"""The memory guard end to end: refusal before allocating, and an estimate that is right.

DESIGN.md ("Performance contract"): memory is estimated before building, and a
scenario that cannot fit is refused with a clear message. Two things are checked:

* ``rs.run`` and ``rumorsim run`` refuse a scenario that needs far more than any machine
  has (2 x 10^9 agents with 100 friends each: ~0.8 TB of edges) with a MemoryBudgetError
  / one paragraph and exit code 2, having allocated next to nothing (the heap in use
  never grows by more than 50 MB during the call) and written nothing.
* ``rs.estimate_memory``'s per-replicate part against what a replicate really
  allocates, at 10^6 agents where the per-agent buffers dwarf everything else.

How a replicate's allocation is measured. The kernel allocates its buffers with
numba's runtime, which calls the C library's ``malloc`` (not Python's allocator, so
``tracemalloc`` does not see them); the record buffer is allocated by numpy, also with
``malloc``. glibc's ``mallinfo2()`` reports the bytes in use (``uordblks``, summed over
all arenas, plus ``hblkhd``, the large blocks served by ``mmap``). A thread samples it
every 0.2 ms while one replicate runs (the kernel releases the GIL); the peak minus the
value before is what the replicate held at its fullest, counted as allocated whether or
not its pages were touched (which is what an estimate made before running must bound).
Most buffers live for the whole replicate, but the calendar's block pool holds its old
and new blocks together only for the moment it doubles, which a sampler descheduled on
a busy machine can miss (a measurement then came out low: 121 bytes per agent for the
flagship, against 126); so each replicate is measured three times and the largest
value kept (on an idle machine the three agree to 0.1 %). The kernel is compiled (or
loaded from the cache) by a small run first, so compilation is not measured.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import rumorsim as rs
from rumorsim.engine import run_replicates
from rumorsim.errors import MemoryBudgetError

from conftest import SCENARIOS

HUGE = """
name: Far too big
time: {dt: 1, until: 10}
population: {agents: 2000000000}
network:
  layers:
    friends: {generator: erdos_renyi, mean_degree: 100}
traits:
  health: [S, I, R]
seed:
  - {state: {health: I}, count: 10}
transitions:
  - name: infection
    from: {health: S}
    to: {health: I}
    rate: 0.1
    induced_by: {layer: friends, state: {health: I}}
  - {name: recovery, from: {health: I}, to: {health: R}, rate: 1}
"""


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _libc_mallinfo2():
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    fn = getattr(libc, "mallinfo2", None)
    if fn is None:
        return None
    fn.restype = _MallInfo2
    return fn


MALLINFO2 = _libc_mallinfo2()
needs_glibc = pytest.mark.skipif(MALLINFO2 is None, reason="heap statistics need glibc >= 2.33 (Linux)")


def heap_in_use() -> int:
    info = MALLINFO2()
    return int(info.uordblks + info.hblkhd)


def peak_heap_growth(fn):
    """(fn's result, the most bytes in use during fn above the level before it)."""
    base = heap_in_use()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], heap_in_use())
            time.sleep(0.0002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out = fn()
    finally:
        done.set()
        sampler.join()
    return out, max(peak[0], heap_in_use()) - base


# ----------------------------------------------------------------------- refusal


@needs_glibc
def test_api_refuses_an_oversized_scenario_before_allocating(write):
    path = write("huge.yaml", HUGE)
    with pytest.raises(MemoryBudgetError) as err:
        rs.run(path, replicates=1, workers=1)
    text = err.value.format()
    assert "memory" in text and "available" in text and "fewer agents" in text
    assert "\n\n" not in text.strip()  # one paragraph
    # nothing was allocated for the network or the replicates: measure again, raising
    _, grown = peak_heap_growth(lambda: _raises(lambda: rs.run(path, replicates=1, workers=1)))
    assert grown < 50e6, grown


def _raises(fn) -> None:
    try:
        fn()
    except MemoryBudgetError:
        return
    raise AssertionError("no MemoryBudgetError")


def test_cli_refuses_an_oversized_scenario_with_one_paragraph_and_exit_2(write, tmp_path):
    path = write("huge.yaml", HUGE)
    cwd = tmp_path / "work"
    cwd.mkdir()
    env = dict(os.environ, COLUMNS="100")
    done = subprocess.run([sys.executable, "-m", "rumorsim.cli", "run", str(path)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, (done.returncode, done.stderr)
    err = done.stderr.strip()
    assert err.startswith("error:") and "Traceback" not in err
    assert "memory" in err and "fewer agents" in err
    assert "\n\n" not in err  # one paragraph
    assert list(cwd.iterdir()) == []  # no run directory was started


# -------------------------------------------------------------------- the estimate


def _measure_replicate(path: Path, agents: int):
    """(estimated per-replicate bytes, measured bytes) for one replicate at ``agents``."""
    small = rs.load(path, ["population.agents=3000"])
    _, model, _ = rs.build(small, seed=1)
    run_replicates(model, 1, 1, workers=1)  # compile or load the kernel: not measured
    sc = rs.load(path, [f"population.agents={agents}"])
    _, model, _ = rs.build(sc, seed=1)
    est = rs.estimate_memory(sc, replicates=1, workers=1)
    used = max(peak_heap_growth(lambda: run_replicates(model, 1, 2, workers=1))[1] for _ in range(3))
    return est["per_replicate"] + est["outputs"], used


@needs_glibc
@pytest.mark.slow
def test_estimate_is_within_5_percent_of_a_flagship_replicate():
    """The flagship (4 neighbour counts, 1 threshold, no edge pushes) at 500,000 agents.

    Measured: 126.0 bytes per agent (a 64-byte record, 32 bytes of agent lists, the
    kernel's touched list capped at n / 8 entries (0.5), and calendar blocks, ~29 bytes
    at the moment the pool doubles); estimated 120.2 (-4.6 %).
    """
    est, used = _measure_replicate(SCENARIOS / "wechat_leak_2016.yaml", 500_000)
    assert abs(est - used) < 0.05 * used, (est, used, est / used)


@needs_glibc
@pytest.mark.slow
@pytest.mark.parametrize("name, agents", [("sir", 1_000_000), ("watts_threshold", 1_000_000)])
def test_estimate_never_falls_short_of_a_classic_replicate(name, agents):
    """SIR (edge pushes) and Watts (a threshold) at 10^6 agents: the estimate may be high,
    not low, and not by more than a quarter.

    Measured: SIR 111.9 bytes per agent (+7.2 % for the estimate's 120), Watts 102.8
    (+17 %). The estimate counts the edge-push lists always and two calendar entries per
    agent (16 bytes); these models hold fewer calendar entries (6-8 bytes per agent)
    than the flagship (~29), so a constant cannot be within 5 % of all three: it is kept
    on the safe side (a 5 % shortfall at most) and its excess bounded.
    """
    est, used = _measure_replicate(SCENARIOS / "classic" / f"{name}.yaml", agents)
    assert 0.95 * used <= est <= 1.25 * used, (est, used, est / used)
