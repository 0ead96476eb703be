"""Fingerprint the kernel's output: hash ``res.raw`` arrays of shipped scenarios at a fixed seed.

A refactor of the kernel or of ``compile_model`` that claims "same bytes" must leave every
line of this script's output unchanged::

    python benchmarks/fingerprint.py > before.txt   # on the old build
    python benchmarks/fingerprint.py > after.txt    # on the new one
    diff before.txt after.txt

Each line: scenario, then a short hash of each raw output array (counts, fired, signals,
peaks, peak times, time above alert, steps run) over 3 replicates, and of one replicate's
per-agent history where the graph is small.
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np

import rumorsim as rs
from rumorsim.engine import record_agent_states, run_replicates
from rumorsim.model import compile_model

CASES = [
    ("classic/sir", []),
    ("classic/sis", []),
    ("classic/seir", []),
    ("classic/seiz", []),
    ("classic/independent_cascade", []),
    ("classic/linear_threshold", []),
    ("classic/watts_threshold", []),
    ("classic/maki_thompson", []),
    ("classic/daley_kendall", []),
    ("wechat_leak_2016", ["population.agents=20000"]),
    ("xiaomi_word_of_mouth", []),
    ("dingtalk_review_storm", []),
]


def _h(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:10]


def main() -> None:
    only = set(sys.argv[1:])
    for name, sets in CASES:
        if only and name not in only:
            continue
        res = rs.run(name, replicates=3, seed=12345, workers=1, overrides=sets)
        raw = res.raw
        parts = [_h(x) for x in (raw.counts, raw.fired, raw.signals, raw.signal_peak,
                                 raw.signal_peak_time, raw.signal_time_above, raw.steps_run)]
        if res.scenario.population.agents <= 20000:
            parts.append("agents:" + _h(record_agent_states(res.model, seed=12345, replicate=1)))
        # the same model with every counter kept on neighbour counts (no edge pushes)
        counted = compile_model(res.scenario, res.network, edge_push=False)
        if bool((counted.kernel_args.ctr_push != res.model.kernel_args.ctr_push).any()):
            r2 = run_replicates(counted, 2, seed=7, workers=1)
            parts.append("counted:" + _h(r2.counts) + _h(r2.fired))
        print(name, " ".join(parts), flush=True)


if __name__ == "__main__":
    main()
