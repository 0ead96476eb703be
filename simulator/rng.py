"""Counter-free, per-stream random numbers for numba code: xoshiro256**.

numba's own ``np.random`` inside ``@njit`` keeps one hidden state per thread, so
results would depend on which thread ran which replicate. Every kernel and native
generator here instead carries its own 4-word state array, seeded from a
``numpy.random.SeedSequence``, so the same seed gives the same bytes at any thread
count. Only numpy and numba are imported.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

# The draws are inlined where they are used (inline='always'): in the large kernel LLVM
# would otherwise leave them as calls, and a call passing the state array costs two
# atomic reference-count updates.

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def new_state(seed: "np.random.SeedSequence | int") -> np.ndarray:
    """Return a fresh xoshiro256** state (uint64[4]) derived from ``seed``."""
    if not isinstance(seed, np.random.SeedSequence):
        seed = np.random.SeedSequence(seed)
    state = seed.generate_state(4, dtype=np.uint64)
    if not state.any():  # the all-zero state is the one xoshiro cannot leave
        state[0] = np.uint64(0x9E3779B97F4A7C15)
    return state


@njit(inline="always", cache=True)
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(cache=True, nogil=True, inline='always')
def next_u64(s):
    """Next 64-bit output; advances the state array ``s`` in place."""
    result = _rotl(s[1] * uint64(5), 7) * uint64(9)
    t = s[1] << uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True, nogil=True, inline='always')
def uniform(s):
    """A double in [0, 1) with 53 random bits."""
    return (next_u64(s) >> uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True, inline='always')
def uniform_pos(s):
    """A double in (0, 1): safe to take the log of."""
    return ((next_u64(s) >> uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True, inline='always')
def randint(s, n):
    """An integer in [0, n) (n >= 1), without modulo bias worth worrying about (n << 2^64)."""
    return np.int64((next_u64(s) >> uint64(11)) * (1.0 / 9007199254740992.0) * n)


@njit(cache=True, nogil=True)
def normal(s):
    """A standard normal deviate (Box–Muller; one of the pair is discarded)."""
    u1 = uniform_pos(s)
    u2 = uniform(s)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True, nogil=True)
def geometric_skip(s, log_q):
    """Number of failures before the next success of a Bernoulli(p) sequence.

    ``log_q`` is log(1 - p) (< 0). Used to skip over agents or edges that a
    Bernoulli trial would not pick, in time proportional to the successes.
    """
    return np.int64(np.floor(np.log(uniform_pos(s)) / log_q))
