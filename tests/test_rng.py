"""The kernel's xoshiro256** stream against a plain-Python transcription of the published algorithm."""

from __future__ import annotations

import numpy as np

from rumorsim import rng

M64 = (1 << 64) - 1


def _reference(state, n):
    s = [int(x) for x in state]
    rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64  # noqa: E731
    out = []
    for _ in range(n):
        out.append((rotl((s[1] * 5) & M64, 7) * 9) & M64)
        t = (s[1] << 17) & M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


def test_xoshiro256starstar_matches_the_reference_algorithm():
    state = np.array([1, 2, 3, 4], dtype=np.uint64)
    expected = _reference(state, 1000)
    assert expected[0] == 11520  # rotl(2 * 5, 7) * 9
    got = [int(rng.next_u64(state)) for _ in range(1000)]
    assert got == expected


def test_same_seed_same_stream_and_children_differ():
    a, b = rng.new_state(42), rng.new_state(42)
    assert [rng.next_u64(a) for _ in range(5)] == [rng.next_u64(b) for _ in range(5)]
    c = rng.new_state(np.random.SeedSequence(42).spawn(1)[0])
    assert rng.next_u64(c) != rng.next_u64(rng.new_state(42))


def test_uniform_and_geometric_skip_laws():
    s = rng.new_state(7)
    u = np.array([rng.uniform(s) for _ in range(200_000)])
    assert u.min() >= 0 and u.max() < 1
    # mean 1/2, sd of the mean sqrt(1/12/n) = 6.5e-4: 5 sd
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    p = 0.1
    g = np.array([rng.geometric_skip(s, np.log1p(-p)) for _ in range(100_000)])
    # failures before a success: mean (1-p)/p = 9, variance (1-p)/p^2 = 90
    assert abs(g.mean() - 9) < 5 * np.sqrt(90 / g.size)
    r = np.array([rng.randint(s, 6) for _ in range(60_000)])
    assert set(np.unique(r)) == set(range(6))
