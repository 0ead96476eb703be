"""Seeds: an int or a ``numpy.random.SeedSequence``, turned into one SeedSequence per run.

Every public function that takes ``seed=`` accepts either. An int ``s`` means
``SeedSequence(s)``, so the numbers of an int seed never depend on this choice; a
SeedSequence (e.g. a child from ``SeedSequence(2016).spawn(10)[3]``, to run independent
batches) is used as is. Provenance records the seed so the run can be repeated: the
int, or the sequence's ``entropy`` and ``spawn_key`` (:func:`seed_record`).
"""

from __future__ import annotations

from typing import Any, Dict, Union

import numpy as np

from .errors import ScenarioError

#: What ``seed=`` accepts.
SeedLike = Union[int, np.integer, np.random.SeedSequence]


def check_seed(seed: Any, field: str = "seed") -> SeedLike:
    """``seed`` if it is a non-negative int or a SeedSequence, else ScenarioError."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and int(seed) >= 0:
        return int(seed)
    raise ScenarioError("a seed must be a whole number >= 0 or a numpy SeedSequence",
                        field=field, found=seed)


def as_seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """The run's root SeedSequence (an int ``s`` gives ``SeedSequence(s)``)."""
    seed = check_seed(seed)
    return seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)


def seed_record(seed: SeedLike) -> Union[int, Dict[str, Any]]:
    """What provenance records: the int, or ``{"entropy", "spawn_key"}`` of a SeedSequence.

    Examples
    --------
    >>> seed_record(7)
    7
    >>> seed_record(np.random.SeedSequence(7).spawn(2)[1])
    {'entropy': 7, 'spawn_key': [1]}
    """
    seed = check_seed(seed)
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": seed.entropy, "spawn_key": [int(k) for k in seed.spawn_key]}
    return int(seed)


def seed_from_record(record: Union[int, Dict[str, Any]]) -> SeedLike:
    """The seed :func:`seed_record` wrote (the inverse)."""
    if isinstance(record, dict):
        return np.random.SeedSequence(record["entropy"], spawn_key=tuple(record.get("spawn_key", ())))
    return int(record)


def describe_seed(seed: SeedLike) -> str:
    """The seed as a person reads it: ``7``, or ``SeedSequence(7, spawn_key=(1,))``."""
    seed = check_seed(seed)
    if isinstance(seed, np.random.SeedSequence):
        key = f", spawn_key={tuple(seed.spawn_key)}" if seed.spawn_key else ""
        return f"SeedSequence({seed.entropy}{key})"
    return str(seed)
