"""Experimental designs: the points of a sweep.

A design turns a :class:`~rumorsim.sweepfile.SweepSpec` into a table of points, one row
per point, one column per parameter (its dotted path):

- ``grid``: the product of every parameter's values (the first parameter varies slowest);
- ``lhs``: a Latin hypercube of ``samples`` points (``scipy.stats.qmc.LatinHypercube``);
- ``sobol``: Saltelli's scheme as SALib samples it (``SALib.sample.sobol``, first and
  total order): ``samples`` x (D + 2) points, analysed by ``SALib.analyze.sobol``;
- ``morris``: ``samples`` trajectories of D + 1 points (``SALib.sample.morris``).

Ranges with ``scale: log`` are sampled uniformly in log space. The sampler's random
numbers come from the sweep's seed (a child of the same SeedSequence that seeds the
runs, kept apart from the replicate streams), so the same file gives the same points.
SALib's Morris sampler seeds numpy's *global* generator; it is called inside a guard
that restores the global state, so nothing outside sees a change.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Dict, Iterator, List

import numpy as np
import pandas as pd

from .errors import RumorsimError
from .sweepfile import SweepSpec

#: spawn_key of the SeedSequence branch the samplers draw from (the replicates use 0, 1, ...
#: of the run seed's own children; a key this large never meets them).
SAMPLER_KEY = 2**31 - 7


def salib_problem(spec: SweepSpec) -> Dict[str, object]:
    """The SALib problem dict: names (dotted paths), bounds (log space for log scales)."""
    return {
        "num_vars": len(spec.parameters),
        "names": list(spec.paths),
        "bounds": [list(p.bounds) for p in spec.parameters],
    }


def _sampler_seed(spec: SweepSpec) -> int:
    ss = np.random.SeedSequence(spec.seed, spawn_key=(SAMPLER_KEY,))
    return int(ss.generate_state(1, np.uint32)[0])


@contextlib.contextmanager
def numpy_global_state_kept() -> Iterator[None]:
    """Run code that seeds numpy's global generator without leaking the change."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


def _require_salib() -> None:
    try:
        import SALib  # noqa: F401
    except ImportError:  # pragma: no cover - CI installs it
        raise RumorsimError(
            "Sobol and Morris designs need SALib, which is not installed",
            suggestion='Install the sweep extra: pip install "rumorsim[sweep]"',
        ) from None


def unit_samples(spec: SweepSpec) -> np.ndarray:
    """Samples in the sampler's space (log for log scales), shape (points, D); not for grids."""
    d = len(spec.parameters)
    seed = _sampler_seed(spec)
    if spec.design == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=d, seed=np.random.default_rng(seed)).random(spec.samples)
        lo = np.array([p.bounds[0] for p in spec.parameters])
        hi = np.array([p.bounds[1] for p in spec.parameters])
        return lo + u * (hi - lo)
    _require_salib()
    problem = salib_problem(spec)
    if spec.design == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, spec.samples, calc_second_order=False, seed=seed)
    if spec.design == "morris":
        from SALib.sample import morris

        with numpy_global_state_kept():
            return morris.sample(problem, spec.samples, num_levels=spec.morris_levels, seed=seed)
    raise ValueError(spec.design)


def design_points(spec: SweepSpec) -> pd.DataFrame:
    """The sweep's points: one row per point (index = point number), one column per path.

    Values are what the scenario gets (after ``scale`` and ``integer``). For SALib
    designs the rows are in SALib's order, which its analysis relies on.
    """
    paths = list(spec.paths)
    if spec.design == "grid":
        rows: List[tuple] = list(itertools.product(*(p.grid_values() for p in spec.parameters)))
        table = pd.DataFrame(rows, columns=paths, dtype=float)
    else:
        u = unit_samples(spec)
        table = pd.DataFrame(
            {p.path: [p.from_unit(float(x)) for x in u[:, j]] for j, p in enumerate(spec.parameters)},
            columns=paths,
        )
    table.index = pd.RangeIndex(len(table), name="point")
    return table


def point_count(spec: SweepSpec) -> int:
    """How many points the design has (without sampling it)."""
    d = len(spec.parameters)
    if spec.design == "grid":
        n = 1
        for p in spec.parameters:
            n *= len(p.grid_values())
        return n
    if spec.design == "lhs":
        return int(spec.samples)
    if spec.design == "sobol":
        return int(spec.samples) * (d + 2)
    return int(spec.samples) * (d + 1)
