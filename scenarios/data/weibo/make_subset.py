"""Make this folder's Weibo files from the CED-derived files (see PROVENANCE.md).

    python make_subset.py SRC_DIR      # SRC_DIR holds cascades.csv and cumulative_24h.csv.gz

Writes cascades.csv (all 3,387 cascades' summary rows, unchanged) and
cumulative_24h.csv.gz (the 10-minute growth curves of a random subset: 150 rumor and
150 non-rumor cascades drawn with random.Random(16), sorted by id), and prints the
Weibo daily activity profile that scenarios/repost_cascade.yaml uses (time.daily_activity),
estimated from ALL 3,387 curves. Standard library only.

The profile: reposts in each 10-minute bin are modelled as cascade size x age profile
(by hour since the post, 0..23) x activity (by Beijing clock hour of the bin, 0..23) and
the three factors are fitted by alternating (Poisson) maximum likelihood, 50 rounds;
activity is scaled to a maximum of 1. Because posts are made at all hours, the clock
hour and the age of a bin are not confounded.
"""

import csv
import gzip
import io
import random
import shutil
import sys
from pathlib import Path

PER_LABEL = 150
SEED = 16


def main(src: Path, dst: Path) -> None:
    shutil.copyfile(src / "cascades.csv", dst / "cascades.csv")
    with open(src / "cascades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(SEED)
    chosen = set()
    for label in ("rumor", "non-rumor"):
        ids = sorted(r["cascade_id"] for r in rows if r["label"] == label)
        chosen.update(rng.sample(ids, PER_LABEL))
    with gzip.open(src / "cumulative_24h.csv.gz", "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        kept = [r for r in reader if r[0] in chosen]
    kept.sort(key=lambda r: (r[0], int(r[1])))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(kept)
    # mtime=0: the same input gives the same bytes (and the same sha256)
    with open(dst / "cumulative_24h.csv.gz", "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
            gz.write(buf.getvalue().encode())


def daily_activity(src: Path, rounds: int = 50) -> list:
    """Relative repost activity by Beijing clock hour (0..23), max 1 (see the docstring)."""
    with open(src / "cascades.csv", newline="") as f:
        start = {r["cascade_id"]: float(r["original_time_unix"]) for r in csv.DictReader(f)}
    bins = []  # (cascade index, age hour, clock hour, reposts)
    index = {}
    with gzip.open(src / "cumulative_24h.csv.gz", "rt", newline="") as f:
        prev = {}
        for cid, minutes, count in csv.reader(f):
            if cid == "cascade_id":
                continue
            m, c = int(minutes), int(count)
            if m > 0:
                t = start[cid] + (m - 5) * 60 + 8 * 3600  # middle of the bin, UTC+8
                bins.append((index.setdefault(cid, len(index)), (m - 1) // 60,
                             int(t % 86400) // 3600, c - prev[cid]))
            prev[cid] = c
    a, b, g = [1.0] * len(index), [1.0] * 24, [1.0] * 24
    for _ in range(rounds):
        for target, key, others in ((a, 0, (1, 2)), (b, 1, (0, 2)), (g, 2, (0, 1))):
            num = [0.0] * len(target)
            den = [0.0] * len(target)
            facs = (a, b, g)
            for row in bins:
                num[row[key]] += row[3]
                den[row[key]] += facs[others[0]][row[others[0]]] * facs[others[1]][row[others[1]]]
            for i in range(len(target)):
                target[i] = num[i] / den[i] if den[i] > 0 else 0.0
        top = max(g)
        g[:] = [x / top for x in g]
    return [round(x, 2) for x in g]


if __name__ == "__main__":
    src = Path(sys.argv[1])
    main(src, Path(__file__).resolve().parent)
    print("daily_activity:", daily_activity(src))
