"""One very large cascade: SIR on an Erdős–Rényi graph, one replicate, as a user runs it.

    python benchmarks/bench_large_sir.py [--agents 100000000] [--runs 1] [--note TEXT]

Runs ``rumorsim run classic/sir --set population.agents=N --reps 1 --profile -q
--no-figures`` (mean degree 10, 10 seeds, the shipped scenario) in a fresh process and
prints the split that ``--profile`` reports (graph build, numba load, kernel, outputs),
the kernel's rate in edge visits per second, the wall time of the whole command and the
process's peak resident memory (``wait4``'s ``ru_maxrss`` of that child alone). Each run
adds a row to the "One very large cascade" table in ``benchmarks/results.md`` (created if
missing) with the machine, the date, the load average before and after, the commit and
the exact command.

At 10^8 agents the run needs about 10-15 GB: the script refuses to start when the
machine's available memory (``/proc/meminfo``) is below ``--need-gb`` (default 1.6 GB
per 10^7 agents), rather than push the machine into swapping or the OOM killer.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
SECTION = "## One very large cascade (SIR on Erdős–Rényi, one replicate)"
HEADER = ("| date (UTC) | commit | agents | build (s) | kernel (s) | total (s) | wall (s) "
          "| edge visits | M visits/s | peak RSS (GB) | threads | load before/after | machine | note |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")


def available_bytes() -> int:
    """MemAvailable from /proc/meminfo (0 where unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine() -> str:
    """CPU model, cores and memory, short."""
    cpu, mem = "?", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores, {mem / 2**30:.1f} GiB"


def commit() -> str:
    """Short hash of HEAD, with + when the work tree has changes."""
    try:
        h = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True, cwd=HERE).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=HERE).stdout.strip()
        return h + ("+" if dirty else "")
    except OSError:
        return "?"


def parse_profile(text: str) -> dict:
    """The phases (seconds) and the edge-visit line of ``rumorsim run --profile``."""
    out = {}
    for name, key in (("build network", "build"), ("load kernel", "load"),
                      ("kernel", "kernel"), ("outputs", "outputs"), ("total", "total")):
        m = re.search(r"^\s*" + re.escape(name) + r"\s+([0-9.]+)", text, re.M)
        if m:
            out[key] = float(m.group(1))
    m = re.search(r"on (\d+) threads?, ([0-9,]+) edge visits", text)
    if m:
        out["threads"] = int(m.group(1))
        out["visits"] = int(m.group(2).replace(",", ""))
    return out


def run_once(agents: int, workers: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_large_") as tmp:
        cmd = ["rumorsim", "run", "classic/sir", "--set", f"population.agents={agents}",
               "--reps", "1", "--profile", "-q", "--no-figures", "-o", str(Path(tmp) / "run")]
        if workers:
            cmd += ["--workers", str(workers)]
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        text = proc.stdout.read()
        # wait4: the peak RSS of this child alone (RUSAGE_CHILDREN would be the max so far)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        load1 = os.getloadavg()[0]
    if proc.returncode:
        sys.exit(f"rumorsim failed ({proc.returncode}):\n{text}")
    r = parse_profile(text)
    r.update(agents=agents, wall=wall, peak=usage.ru_maxrss * 1024, load=(load0, load1),
             cpu=usage.ru_utime + usage.ru_stime, command=shlex.join(cmd[:-2]), text=text)
    return r


def add_row(row: str, command: str) -> None:
    """Append a row to the section's table in results.md (creating the section)."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Rumorsim benchmarks\n"
    if SECTION not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION + "\n\n" + (
            "Written by `python benchmarks/bench_large_sir.py --agents N` (one row per run; "
            "see the script). *Build* and *kernel* are `--profile`'s wall seconds for the "
            "graph build and the replicate; *total* its whole run, *wall* the command's "
            "(interpreter start and imports included); edge visits are the edge ends the "
            "kernel covered (a push source's edges count whether they fire or are skipped); "
            "*peak RSS* is the process's high-water mark. The command: `rumorsim run classic/sir "
            "--set population.agents=N --reps 1 --profile -q --no-figures -o DIR`.\n\n") + HEADER
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    end = len(text) if end < 0 else end
    # after the section's first table's last row (prose may follow the table)
    lines = text[start:end].split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    last = first
    while last + 1 < len(lines) and lines[last + 1].startswith("|"):
        last += 1
    lines.insert(last + 1, row)
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(text[:start] + "\n".join(lines) + text[end:])
    os.replace(tmp, RESULTS)  # atomic: a reader never sees half a file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=float, default=1e8, help="agents (default 1e8)")
    ap.add_argument("--runs", type=int, default=1, help="runs, one process each (default 1)")
    ap.add_argument("--workers", type=int, default=None, help="--workers for rumorsim run")
    ap.add_argument("--need-gb", type=float, default=None,
                    help="refuse to start below this much available memory "
                         "(default 1.6 GB per 10^7 agents)")
    ap.add_argument("--note", default="", help="text for the table's note column")
    ap.add_argument("--no-write", action="store_true", help="print only; leave results.md")
    args = ap.parse_args()
    agents = int(args.agents)
    need = (args.need_gb if args.need_gb is not None else 1.6 * agents / 1e7) * 1e9
    avail = available_bytes()
    if avail and avail < need:
        sys.exit(f"only {avail / 1e9:.1f} GB available, {need / 1e9:.1f} GB needed for "
                 f"{agents:,} agents (--need-gb to override)")
    for k in range(args.runs):
        r = run_once(agents, args.workers)
        rate = r.get("visits", 0) / r["kernel"] / 1e6 if r.get("kernel") else float("nan")
        print(f"agents {agents:,}: build {r.get('build', float('nan')):.2f} s, "
              f"kernel {r.get('kernel', float('nan')):.2f} s, total {r.get('total', float('nan')):.2f} s "
              f"(command {r['wall']:.2f} s wall, {r['cpu']:.1f} s CPU), "
              f"{r.get('visits', 0):,} edge visits = {rate:.1f} M/s, "
              f"peak RSS {r['peak'] / 1e9:.2f} GB, load {r['load'][0]:.2f} -> {r['load'][1]:.2f}",
              flush=True)
        if args.no_write:
            continue
        now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
        row = (f"| {now} | {commit()} | {agents:.0e} | {r.get('build', 0):.2f} | "
               f"{r.get('kernel', 0):.2f} | {r.get('total', 0):.2f} | {r['wall']:.2f} | "
               f"{r.get('visits', 0):,} | {rate:.1f} | {r['peak'] / 1e9:.2f} | "
               f"{r.get('threads', '?')} | {r['load'][0]:.2f} / {r['load'][1]:.2f} | {machine()} | {args.note} |")
        add_row(row, r["command"])
    if not args.no_write:
        print(f"added to {RESULTS}")


if __name__ == "__main__":
    main()
