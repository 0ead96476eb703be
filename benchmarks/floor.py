"""The physical floor of this machine: what memory allows, beside what the kernel reaches.

    python benchmarks/floor.py [--gib 4] [--no-write]

Measures, with small numba loops over arrays far larger than the caches:

* sequential bandwidth, read (sum) and write (fill of already-mapped memory), on 1 and
  2 threads;
* random access: a *dependent chain* (each address computed from the value just read:
  the latency of one miss, nothing overlaps) and *independent gathers* (addresses from a
  counter hash: the out-of-order core overlaps ~10-20 misses), on 1 and 2 threads, over
  an array in 4 kB pages and over one in transparent huge pages (2 MB: numpy asks for
  them with ``madvise``; the 4 kB one is ``MADV_NOHUGEPAGE``). ``AnonHugePages`` of the
  process is read back to say which one really got huge pages;
* first touch: seconds per GiB to write fresh memory, on 1 and 2 threads (page faults; on a VM whose host
  backs guest memory lazily this is far above bare metal) against rewriting it.

A neighbour update of the kernel is at best one independent gather (the target's
record); the table puts the kernel's latest edge-visit rates from ``results.md``'s
large-cascade section beside these numbers. Results go to ``benchmarks/results.md``
("Physical floor" section, replaced on each run) unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as _dt
import os
import re
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
SECTION = "## Physical floor of the benchmark machine"
MADV_HUGEPAGE, MADV_NOHUGEPAGE = 14, 15


# ----------------------------------------------------------------- the loops


@njit(cache=True, parallel=True)
def seq_read(a):
    s = 0
    for i in prange(a.shape[0]):
        s += a[i]
    return s


@njit(cache=True, parallel=True)
def seq_write(a, x):
    for i in prange(a.shape[0]):
        a[i] = x


@njit(cache=True, inline="always")
def _mix(z):
    # splitmix64's finaliser: a counter becomes a well-spread address
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, parallel=True)
def chain(a, steps, lanes):
    """``lanes`` independent dependent chains (one per thread): the next address is a
    hash of the value just read, so each read waits for the one before."""
    mask = np.uint64(a.shape[0] - 1)
    out = np.zeros(lanes, np.uint64)
    for lane in prange(lanes):
        x = _mix(np.uint64(lane) + np.uint64(12345))  # (0 is a fixed point of the hash)
        for _ in range(steps):
            x = _mix(np.uint64(a[x & mask]) + x)
        out[lane] = x
    return out


@njit(cache=True, parallel=True)
def gather(a, n, lanes):
    """n reads at hashed addresses, split over ``lanes`` threads; independent of each
    other, so the core overlaps their misses."""
    mask = np.uint64(a.shape[0] - 1)
    out = np.zeros(lanes, np.int64)
    per = n // lanes
    for lane in prange(lanes):
        s = 0
        base = np.uint64(lane) * np.uint64(per)
        for i in range(per):
            s += a[_mix(base + np.uint64(i)) & mask]
        out[lane] = s
    return out


# ----------------------------------------------------------------- helpers


def _madvise(a: np.ndarray, advice: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = 2 << 20
    lo = -(-a.ctypes.data // page) * page
    hi = (a.ctypes.data + a.nbytes) // page * page
    if hi > lo:
        libc.madvise(lo, hi - lo, advice)


def anon_huge_bytes() -> int:
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("AnonHugePages:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def best(fn, repeats: int = 3) -> float:
    """The fastest of a few runs (seconds): the machine is shared, the floor is the best."""
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def array(words: int, huge: bool) -> np.ndarray:
    a = np.empty(words, np.int64)
    _madvise(a, MADV_HUGEPAGE if huge else MADV_NOHUGEPAGE)
    before = anon_huge_bytes()
    seq_write(a, 1)
    a[:] = np.arange(words, dtype=np.int64) * 0x9E3779B1  # arbitrary distinct values
    return a, anon_huge_bytes() - before


def kernel_rates() -> list[str]:
    """Latest rows of the large-cascade table: (agents, M visits/s, threads)."""
    if not RESULTS.exists():
        return []
    text = RESULTS.read_text()
    i = text.find("## One very large cascade")
    if i < 0:
        return []
    rows = {}
    for line in text[i:].split("\n## ")[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 11 and re.match(r"\d{4}-\d\d-\d\d", cells[0]):
            rows[cells[2]] = (cells[8], cells[10], cells[0], cells[1])
    return [f"kernel, SIR on ER <k> = 10, {a} agents ({d}, {c}): {r} M edge visits/s on {t} thread(s)"
            for a, (r, t, d, c) in sorted(rows.items(), key=lambda kv: float(kv[0]))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gib", default="0.5,8",
                    help="array sizes in GiB for random access, comma-separated (default "
                         "0.5,8: within and far beyond the TLB's reach; the largest is "
                         "also used for bandwidth)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    sizes = sorted(1 << int(np.log2(float(g) * 2**30 / 8)) for g in args.gib.split(","))
    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    load0 = os.getloadavg()
    rows = []

    # first touch: fresh pages against the same pages rewritten (1 GiB)
    words = 1 << 27
    a = np.empty(words, np.int64)
    seq_write(a[:1024], 0)  # compile outside the clock
    for t in (1, threads):
        numba.set_num_threads(t)
        a = np.empty(words, np.int64)
        t0 = time.perf_counter()
        seq_write(a, 1)
        first = time.perf_counter() - t0
        again = best(lambda: seq_write(a, 2), 2)
        rows.append((f"first touch (write fresh memory), {t} thread(s)", f"{first:.2f} s/GiB",
                     f"rewrite {again:.3f} s/GiB"))
        del a

    for words in sizes:
        gib = words * 8 / 2**30
        for huge in (True, False):
            a, got = array(words, huge)
            kind = f"{gib:g} GiB in " + ("2 MB pages" if huge else "4 kB pages")
            if huge and words == sizes[-1]:
                for t in (1, threads):
                    numba.set_num_threads(t)
                    seq_read(a[:1024]); seq_write(a[:1024], 3)
                    r = best(lambda: seq_read(a))
                    w = best(lambda: seq_write(a, 3))
                    rows.append((f"sequential read, {gib:g} GiB, {t} thread(s)", f"{gib / r:.1f} GiB/s", ""))
                    rows.append((f"sequential write, {gib:g} GiB, {t} thread(s)", f"{gib / w:.1f} GiB/s", ""))
                a[:] = np.arange(words, dtype=np.int64) * 0x9E3779B1
            for t in (1, threads):
                numba.set_num_threads(t)
                steps = 2_000_000
                chain(a[:1024], 10, t)
                c = best(lambda: chain(a, steps, t), 2)
                n = 40_000_000
                gather(a[:1024], 1000, t)
                g = best(lambda: gather(a, n, t), 2)
                note = f"{got / 2**30:.1f} GiB of it in huge pages"
                rows.append((f"dependent chain, {kind}, {t} thread(s)",
                             f"{steps * t / c / 1e6:.1f} M/s ({c / steps * 1e9:.0f} ns per read)", note))
                rows.append((f"independent gathers, {kind}, {t} thread(s)",
                             f"{n / g / 1e6:.1f} M/s ({g / n * 1e9:.1f} ns per read)", note))
            del a
    load1 = os.getloadavg()

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [SECTION, "",
             f"Written by `python benchmarks/floor.py --gib {args.gib}` on {now}: {cpu}, "
             f"{len(os.sched_getaffinity(0))} cores, {mem:.1f} GiB; int64 arrays; load average {load0[0]:.2f} before, {load1[0]:.2f} after. Each rate is "
             "the best of 2-3 runs (the machine is shared: the floor is the best it allows).",
             "", "| what | rate | note |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    kr = kernel_rates()
    if kr:
        lines += ["", "Beside it, the workloads (latest rows of the large-cascade table above):", ""]
        lines += [f"- {x}" for x in kr]
    block = "\n".join(lines) + "\n"
    print(block)
    if args.no_write:
        return
    text = RESULTS.read_text() if RESULTS.exists() else "# Rumorsim benchmarks\n"
    if SECTION in text:
        s = text.index(SECTION)
        e = text.find("\n## ", s + len(SECTION))
        text = text[:s] + block + ("\n" + text[e + 1:] if e >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, RESULTS)
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
