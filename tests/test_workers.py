"""rumorsim.workers: the executors the sweep and the fit share. Results in task order
(or as they finish), the same on this process, local processes and Dask; an endless
stream of tasks stops when the caller stops; a failed task is reported, not lost.
"""

from __future__ import annotations

import itertools

import pytest

from rumorsim.workers import TaskFailed, Workers


def _affine(payload: int, x: int) -> int:
    if x < 0:
        raise ValueError(f"negative {x}")
    return payload * x + 1


@pytest.mark.parametrize("workers", [1, 2])
def test_map_returns_every_task_in_order_with_the_payload(workers):
    with Workers(workers, start="fork") as pool:
        out = list(pool.map(_affine, 3, range(20)))
    assert out == [(i, 3 * i + 1) for i in range(20)]
    assert pool.tasks_run == 20


def test_unordered_map_returns_every_task_once():
    with Workers(2, start="fork") as pool:
        out = dict(pool.map(_affine, 2, range(30), ordered=False, window=0))
    assert out == {i: 2 * i + 1 for i in range(30)}


@pytest.mark.parametrize("workers", [1, 2])
def test_stopping_early_stops_an_endless_stream(workers):
    with Workers(workers, start="fork") as pool:
        got = list(itertools.islice(pool.map(_affine, 1, itertools.count()), 5))
    assert got == [(i, i + 1) for i in range(5)]
    assert pool.tasks_run == 5


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failed_task_is_returned_or_raised(workers):
    with Workers(workers, start="fork") as pool:
        out = list(pool.map(_affine, 1, [1, -2, 3], errors="return"))
        assert out[0] == (0, 2) and out[2] == (2, 4)
        assert isinstance(out[1][1], TaskFailed) and "negative -2" in out[1][1].message
        with pytest.raises(ValueError, match="negative -2"):
            list(pool.map(_affine, 1, [1, -2, 3]))


def test_dask_gives_the_same_results():
    import distributed  # in the `test` extra
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, Workers(scheduler=client) as pool:
        assert pool.dask and pool.slots == 2 and pool.threads_per_task == 1
        assert list(pool.map(_affine, 5, range(12))) == [(i, 5 * i + 1) for i in range(12)]
    assert client.status == "closed"  # closed by its own context, not by the pool


@pytest.mark.slow  # waits for the client's 20 s connection timeout
def test_an_unreachable_scheduler_is_a_clear_error():
    from rumorsim.errors import RumorsimError

    with pytest.raises(RumorsimError, match="cannot reach the Dask scheduler"):
        Workers(scheduler="tcp://127.0.0.1:1")
