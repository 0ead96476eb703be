"""Where many small tasks run: this process, local worker processes, or a Dask cluster.

One place for what the sweep (:mod:`rumorsim.sweep`: one task per point) and the fit
(:mod:`rumorsim.fit`: one task per seeded batch of simulations) both need:

- a *payload* (the base scenario, a compiled model, a simulator) is sent to each worker
  once, not with every task: as the pool's initializer argument locally, with
  ``Client.scatter(broadcast=True)`` on Dask; each task is ``fn(payload, arg)``;
- results come back in task order (``ordered=True``: the caller's numbers then do not
  depend on which worker finished first) or as they finish (a sweep commits each point
  at once), with at most ``window`` tasks in flight (so an endless stream of tasks can
  be stopped early: the rest is cancelled);
- a worker that dies (the out-of-memory killer, a crash in the kernel, a lost Dask
  worker) fails its tasks with a message, never hangs the caller.

How local workers start. ``start="forkserver"`` (the default; ``spawn`` where there is
none): a clean server process imports Rumorsim once and forks workers from it, which is
safe when this process runs threads (forking a threaded process is not), and about twice
as fast as spawning each (measured on a sweep: 8 points on 2 workers, 4-8 s against
13-15 s); the payload must then be picklable. ``start="fork"``: the workers are forks of
this process and inherit the payload without pickling (a fit's pyABC closures, a built
network); only for callers that run no threads.

A lab's cluster: any Dask scheduler; the workers need ``pip install "rumorsim[sweep]"``
(the same version) but no shared file system (see :mod:`rumorsim.sweep`).
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

from .errors import RumorsimError

#: What a local worker process runs tasks with (set by the pool's initializer).
_PAYLOAD: Any = None


class TaskFailed:
    """What a task yields instead of its result when it (or its worker) failed."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"TaskFailed({self.message!r})"


def _init_worker(payload: Any) -> None:
    global _PAYLOAD
    _PAYLOAD = payload
    os.environ.setdefault("MPLBACKEND", "Agg")


def _call_local(fn: Callable[[Any, Any], Any], arg: Any) -> Any:
    return fn(_PAYLOAD, arg)


def apply(payload: Callable[[Any], Any], arg: Any) -> Any:
    """A task for payloads that are themselves callables: ``payload(arg)``."""
    return payload(arg)


def dask_client(scheduler: Any) -> Tuple[Any, bool]:
    """(client, owned): a Client for an address (``tcp://host:8786``), a cluster object
    (LocalCluster, SLURMCluster, ...) or a Client (used as it is, not owned)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise RumorsimError(
            "running on a Dask cluster needs dask.distributed, which is not installed",
            suggestion='Install it with: pip install "rumorsim[sweep]"',
        ) from None
    if isinstance(scheduler, Client):
        return scheduler, False
    if isinstance(scheduler, str):
        try:
            return Client(scheduler, timeout="20s"), True
        except (OSError, TimeoutError, ValueError) as exc:
            raise RumorsimError(f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                                suggestion="Start one with `dask scheduler` (and workers with "
                                           "`dask worker ADDRESS --nthreads 1`), or check the "
                                           "address (tcp://host:8786)") from None
    return Client(scheduler), True


def worker_context(start: str = "forkserver", preload: Sequence[str] = ()) -> Any:
    """The multiprocessing context local workers start from (see the module docstring)."""
    methods = multiprocessing.get_all_start_methods()
    if start == "fork" and "fork" in methods:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        if preload:
            ctx.set_forkserver_preload(list(preload))
        return ctx
    return multiprocessing.get_context("spawn")


class Workers:
    """Where tasks run, opened once for many :meth:`map` calls.

    Parameters
    ----------
    workers : local processes; 1 runs each task in this process, one after another.
    scheduler : a Dask scheduler address, Client or cluster object (overrides ``workers``).
    start : how local processes start: ``"forkserver"`` or ``"fork"`` (module docstring).
    preload : modules the fork server imports once (faster worker start).
    """

    def __init__(self, workers: int = 1, scheduler: Any = None, *, start: str = "forkserver",
                 preload: Sequence[str] = ()) -> None:
        self.workers = max(1, int(workers))
        self.start, self.preload = start, tuple(preload)
        self.client: Any = None
        self._owned = False
        if scheduler is not None:
            self.client, self._owned = dask_client(scheduler)
        #: tasks that returned (all map calls together)
        self.tasks_run = 0

    @property
    def dask(self) -> bool:
        return self.client is not None

    @property
    def slots(self) -> int:
        """Tasks that run at once: local workers, or the Dask cluster's threads."""
        if self.client is not None:
            return max(1, sum(self.client.nthreads().values()))
        return self.workers

    @property
    def threads_per_task(self) -> int:
        """Cores each task may use (kernel threads): all of them in this process, a share
        in each local worker, one on Dask (its workers have a thread per core)."""
        from .engine import default_workers

        if self.client is not None:
            return 1
        return max(1, default_workers() // self.workers)

    def map(self, fn: Callable[[Any, Any], Any], payload: Any, args: Iterable[Any], *,
            ordered: bool = True, window: Optional[int] = None, errors: str = "raise",
            name: str = "rumorsim-task") -> Iterator[Tuple[int, Any]]:
        """``(i, fn(payload, args[i]))`` for each task, lazily.

        Parameters
        ----------
        fn : a module-level function (pickled by reference to the workers).
        payload : sent to each worker once.
        args : the tasks' arguments (may be endless: stop iterating to cancel the rest).
        ordered : yield in task order (else as tasks finish).
        window : most tasks in flight (default: ``2 x slots``; ``0``: all at once).
        errors : ``"raise"`` a failed task's error, or ``"return"`` a :class:`TaskFailed`.
        name : prefix of the Dask task keys (what its dashboard shows).
        """
        limit = 2 * self.slots if window is None else (window or 10**18)
        if self.client is None and self.workers == 1:
            for i, arg in enumerate(args):
                if errors == "raise":
                    out = fn(payload, arg)
                else:
                    try:
                        out = fn(payload, arg)
                    except Exception as exc:  # the same contract as on the other executors
                        out = TaskFailed(_failure(exc))
                self.tasks_run += 1
                yield i, out
            return
        submit, finish, wait_any = self._executor(fn, payload, name)
        pending: List[Tuple[int, Any]] = []
        args = iter(args)
        n = 0
        try:
            while True:
                while len(pending) < limit:
                    arg = next(args, _END)
                    if arg is _END:
                        break
                    pending.append((n, submit(arg)))
                    n += 1
                if not pending:
                    return
                k = 0 if ordered else wait_any([f for _, f in pending])
                i, fut = pending.pop(k)
                try:
                    out = fut.result()
                except Exception as exc:
                    if errors == "raise":
                        raise
                    out = TaskFailed(_failure(exc))
                self.tasks_run += 1
                yield i, out
        finally:
            for _, fut in pending:
                fut.cancel()
            finish()

    def _executor(self, fn: Callable, payload: Any, name: str) -> Tuple[Callable, Callable, Callable]:
        """(submit(arg) -> future, finish(), wait_any(futures) -> index)."""
        if self.client is not None:
            from dask.distributed import wait

            client = self.client
            shared = client.scatter(payload, broadcast=True, hash=False)
            tag = uuid.uuid4().hex[:8]
            counter = iter(range(10**18))

            def submit_dask(arg: Any) -> Any:
                return client.submit(fn, shared, arg, pure=False, key=f"{name}-{tag}-{next(counter)}")

            def wait_dask(futures: List[Any]) -> int:
                done = wait(futures, return_when="FIRST_COMPLETED").done
                return next(i for i, f in enumerate(futures) if f in done)

            return submit_dask, lambda: None, wait_dask
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as cf_wait

        pool = ProcessPoolExecutor(self.workers, mp_context=worker_context(self.start, self.preload),
                                   initializer=_init_worker, initargs=(payload,))

        def wait_local(futures: List[Future]) -> int:
            done = cf_wait(futures, return_when=FIRST_COMPLETED).done
            return next(i for i, f in enumerate(futures) if f in done)

        return (lambda arg: pool.submit(_call_local, fn, arg),
                lambda: pool.shutdown(wait=True, cancel_futures=True), wait_local)

    def close(self) -> None:
        """Close the Dask client if this object opened it."""
        if self.client is not None and self._owned:
            self.client.close()
        self.client = None

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _failure(exc: BaseException) -> str:
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(exc, BrokenProcessPool):
        return (f"the worker process died ({exc}); a crash in the kernel or the system's "
                "out-of-memory killer")
    return f"the task failed: {type(exc).__name__}: {exc}"


_END = object()
