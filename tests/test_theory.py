"""Rumorsim against results nobody here wrote (DESIGN.md, "Correctness contract").

Every test runs a shipped scenario (or the same model on a given graph) with a fixed seed
and compares it with a published result: bond percolation for SIR and the independent
cascade, the Maki–Thompson / Daley–Kendall limit 0.2032, Watts' cascade window, and
EoN's event-driven SIR on the ego-Facebook graph. Each tolerance is derived next to the
test from the variance of the quantity tested; none was tuned to pass.

Two exactness points recur:

* Rumorsim runs in steps of ``dt`` (DESIGN.md, "Time"). Where the theory is a
  continuous-time limit, the test compares with the same theory written for the
  discrete-time process (the exact per-edge transmissibility of a step-wise SIR, the
  step-wise mean-field map of a rumor), and a unit test checks that this discrete theory
  tends to the classic number as dt -> 0.
* One run builds one graph and runs all replicates on it. Percolation theory is
  evaluated on that realised graph (its degree sequence), and the plain Erdős–Rényi
  formula is checked with a tolerance that adds the graph-to-graph spread.
"""

from __future__ import annotations

import inspect

import networkx as nx
import numpy as np
import pytest
from scipy import stats
from scipy.integrate import solve_ivp
from scipy.optimize import brentq
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

import rumorsim as rs
from rumorsim.scenario import parse_scenario

from conftest import SCENARIOS

CLASSIC = SCENARIOS / "classic"
Z = 4.0  # |z| (or |t|) accepted for a mean: two-sided level ~6e-5 (1e-4 for t with 99 df)


# ====================================================================== theory


def step_transmissibility(beta: float, gamma: float, dt: float) -> float:
    """Per-edge transmissibility of the step-wise SIR.

    An infected agent stays infected L steps, P(L = l) = (1 - q)^(l-1) q with
    q = 1 - exp(-gamma dt) (recovery is decided in the same step as its neighbours'
    infection, from start-of-step states, so it transmits in all L steps), and in each
    step infects a given susceptible neighbour w.p. p = 1 - exp(-beta dt). So
    T = 1 - E[(1 - p)^L] = 1 - q (1 - p) / (1 - (1 - q)(1 - p)) -> beta / (beta + gamma).
    """
    p = -np.expm1(-beta * dt)
    q = -np.expm1(-gamma * dt)
    return 1.0 - q * (1.0 - p) / (1.0 - (1.0 - q) * (1.0 - p))


def er_final_size(mean_degree: float, T: float) -> float:
    """Major-outbreak final size on a large ER graph: the root r > 0 of r = 1 - exp(-<k> T r)."""
    return brentq(lambda r: r - 1.0 + np.exp(-mean_degree * T * r), 1e-9, 1.0)


def er_final_size_slope(mean_degree: float, T: float) -> float:
    """dr/d<k> on ER, from implicit differentiation of r = 1 - exp(-<k> T r)."""
    r = er_final_size(mean_degree, T)
    c = mean_degree * T
    return T * r * (1 - r) / (1 - c * (1 - r))


def percolation_on_degrees(degrees: np.ndarray, T: float):
    """Bond percolation on the configuration model with this degree sequence.

    Returns (r, s): r = 1 - G0(x), x = 1 - T + T G1(x) the smallest root in [0, 1)
    (x: probability that an edge does not lead into the giant in-cluster), and s the mean
    size of a *finite* cluster, s = 1 + T u G0'(x) / ((1 - T G1'(x)) G0(x)), u = G1(x),
    from differentiating the cluster-size generating functions
    H0(z) = z G0(F(z)), F(z) = 1 - T + T z G1(F(z)).
    """
    k = np.asarray(degrees, dtype=np.float64)
    kmean = k.mean()

    def G0(x):
        return np.mean(x ** k)

    def G1(x):
        return np.mean(k * x ** np.maximum(k - 1, 0)) / kmean

    def dG0(x):
        return np.mean(k * x ** np.maximum(k - 1, 0))

    def dG1(x):
        return np.mean(k * (k - 1) * x ** np.maximum(k - 2, 0)) / kmean

    x = 0.0
    for _ in range(10_000):  # monotone fixed-point iteration from 0: the smallest root
        x_new = 1 - T + T * G1(x)
        if abs(x_new - x) < 1e-15:
            break
        x = x_new
    u = G1(x)
    r = 1 - G0(x)
    s = 1 + T * u * dG0(x) / ((1 - T * dG1(x)) * G0(x))
    return r, s


def seeded_final_size(degrees: np.ndarray, T: float, n_seeds: int) -> float:
    """Expected final fraction of a major outbreak started by n_seeds random agents.

    Agent w ends infected if its in-cluster (who could reach it) is infinite (fraction r),
    or finite and holds a seed. Summing over w, the second part is n_seeds times the
    mean of |in-cluster| over finite ones: n_seeds (1 - r) s / N (to O(n_seeds^2 / N)).
    In-clusters are built from edges into distinct agents, which transmit independently,
    so this is exact for SIR too (its out-clusters are not: one infectious period is
    shared by all of an agent's out-edges).
    """
    r, s = percolation_on_degrees(degrees, T)
    return r + n_seeds * (1 - r) * s / len(degrees)


def rumor_step_limit(dt: float, s0: float = 1e-10) -> float:
    """Fraction never hearing, N -> infinity, for the step-wise Maki–Thompson rumor.

    With i, s, r the fractions of ignorants, spreaders and stiflers, a step moves each
    ignorant to spreader w.p. 1 - exp(-s dt) and each spreader to stifler w.p.
    1 - exp(-(s + r) dt) (rates 1/N per spreader, and per other spreader or stifler); by
    the law of large numbers the fractions follow this map. Started from an infinitesimal
    s0 (the single first spreader), its limit i_inf -> 0.2032 as dt -> 0.
    """
    i, s, r = 1.0 - s0, s0, 0.0
    while s > 1e-16:
        a = np.exp(-s * dt)
        b = np.exp(-(s + r) * dt)
        i, s, r = i * a, s * b + i * (1 - a), r + s * (1 - b)
    return i


def rumor_step_variance(dt: float, s0: float = 1e-9) -> float:
    """N x variance of the fraction never hearing for the step-wise rumor (N -> infinity).

    Linear-noise approximation of the same map: per step the ignorants who hear are
    Binomial(N i, a), a = 1 - exp(-s dt), and the spreaders who stop are Binomial(N s, b),
    b = 1 - exp(-(1 - i) dt), independently; so the scaled covariance of (i, s) follows
    Sigma' = J Sigma J^T + D, with J the Jacobian of the map and
    D = [[i a(1-a), -i a(1-a)], [-i a(1-a), i a(1-a) + s b(1-b)]]. As dt -> 0 this
    gives Pittel's 0.2727 (checked below).
    """
    i, s = 1.0 - s0, s0
    cov = np.zeros((2, 2))
    while s > 1e-14:
        ea = np.exp(-s * dt)
        eb = np.exp(-(1 - i) * dt)
        jac = np.array([[ea, -i * dt * ea], [1 - ea + s * dt * eb, eb + i * dt * ea]])
        vi = i * (1 - ea) * ea
        vs = s * (1 - eb) * eb
        cov = jac @ cov @ jac.T + np.array([[vi, -vi], [-vi, vi + vs]])
        i, s = i * ea, s * eb + i * (1 - ea)
    return float(cov[0, 0])


#: The root of theta = exp(-2 (1 - theta)) (Sudbury 1985; Daley & Kendall 1965).
THETA = brentq(lambda t: t - np.exp(-2 * (1 - t)), 0.01, 0.9)
#: N x variance of the fraction never hearing, Maki–Thompson (Pittel 1990; Sudbury 1985).
N_VARIANCE = 0.2727


def rumor_ode_limit(per_spreader: float, per_stifler: float) -> float:
    """Mean-field limit of di = -i s, ds = i s - a s^2 - b s r, from one infinitesimal spreader."""

    def rhs(_, y):
        i, s = y
        return [-i * s, i * s - per_spreader * s * s - per_stifler * s * (1 - i - s)]

    sol = solve_ivp(rhs, [0, 500], [1 - 1e-9, 1e-9], rtol=1e-11, atol=1e-15)
    return float(sol.y[0, -1])


def poisson_vulnerable(z: float, phi: float, kmax: int = 200):
    """Watts (2002) on Poisson(z) degrees with one threshold phi.

    Returns (cascade_sum, extended): cascade_sum = sum_k k (k-1) rho_k p_k (the first-order
    cascade condition is cascade_sum > z), with rho_k = 1 when 1 <= k <= 1/phi (one
    active friend suffices); extended = 1 - G0(x), x = 1 - G1v(1) + G1v(x), the
    probability that a random seed is in or next to the giant vulnerable cluster
    (G1v: the excess-degree generating function restricted to vulnerable degrees).
    """
    k = np.arange(kmax)
    p = stats.poisson.pmf(k, z)
    rho = ((k >= 1) & (k <= np.floor(1 / phi + 1e-12))).astype(float)
    q = k * p * rho / z
    x = 0.0
    for _ in range(100_000):
        x_new = 1 - q.sum() + np.sum(q * x ** np.maximum(k - 1, 0))
        if abs(x_new - x) < 1e-15:
            break
        x = x_new
    return float(np.sum(k * (k - 1) * rho * p)), float(1 - np.sum(p * x ** k))


def extended_vulnerable_cluster(layer, phi: float) -> np.ndarray:
    """Agents in or next to the largest cluster of vulnerable agents of a realised graph."""
    n = layer.n_agents
    deg = layer.degree()
    vulnerable = (deg >= 1) & (deg <= np.floor(1 / phi + 1e-12))
    adj = csr_matrix((np.ones(len(layer.indices)), layer.indices, layer.indptr), shape=(n, n))
    idx = np.flatnonzero(vulnerable)
    _, labels = connected_components(adj[idx][:, idx], directed=False)
    giant = np.zeros(n, dtype=bool)
    giant[idx[labels == np.bincount(labels).argmax()]] = True
    return giant | (adj @ giant.astype(np.float64) > 0)


def _mean_and_se(x: np.ndarray):
    return float(np.mean(x)), float(np.std(x, ddof=1) / np.sqrt(len(x)))


def _binomial_z_count(k: int, n: int, p: float) -> float:
    return (k - n * p) / np.sqrt(n * p * (1 - p))


# ============================================================ unit checks of theory


def test_step_transmissibility_tends_to_beta_over_beta_plus_gamma():
    assert step_transmissibility(0.25, 1.0, 1e-7) == pytest.approx(0.2, abs=1e-7)
    # O(dt) above the limit: more transmission per infectious period in steps
    assert step_transmissibility(0.25, 1.0, 0.05) == pytest.approx(0.205031, abs=1e-6)
    assert er_final_size(10, 0.2) == pytest.approx(0.79681, abs=5e-6)
    # the configuration-model formula reduces to ER's on Poisson degrees
    k = stats.poisson(10).ppf((np.arange(200_000) + 0.5) / 200_000)
    assert percolation_on_degrees(k, 0.2)[0] == pytest.approx(0.79681, abs=1e-4)


def test_step_rumor_limit_tends_to_0_2032_at_first_order():
    assert THETA == pytest.approx(0.2032, abs=5e-5)
    assert rumor_ode_limit(1, 1) == pytest.approx(THETA, abs=1e-6)
    assert rumor_step_limit(1e-4) == pytest.approx(THETA, abs=2e-5)
    # bias linear in dt: Richardson's 2 f(dt/2) - f(dt) removes it
    assert 2 * rumor_step_limit(0.04) - rumor_step_limit(0.08) == pytest.approx(THETA, abs=1e-4)
    assert rumor_step_variance(1e-3) == pytest.approx(N_VARIANCE, abs=5e-4)
    assert rumor_step_variance(0.04) == pytest.approx(0.2673, abs=1e-4)


def test_daley_kendall_single_agent_rates_keep_the_mean_field():
    """1/N per other spreader + 1/N per stifler is Daley–Kendall's mean field; 2/N is not.

    DK: pairs meet at rate 1/N; a spreader-spreader meeting removes both, so a spreader
    leaves at (s - 1)/N from those meetings (1/N per other spreader), giving
    ds/dt = i s - s^2 - s r, the Maki–Thompson equations. A per-other-spreader rate of 2/N
    doubles the s^2 term and moves the limit from 0.2032 to 0.2847.
    """
    assert rumor_ode_limit(1, 1) == pytest.approx(0.2032, abs=1e-4)
    assert rumor_ode_limit(2, 1) == pytest.approx(0.2847, abs=1e-4)


def test_watts_cascade_window_contains_4_and_not_7():
    inside, extended = poisson_vulnerable(4, 0.18)
    outside, none = poisson_vulnerable(7, 0.18)
    assert inside > 4 and outside < 7
    assert extended == pytest.approx(0.8653, abs=1e-4)
    assert none < 1e-9


# ================================================================ simulations


def _final_size_check(res, T: float, n_seeds: int, mean_degree: float):
    """Major-outbreak final size vs percolation on the realised graph and on ER.

    Tolerance. Replicates share one graph, so they are iid given the graph: the t
    statistic of their mean against the realised-graph theory uses their own sd.
    (For orientation: the giant component of annealed ER percolation has
    sd sqrt(r (1 - r) / N) / (1 - <k> T (1 - r)) ~ 0.0068 at N = 10^4; SIR's shared
    infectious periods add to it, the fixed graph removes the graph part.)
    The plain ER formula also carries the graph's own deviation: G(N, p) has
    sd(<k>) = sqrt(2 <k> / N) (edges are binomial), moving r by
    |dr/d<k>| sqrt(2 <k> / N) ~ 0.0024; the two add in quadrature.
    """
    layer = res.network.layers[0]
    n = layer.n_agents
    final = res.raw.counts[:, -1, -1] / n  # recovered / spent: the last state
    major = final > 0.1
    assert major.mean() > 0.95  # with 10 seeds a minor outbreak has probability ~1e-7
    mean, se = _mean_and_se(final[major])
    theory_graph = seeded_final_size(layer.degree(), T, n_seeds)
    assert abs(mean - theory_graph) < Z * se, (mean, se, theory_graph)
    correction = theory_graph - percolation_on_degrees(layer.degree(), T)[0]
    theory_er = er_final_size(mean_degree, T) + correction
    graph_sd = er_final_size_slope(mean_degree, T) * np.sqrt(2 * mean_degree / n)
    assert abs(mean - theory_er) < Z * np.hypot(se, graph_sd), (mean, theory_er)
    # the replicate spread is of the order percolation predicts (not a point mass, not wild)
    r = er_final_size(mean_degree, T)
    sd_annealed = np.sqrt(r * (1 - r) / n) / (1 - mean_degree * T * (1 - r))
    assert 0.5 < np.std(final[major], ddof=1) / sd_annealed < 2
    return mean, se, theory_graph, theory_er


@pytest.mark.slow
def test_sir_final_size_matches_bond_percolation_with_step_transmissibility():
    """SIR on ER <k> = 10, beta = 0.25, gamma = 1, dt = 0.05, N = 10^4 (classic/sir.yaml).

    T = 0.20503 at this dt (0.2 as dt -> 0), r = 0.8100 on ER.
    """
    sc = rs.load(CLASSIC / "sir.yaml")
    assert sc.time.dt == 0.05 and sc.population.agents == 10_000
    res = rs.run(sc, replicates=100, seed=2024, workers=2)
    T = step_transmissibility(0.25, 1.0, 0.05)
    _final_size_check(res, T, n_seeds=10, mean_degree=10)


@pytest.mark.slow
def test_independent_cascade_final_size_is_bond_percolation():
    """Independent cascade on ER <k> = 10, p = 0.2 (classic/independent_cascade.yaml): T = p exactly."""
    res = rs.run(rs.load(CLASSIC / "independent_cascade.yaml"), replicates=100, seed=2025, workers=2)
    _final_size_check(res, 0.2, n_seeds=10, mean_degree=10)
    # each agent is active for exactly one step: spent = everyone ever activated
    names = list(res.model.info.event_names)
    assert np.array_equal(res.raw.counts[:, -1, 2] - 10, res.raw.fired[:, -1, names.index("activation")])


@pytest.mark.slow
def test_seir_final_size_is_sir_bond_percolation():
    """SEIR (classic/seir.yaml): the latent period changes timing, not who is infected.

    Same T and tolerance as the SIR test (the E stage does not transmit, so each edge
    still transmits w.p. T = 0.20503 at dt = 0.05).
    """
    sc = rs.load(CLASSIC / "seir.yaml")
    assert [t.rate for t in sc.transitions] == [0.25, 0.5, 1.0] and sc.time.dt == 0.05
    res = rs.run(sc, replicates=60, seed=2026, workers=2)
    _final_size_check(res, step_transmissibility(0.25, 1.0, 0.05), n_seeds=10, mean_degree=10)


def live_edge_spread(layer, n_seeds: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Final sizes of the live-edge model equivalent to the linear threshold model.

    Kempe, Kleinberg & Tardos (2003), Claim 2.6: with thresholds uniform on [0, 1] and
    in-weights summing to 1 (here 1/degree each), the active set has the law of the set
    reachable from the seeds when each agent keeps one in-edge, chosen with probability
    equal to its weight. Computed with scipy's breadth-first search, not the kernel.
    """
    from scipy.sparse.csgraph import breadth_first_order

    n = layer.n_agents
    deg = layer.degree()
    has = np.flatnonzero(deg > 0)
    sizes = np.empty(samples)
    for k in range(samples):
        pick = layer.indptr[has] + rng.integers(0, deg[has])  # one uniform friend each
        parent = layer.indices[pick]
        seeds = rng.choice(n, n_seeds, replace=False)
        # edges parent -> child, plus a root (agent n) pointing at the seeds
        rows = np.concatenate([parent, np.full(n_seeds, n)])
        cols = np.concatenate([has, seeds])
        graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + 1, n + 1))
        sizes[k] = len(breadth_first_order(graph, n, directed=True, return_predecessors=False)) - 1
    return sizes


@pytest.mark.slow
def test_linear_threshold_matches_its_live_edge_model():
    """Linear threshold (classic/linear_threshold.yaml) vs the live-edge model on the same graph.

    400 kernel runs and 2000 live-edge samples, each with 20 random seeds. The means
    must agree by Welch's t (|t| < 4) and the distributions by two-sample KS (p > 0.001).
    """
    res = rs.run(rs.load(CLASSIC / "linear_threshold.yaml"), replicates=400, seed=41, workers=2)
    layer = res.network.layers[0]
    kernel = res.raw.counts[:, -1, 1].astype(float)
    live = live_edge_spread(layer, 20, 2000, np.random.default_rng(42))
    t = stats.ttest_ind(kernel, live, equal_var=False).statistic
    assert abs(t) < Z, (kernel.mean(), live.mean(), t)
    assert stats.ks_2samp(kernel, live).pvalue > 0.001


def _rumor_run(name: str, n: int, dt: float, replicates: int, seed: int):
    base = rs.load(CLASSIC / f"{name}.yaml")
    over = [f"population.agents={n}", f"time.dt={dt}"]
    over += [f"transitions.{t.name}.rate={1 / n!r}" for t in base.transitions]
    res = rs.run(rs.load(CLASSIC / f"{name}.yaml", over), replicates=replicates, seed=seed, workers=2)
    never = res.raw.counts[:, -1, 0] / n
    assert np.all(res.raw.counts[:, -1, 1] == 0)  # every run has finished: no spreaders left
    return never


@pytest.mark.slow
def test_maki_thompson_fraction_never_hearing_is_0_2032():
    """Maki–Thompson on the complete graph: mean and N x variance of the fraction never hearing.

    Mean. At dt = 0.04 the step-wise process has its own limit, rumor_step_limit(0.04) =
    0.19882 (0.2032 - 0.11 dt, checked above to tend to 0.2032); the kernel must match
    that, not 0.2032 (the O(dt) bias, 0.0044, is many standard errors). The cost of a
    replicate grows like N and its variance falls like 1/N, so the standard error per
    second does not depend on N: N = 5000 keeps the O(1/N) finite-size bias (~1e-4)
    far below the standard error, sqrt(0.2727 / (N R)) = 0.00052 for R = 200.
    Variance. N var -> 0.2727 as dt -> 0; at dt = 0.04 the step-wise linear-noise value
    is rumor_step_variance(0.04) = 0.2673. Its estimate has relative sd
    sqrt((m4/var^2 - 1) / R) (about sqrt(2/R) = 10 %), so 4 sd is a 40 % band: a weak
    test, but it catches a kernel that is too deterministic (e.g. mean-field-like) or
    too noisy.
    """
    n, dt, reps = 5000, 0.04, 200
    never = _rumor_run("maki_thompson", n, dt, reps, seed=7)
    major = never < 0.5  # a rumor dying among the first few spreaders (prob. ~1/N^2)
    assert major.sum() >= reps - 2
    mean, se = _mean_and_se(never[major])
    expected = rumor_step_limit(dt)
    assert abs(mean - expected) < Z * se, (mean, se, expected)
    assert se < 0.0007  # as designed: sqrt(0.2727 / (5000 x 200)) = 0.00052
    x = never[major]
    var = np.var(x, ddof=1)
    m4 = np.mean((x - x.mean()) ** 4)
    var_sd = var * np.sqrt((m4 / var**2 - 1) / len(x))
    assert abs(n * var - rumor_step_variance(dt)) < Z * n * var_sd, (n * var, n * var_sd)


@pytest.mark.slow
def test_daley_kendall_fraction_never_hearing_is_0_2032():
    """Daley–Kendall (single-agent form, classic/daley_kendall.yaml) on the complete graph.

    Its hazards are Maki–Thompson's (see the file's assumptions), so the step-wise limit
    is the same map: rumor_step_limit(0.08) = 0.19448 at dt = 0.08 (a coarser step than the
    Maki–Thompson test, so together they check the dt-dependence: -0.11 dt). Standard
    error sqrt(0.2727 / (N R)) = 0.00052 as there.
    """
    n, dt, reps = 5000, 0.08, 200
    never = _rumor_run("daley_kendall", n, dt, reps, seed=8)
    major = never < 0.5
    assert major.sum() >= reps - 2
    mean, se = _mean_and_se(never[major])
    assert abs(mean - rumor_step_limit(dt)) < Z * se, (mean, se, rumor_step_limit(dt))
    assert abs(mean - THETA) > Z * se  # the O(dt) bias is real at this step: use the step theory
    x = never[major]
    var = np.var(x, ddof=1)
    var_sd = var * np.sqrt((np.mean((x - x.mean()) ** 4) / var**2 - 1) / len(x))
    assert abs(n * var - rumor_step_variance(dt)) < Z * n * var_sd, (n * var, n * var_sd)


@pytest.mark.slow
def test_watts_global_cascades_inside_the_window_and_none_outside():
    """Watts threshold (classic/watts_threshold.yaml): phi = 0.18, one random seed, ER.

    <k> = 4 (inside the window). A seed starts a global cascade iff it is in or next to
    the giant vulnerable cluster (on a tree-like graph spread from one seed passes only
    through vulnerable agents). On the realised graph that set E is computed exactly,
    so (a) each replicate's outcome is predicted from its seed, and (b) the number of
    global cascades is Binomial(R, |E|/N) — |z| < 4. The Poisson value 0.8653 differs
    from |E|/N by the graph's own fluctuation: over 20 independent graphs from this
    generator (N = 10^4, <k> = 4) |E|/N had mean 0.8634 and sd 0.0085 (a property of the
    graph ensemble, measured once, without the kernel); so the Poisson check allows
    4 x the binomial sd plus 4 x 0.0085.
    <k> = 7 (outside: sum k(k-1) rho_k p_k = 4.0 < 7): no global cascade in 300 runs.
    """
    reps = 300
    res = rs.run(rs.load(CLASSIC / "watts_threshold.yaml"), replicates=reps, seed=11, workers=2)
    layer = res.network.layers[0]
    n = layer.n_agents
    active = res.raw.counts[:, -1, 1]
    glob = active > 0.1 * n
    # global cascades are global: they take nearly everyone, others stay tiny
    assert np.all((active > 0.9 * n) | (active < 0.01 * n))
    ext = extended_vulnerable_cluster(layer, 0.18)
    p_graph = ext.mean()
    assert abs(_binomial_z_count(glob.sum(), reps, p_graph)) < Z, (glob.mean(), p_graph)
    _, p_poisson = poisson_vulnerable(4, 0.18)
    binom_sd = np.sqrt(p_poisson * (1 - p_poisson) / reps)
    assert abs(glob.mean() - p_poisson) < Z * binom_sd + Z * 0.0085, (glob.mean(), p_poisson)
    # replicate by replicate: the seed's place predicts the outcome
    for r in range(40):
        seed = np.flatnonzero(rs.agent_history(res, r)[0] == 1)
        assert len(seed) == 1
        assert ext[seed[0]] == glob[r], r

    out = rs.run(rs.load(CLASSIC / "watts_threshold.yaml",
                         ["network.layers.friends.mean_degree=7"]), replicates=reps, seed=12, workers=2)
    assert out.raw.counts[:, -1, 1].max() < 0.01 * n
    assert extended_vulnerable_cluster(out.network.layers[0], 0.18).mean() < 0.01


# ----------------------------------------------------------------------- EoN

FACEBOOK_SIR = """
name: SIR on ego-Facebook
time: {{dt: {dt}, until: 40, report_every: 0.25}}
population: {{agents: 4039}}
network:
  layers:
    friends: {{generator: edgelist, path: data/facebook_combined.txt.gz}}
traits:
  health: [S, I, R]
seed:
  - {{state: {{health: I}}, strategy: ids, ids: {ids}}}
transitions:
  - name: infection
    from: {{health: S}}
    to: {{health: I}}
    rate: {beta!r}
    induced_by: {{layer: friends, state: {{health: I}}}}
  - {{name: recovery, from: {{health: I}}, to: {{health: R}}, rate: {gamma!r}}}
"""


def beta_for_transmissibility(T: float, gamma: float, dt: float) -> float:
    """The step-wise infection rate whose exact per-edge transmissibility is T."""
    q = -np.expm1(-gamma * dt)
    keep = (1 - T) / (q + (1 - T) * (1 - q))  # 1 - p, inverting step_transmissibility
    return float(-np.log(keep) / dt)


@pytest.mark.slow
def test_sir_agrees_with_eon_on_the_facebook_graph():
    """Rumorsim vs EoN.fast_SIR (Miller & Kiss, event-driven, continuous time) on ego-Facebook.

    Same graph (EoN gets Rumorsim's layer, nodes named by the file's ids as seed `ids`
    are), same 10 initial infected people, tau = 0.04,
    gamma = 1 (T = tau / (tau + gamma) = 0.0385; R0 ~ 3 on this heavy-tailed graph, final
    sizes 20-45 % spread over its communities). Rumorsim runs at dt = 0.01 with the
    infection rate whose step transmissibility is exactly 0.0385, so final sizes agree
    exactly in law up to the shape of the infectious period (geometric in steps vs
    exponential), and time courses lag by O(dt) per generation: measured with 600 runs
    each, the mean time of peak was 2.55 at dt = 0.02, 2.48 at dt = 0.005 and 2.47 in
    EoN (sd of the mean ~0.02), so at dt = 0.01 the lag (~0.04) is well under the
    resolution of 150 runs (sd of a difference of means ~0.06).
    Checks, R = 150 runs each, all at level alpha = 0.001 (fixed seeds):
    * final sizes: two-sample Kolmogorov–Smirnov and Mann–Whitney tests do not reject;
    * epidemic peaks (max I) and times of peak: KS does not reject;
    * median I(t) on the 0.25 grid up to t = 8: |difference| < 4 bootstrap SE at every
      time (SE of the difference of two medians, 400 resamples, floored at 1 agent).
    """
    import EoN  # in the `test` extra: this comparison always runs

    assert "rng" in inspect.signature(EoN.fast_SIR).parameters, (
        "EoN >= 2.0 is needed for seeded runs (fast_SIR(..., rng=)): pip install '.[test]'")
    tau, gamma, dt, reps = 0.04, 1.0, 0.01, 150
    T = tau / (tau + gamma)
    beta = beta_for_transmissibility(T, gamma, dt)
    assert step_transmissibility(beta, gamma, dt) == pytest.approx(T, rel=1e-12)
    ids = list(range(7, 4039, 404))
    text = FACEBOOK_SIR.format(dt=dt, ids=ids, beta=beta, gamma=gamma)
    sc = parse_scenario(text, str(SCENARIOS / "eon_facebook_sir.yaml"))
    res = rs.run(sc, replicates=reps, seed=31, workers=2)
    layer = res.network.layers[0]
    n = layer.n_agents
    assert layer.n_edges == 88234

    # EoN's graph is Rumorsim's layer with the file's node ids, which seed `ids` name
    node = np.asarray(res.network.node_ids if res.network.node_ids is not None else np.arange(n))
    first = np.flatnonzero(rs.agent_history(res, 0)[0] == 1)
    assert sorted(node[first].tolist()) == ids  # the same 10 people start infected
    graph = nx.Graph()
    graph.add_nodes_from(node.tolist())
    src = np.repeat(np.arange(n), np.diff(layer.indptr))
    graph.add_edges_from(zip(node[src].tolist(), node[layer.indices].tolist()))
    times = res.model.info.report_times
    rng = np.random.default_rng(32)
    eon_final, eon_I = np.empty(reps), np.empty((reps, len(times)))
    for k in range(reps):
        t, _, infected, recovered = EoN.fast_SIR(graph, tau, gamma, initial_infecteds=ids, rng=rng)
        eon_final[k] = recovered[-1]
        eon_I[k] = infected[np.searchsorted(t, times, side="right") - 1]
    rs_final = res.raw.counts[:, -1, 2].astype(float)
    rs_I = res.raw.counts[:, :, 1].astype(float)
    assert np.all(res.raw.counts[:, -1, 1] == 0)  # all over by t = 40

    alpha = 0.001
    assert stats.ks_2samp(rs_final, eon_final).pvalue > alpha
    assert stats.mannwhitneyu(rs_final, eon_final).pvalue > alpha
    assert stats.ks_2samp(rs_I.max(axis=1), eon_I.max(axis=1)).pvalue > alpha
    assert stats.ks_2samp(times[rs_I.argmax(axis=1)], times[eon_I.argmax(axis=1)]).pvalue > alpha

    grid = times <= 8 + 1e-9
    a, b = rs_I[:, grid], eon_I[:, grid]
    diff = np.median(a, axis=0) - np.median(b, axis=0)
    boot = np.random.default_rng(33)
    draws = np.stack([
        np.median(a[boot.integers(0, reps, reps)], axis=0) - np.median(b[boot.integers(0, reps, reps)], axis=0)
        for _ in range(400)
    ])
    se = np.maximum(draws.std(axis=0), 1.0)
    assert np.all(np.abs(diff) < Z * se), (times[grid][np.abs(diff) >= Z * se], diff, se)


@pytest.mark.slow
def test_sir_final_size_on_a_parallel_built_er_graph_is_bond_percolation(monkeypatch):
    """classic/sir at N = 3 * 10^5 on an ER graph built in ~600 blocks of rows and ~600
    transpose buckets (their sizes shrunk so that a test-sized graph has as many seams as
    one of 10^8 agents), on 2 threads: the final-size law is still bond percolation
    (same check and tolerances as at 10^4 above: the mean within Z standard errors of
    the replicates, and of the graph's own sampling sd for the ER formula; the spread
    of the order percolation predicts)."""
    from rumorsim import generators

    monkeypatch.setattr(generators, "_ER_EDGES_PER_BLOCK", 1 << 11)
    monkeypatch.setattr(generators, "_ER_BUCKET_SHIFT", 9)
    res = rs.run(rs.load(CLASSIC / "sir.yaml"), replicates=30, seed=2026, workers=2,
                 overrides=["population.agents=300000"])
    assert res.network.layers[0].n_agents == 300_000
    T = step_transmissibility(0.25, 1.0, 0.05)
    _final_size_check(res, T, n_seeds=10, mean_degree=10)
