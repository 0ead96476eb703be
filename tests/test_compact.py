"""Compact time series in the run directory: rows stop at each replicate's last change.

Many small cascades stop after a few dozen steps of a thousand report times; the run
directory keeps only the rows up to each replicate's last change (``raw.npz`` up to the
last change of any replicate) and :func:`read_run` expands them. These tests check that
the compaction is exact: what is read back equals, bit for bit, the full expansion the
run held in memory (tables, outcomes, summary), for replicates that stop at different
times, never change, or change up to the end, with NaN signals.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rumorsim as rs
from rumorsim.results import RawRun, Results, expand_raw, last_change, truncate_raw
from rumorsim.rundir import read_run, write_run, write_table

from test_results import sir_results, wechat_results

FRAMES = ("timeseries", "signals", "fired", "transitions")


@pytest.fixture(scope="module")
def base() -> Results:
    """The WeChat-like synthetic run of test_results (signals, outcomes), 4 replicates."""
    return wechat_results(replicates=4)


def _settling(res: Results, stops: list) -> Results:
    """``res`` with replicate r frozen from report index ``stops[r]`` on (its row
    repeated to the end): replicates that stop early, at 0 and never."""
    raw = res.raw
    arrays = {}
    for name in ("counts", "fired", "signals"):
        a = np.array(getattr(raw, name))
        for r, s in enumerate(stops):
            a[r, s:] = a[r, s]
        arrays[name] = a
    return Results(res.scenario, res.info, replace(raw, **arrays), res.network_stats,
                   res.provenance)


def test_last_change_finds_each_replicates_last_moving_row() -> None:
    T = 7
    counts = np.zeros((4, T, 2), dtype=np.int32)
    counts[0, 3:] = 1          # last change at 3
    counts[1, 6] = 2           # changes at the very end
    counts[3, 1, 0] = 5        # changes at 1 and back at 2
    signals = np.full((4, T, 1), np.nan)  # NaN throughout: no change
    signals[2, 4:] = 0.5       # NaN -> 0.5 at 4 is a change
    raw = RawRun(counts, np.zeros((4, T, 0), np.int64), signals, *[np.zeros((4, 1))] * 3,
                 np.zeros(4, np.int64), np.zeros((4, 4), np.uint64), 0.0)
    assert last_change(raw).tolist() == [3, 6, 4, 2]
    short = truncate_raw(raw)
    assert short.counts.shape[1] == 7  # one replicate changes at the end: nothing cut
    counts[1, 6] = 0           # now replicates change last at 3, 0, 4, 2
    short = truncate_raw(replace(raw, counts=counts))
    assert short.counts.shape[1] == 5 and short.signals.shape[1] == 5


def test_truncate_then_expand_is_the_identity(base: Results) -> None:
    res = _settling(base, [10, 0, 25, 40])
    short = truncate_raw(res.raw)
    assert short.counts.shape[1] == 41  # up to index 40, the latest last change
    back = expand_raw(short, len(res.times))
    for name in ("counts", "fired", "signals"):
        a, b = getattr(res.raw, name), getattr(back, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), name


@pytest.mark.parametrize("stops", [[10, 0, 25, 40], [3, 3, 3, 3]])
def test_compact_run_directory_reads_back_the_full_expansion(tmp_path: Path, stops,
                                                            base: Results) -> None:
    res = _settling(base, stops)
    T = len(res.times)
    run = write_run(res, tmp_path / "run", figures=False)
    with np.load(run / "raw.npz") as z:
        assert z["counts"].shape[1] == max(stops) + 1 < T
    back = read_run(run)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(res, name), check_exact=True)
    assert len(back.timeseries) == len(res.timeseries)
    assert back.timeseries["time"].max() == res.times[-1]  # flat to `until`
    pd.testing.assert_frame_equal(back.outcome_values(), res.outcome_values(), check_exact=True)
    pd.testing.assert_frame_equal(back.outcome_table(), res.outcome_table(), check_exact=True)
    assert back.summary() == res.summary()


def test_tables_on_disk_stop_at_each_replicates_last_change(tmp_path: Path,
                                                          base: Results) -> None:
    """The CSV (and Parquet) tables hold each replicate's rows up to its last change;
    forward-filling them over the report times gives the full table back."""
    stops = [10, 0, 25, 40]
    res = _settling(base, stops)
    run = write_run(res, tmp_path / "run", figures=False)
    compact = res.compact_tables()
    for name in ("timeseries", "signals", "fired"):
        csv = pd.read_csv(run / f"{name}.csv")
        pd.testing.assert_frame_equal(csv, compact[name], check_dtype=False, check_exact=True)
        last_time = csv.groupby("replicate")["time"].max()
        assert last_time.tolist() == [res.times[s] for s in stops]
        # expand with pandas alone: every report time, the last row carried forward
        key = {"timeseries": ["trait", "state"], "signals": ["signal"],
               "fired": ["event"]}[name]
        full = getattr(res, name)
        grid = full[["replicate", "time", *key]]
        filled = (grid.merge(csv, on=["replicate", "time", *key], how="left")
                  .groupby(["replicate", *key], sort=False).ffill())
        got = pd.concat([grid, filled[[c for c in full.columns if c not in grid]]], axis=1)
        pd.testing.assert_frame_equal(got, full, check_dtype=False, check_exact=True)
    for name in ("timeseries", "signals", "fired"):
        pd.testing.assert_frame_equal(pd.read_parquet(run / f"{name}.parquet"), compact[name],
                                      check_exact=True)


def test_a_replicate_still_moving_at_the_end_keeps_every_row(tmp_path: Path) -> None:
    res = sir_results()
    assert (res.last_change == len(res.times) - 1).any()
    run = write_run(res, tmp_path / "run", figures=False)
    assert len(pd.read_csv(run / "timeseries.csv")) <= len(res.timeseries)
    pd.testing.assert_frame_equal(read_run(run).timeseries, res.timeseries, check_exact=True)


def test_a_real_cascade_is_written_compactly_and_read_back_exactly(tmp_path: Path) -> None:
    """Independent cascade (the benchmark's scenario, 2,000 agents): each cascade stops
    long before `until` = 200 steps; the run directory holds a few rows per replicate
    and reads back to the same tables, outcomes and summary as the run in memory."""
    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "scenarios"
    res = rs.run(bench / "independent_cascade.yaml", replicates=3, seed=5,
                 overrides=["population.agents=2000", "time.until=200", "seed.0.count=20"])
    assert res.last_change.max() < 100
    run = write_run(res, tmp_path / "run", figures=False)
    assert len(pd.read_csv(run / "timeseries.csv")) < len(res.timeseries) / 2
    back = read_run(run)
    for name in ("timeseries", "fired", "transitions"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(res, name), check_exact=True)
    pd.testing.assert_frame_equal(back.outcome_table(), res.outcome_table(), check_exact=True)
    assert back.summary() == res.summary()


def test_without_pyarrow_pandas_writes_the_same_csv(tmp_path: Path, base: Results,
                                                    monkeypatch) -> None:
    """The fallback path (no pyarrow): CSV only, the same table read back."""
    import sys

    df = base.compact_tables()["timeseries"]
    with_arrow = write_table(df, tmp_path / "a")
    with monkeypatch.context() as m:
        for mod in ("pyarrow", "pyarrow.csv", "pyarrow.parquet"):
            m.setitem(sys.modules, mod, None)  # import fails
        without = write_table(df, tmp_path / "b")
    assert [p.name for p in with_arrow] == ["a.csv", "a.parquet"]
    assert [p.name for p in without] == ["b.csv"]
    pd.testing.assert_frame_equal(pd.read_csv(without[0]), pd.read_csv(with_arrow[0]),
                                  check_dtype=False, check_exact=True)
