"""Fault in the pages of large scratch arrays on a spare core, just ahead of the loop that writes them.

The first write to each page of a new array is a page fault: the kernel finds a free
page and zeroes it. On bare metal that is about 0.1 s per GB; in a virtual machine
whose memory the host backs lazily (Firecracker, many cloud sandboxes) it can be
5-10 s per GB, and Holme–Kim growth at 10^7 agents writes about 2 GB of new pages
in a sequential loop that leaves the second core idle.

:class:`PageWarmer` runs a thread that asks Linux to fault in the pages
(``madvise(MADV_POPULATE_WRITE)``, Linux 5.14+) of one or more arrays, each up to a
window ahead of the position the loop reports in a small ``progress`` array. Faulting
in a page does not change its contents, so the thread and the loop never race on data:
the loop only finds its pages already there. Where the call is missing (other
systems, older kernels) or there is no spare core, nothing happens and the loop
faults its own pages as before. Results never depend on it.

:func:`zeros` is the same idea for a buffer that is filled right after it is made (the
kernel's per-agent records): a numpy ``zeros`` array whose pages are faulted in by all
cores at once before it is returned.

Opt-out: set the environment variable ``RUMORSIM_PAGE_WARMER=0`` (or ``false``, ``no``,
``off``) and no thread is started (e.g. on a machine shared with other jobs, where
the spare core is not really spare). It is read each time a warmer is made.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
import threading
import time
from typing import Callable, Optional, Sequence

import numpy as np

MADV_POPULATE_WRITE = 23  # <linux/mman.h>, since Linux 5.14
_PAGE = mmap.PAGESIZE
_CHUNK = 8 << 20  # bytes per call: small enough that every array keeps up
# Below this an array's faults are cheap enough to leave to the loop.
MIN_BYTES = 32 << 20


def _load_madvise() -> Optional[Callable[[int, int, int], int]]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_madvise = _load_madvise()


def spare_cores() -> int:
    """Cores this process may use beyond the one running the loop."""
    try:
        return len(os.sched_getaffinity(0)) - 1
    except AttributeError:  # not on Linux
        return (os.cpu_count() or 1) - 1


#: Environment variable that turns the warmer off when set to 0 / false / no / off.
ENV_SWITCH = "RUMORSIM_PAGE_WARMER"


def enabled() -> bool:
    """Whether the warmer may run (``RUMORSIM_PAGE_WARMER`` is not 0/false/no/off)."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def populate(array: np.ndarray, start: int, stop: int) -> bool:
    """Fault in the whole pages of ``array.reshape(-1)[start:stop]`` for writing.

    Returns False where the system cannot (then nothing was done)."""
    if _madvise is None or not array.flags.c_contiguous:
        return False
    flat = array.reshape(-1)
    base = flat.ctypes.data
    lo = -(-(base + start * flat.itemsize) // _PAGE) * _PAGE
    hi = (base + stop * flat.itemsize) // _PAGE * _PAGE
    if hi <= lo:
        return True
    return _madvise(lo, hi - lo, MADV_POPULATE_WRITE) == 0


def populate_supported() -> bool:
    """Whether this system can fault pages in ahead (Linux 5.14+; probed once)."""
    global _supported
    if _supported is None:
        probe = np.zeros(4 * _PAGE // 8 + 1, dtype=np.int64)
        _supported = populate(probe, 0, probe.shape[0])
    return _supported


_supported: Optional[bool] = None


class PageWarmer:
    """Fault in ``arrays[j]`` up to ``window`` bytes ahead of element ``progress[j]``.

    The compiled loop writes, now and then, how far into each array it has written
    (``progress[j]``, an element index into ``arrays[j]`` seen as flat); the warmer's
    thread keeps each array's pages faulted in up to that point plus ``window`` bytes.
    Use as a context manager around the loop; leaving it stops the thread.

    Parameters
    ----------
    arrays
        C-contiguous arrays, allocated by numpy (so they may get huge pages).
    window
        How far ahead of the loop to fault, in bytes.
    follow
        False: fault in every page at once, front to back, without waiting for the
        loop (for loops that write in order but do not report their progress).
    """

    def __init__(self, arrays: Sequence[np.ndarray], window: int = 64 << 20,
                 follow: bool = True) -> None:
        if not all(a.flags.c_contiguous for a in arrays):
            raise ValueError("PageWarmer needs C-contiguous arrays (a copy would be warmed)")
        self.arrays = [a.reshape(-1) for a in arrays]
        self.progress = np.zeros(max(1, len(arrays)), dtype=np.int64)
        if not follow:
            self.progress[:len(arrays)] = [a.shape[0] for a in self.arrays]
        self.window = int(window)
        self._done = [0] * len(arrays)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        big = any(a.nbytes >= MIN_BYTES for a in self.arrays)
        self.active = enabled() and big and spare_cores() >= 1 and populate_supported()

    def __enter__(self) -> "PageWarmer":
        if self.active:
            self._thread = threading.Thread(target=self._run, name="rumorsim-page-warmer",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            worked = False
            for j, a in enumerate(self.arrays):
                per = self.window // a.itemsize
                goal = min(a.shape[0], int(self.progress[j]) + per)
                if goal - self._done[j] < _CHUNK // a.itemsize // 4 and goal < a.shape[0]:
                    continue  # close enough: wait for the loop to move on
                stop = min(goal, self._done[j] + _CHUNK // a.itemsize)
                if stop <= self._done[j]:
                    continue
                if not populate(a, self._done[j], stop):
                    return  # unsupported here: the loop faults its own pages
                self._done[j] = stop
                worked = True
            if all(d == a.shape[0] for d, a in zip(self._done, self.arrays)):
                return  # every page is in
            if not worked:
                time.sleep(0.0005)


def zeros(shape: "int | tuple[int, ...]", dtype: "np.typing.DTypeLike" = np.float64) -> np.ndarray:
    """``np.zeros(shape, dtype)`` with its pages already faulted in, by all cores at once.

    A large ``np.zeros`` maps pages lazily and the loop that first writes them pays each
    page's fault on one core (about 1 s per GiB on a VM whose host backs memory lazily).
    See :func:`fault_in`; the contents stay zero.
    """
    return fault_in(np.zeros(shape, dtype))


def empty(shape: "int | tuple[int, ...]", dtype: "np.typing.DTypeLike" = np.float64) -> np.ndarray:
    """``np.empty(shape, dtype)`` with its pages already faulted in (:func:`fault_in`)."""
    return fault_in(np.empty(shape, dtype))


def fault_in(a: np.ndarray) -> np.ndarray:
    """Fault in the pages of the C-contiguous array ``a`` for writing, on all cores at once;
    returns ``a``, contents unchanged.

    Slices of whole 2 MB pages are populated concurrently, one per core (``madvise``
    releases the GIL): populating a huge page at once is also far cheaper than the
    512 faults of a loop's first writes. Small arrays, systems without
    ``MADV_POPULATE_WRITE`` and ``RUMORSIM_PAGE_WARMER=0`` are left as they are.
    """
    if a.nbytes < MIN_BYTES or not a.flags.c_contiguous or not enabled() or not populate_supported():
        return a
    flat = a.reshape(-1)
    parts = max(1, spare_cores() + 1)
    # slices of whole 2 MB pages, so that no huge page is split between two threads
    step = -(-flat.shape[0] // parts)
    step = -(-step * flat.itemsize // (2 << 20)) * (2 << 20) // flat.itemsize
    bounds = [(lo, min(lo + step, flat.shape[0])) for lo in range(0, flat.shape[0], step)]
    threads = [threading.Thread(target=populate, args=(flat, lo, hi), daemon=True)
               for lo, hi in bounds[1:]]
    for t in threads:
        t.start()
    populate(flat, *bounds[0])
    for t in threads:
        t.join()
    return a
