"""The kernel: invariants, the exact per-step law, and compiled vs pure Python.

Three kinds of checks, all cheap:

* invariants that hold in every run: agents are conserved; a transition never fires
  from a state it does not match; each agent makes at most one allowed move per step;
  the same seed gives the same arrays at any worker count;
* the semantics of DESIGN.md ("Model semantics") on cases small enough to have an exact
  answer: survival exp(-rate t) at any dt, a per-step probability compounding over
  steps and over infected neighbours, competing transitions and outcomes splitting in
  proportion, thresholds firing exactly when reached, synchronous updates, complete-graph
  counts that leave the agent itself out;
* ``run_replicate.py_func`` (the kernel run as plain Python, calling the same jitted
  helpers and RNG) gives byte-identical output to the compiled kernel.

Statistical checks use fixed seeds and accept |z| <= 4 for a binomial count (a
two-sided level of 6e-5 per check), so a correct kernel fails with negligible
probability and a wrong law of a few per cent is caught.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import rumorsim as rs
import rumorsim.engine as engine
from rumorsim.kernel import run_replicate
from rumorsim.network import Network, layer_from_networkx
from rumorsim.scenario import parse_scenario

Z = 4.0  # accepted |z| for binomial counts (two-sided 6e-5)


def _scenario(text: str, overrides=()):
    return parse_scenario(text, "<test>", list(overrides))


def _binomial_z(k: int, n: int, p: float) -> float:
    return (k - n * p) / np.sqrt(n * p * (1 - p))


def _network(name: str, graph: nx.Graph) -> Network:
    layer = layer_from_networkx(name, graph)
    return Network(layer.n_agents, (layer,))


def _stars(sizes) -> nx.Graph:
    """Disjoint stars; star j has sizes[j] leaves, its centre first, agents numbered in order."""
    return nx.disjoint_union_all([nx.star_graph(k) for k in sizes])


def _centres_and_leaves(sizes):
    starts = np.concatenate([[0], np.cumsum(np.asarray(sizes) + 1)[:-1]])
    leaves = np.concatenate([np.arange(s + 1, s + 1 + k) for s, k in zip(starts, sizes)])
    return starts, leaves


SIR = """
name: small SIR
time: {dt: 0.1, until: 30, report_every: 0.1}
population: {agents: 400}
network:
  layers:
    contacts: {generator: erdos_renyi, mean_degree: 6}
traits:
  health: [S, I, R]
seed:
  - {state: {health: I}, count: 5}
transitions:
  - {name: infection, from: {health: S}, to: {health: I}, rate: 0.6,
     induced_by: {layer: contacts, state: {health: I}}}
  - {name: recovery, from: {health: I}, to: {health: R}, rate: 1.0}
"""

# Two traits, outcomes (fixed and from a signal), a threshold, a modulated rate, signals
# of every kind, a rate change, a broadcast and a later seed: most of the kernel's paths.
CRISIS = """
name: small crisis
time: {dt: 0.25, until: 12, report_every: 0.25}
population: {agents: 300, represents: 30000}
network:
  layers:
    friends: {generator: erdos_renyi, mean_degree: 5}
    everyone: {generator: complete}
traits:
  link: [unaware, seen, shared]
  rumor: [ignorant, believer, skeptic]
seed:
  - {state: {link: shared}, count: 4}
signals:
  visits: {kind: flow, transitions: [share]}
  capacity: {kind: value, value: 20000}
  failure: {kind: overload, demand: visits, capacity: capacity}
  believers: {kind: count, state: {rumor: believer}, per: agents}
  smooth: {kind: average, of: failure, half_life: 1}
  share_believing: {kind: ratio, numerator: believers, denominator: capacity}
transitions:
  - name: see
    from: {link: unaware}
    to: {link: seen}
    rate: 0.8
    induced_by: {layer: friends, state: {link: shared}}
  - name: share
    from: {link: seen}
    to:
      - {state: {link: shared}, p: {signal: failure, complement: true}}
      - {state: {link: unaware}, p: rest}
    rate: 0.7
  - name: believe
    from: {rumor: ignorant, link: [seen, shared]}
    to:
      - {state: {rumor: believer}, p: 0.6}
      - {state: {rumor: skeptic}, p: rest}
    threshold:
      layer: friends
      state: {link: shared}
      fraction: {distribution: normal, mean: 0.3, sd: 0.15}
    rate: 1.5
    modulated_by: [{signal: smooth, gain: 2}]
  - name: gossip
    from: {rumor: ignorant}
    to: {rumor: believer}
    rate: 0.002
    induced_by: {layer: everyone, state: {rumor: believer}}
  - name: doubt
    from: {rumor: believer}
    to: {rumor: skeptic}
    probability: 0.02
interventions:
  slow_sharing: {kind: scale, transition: share, factor: 0.5, at: 4, until: 8}
  debunk:
    kind: broadcast
    at: 6
    reach: 0.4
    effects: [{from: {rumor: believer}, to: {rumor: skeptic}, p: 0.5}]
  second_leak: {kind: seed, at: 3, state: {link: shared}, count: 3, strategy: top_degree, layer: friends}
"""

RUMOR = """
name: small Maki-Thompson
time: {dt: 0.05, until: 20, report_every: 0.05}
population: {agents: 200}
network:
  layers:
    everyone: {generator: complete}
traits:
  rumor: [ignorant, spreader, stifler]
seed:
  - {state: {rumor: spreader}, count: 1}
transitions:
  - {name: telling, from: {rumor: ignorant}, to: {rumor: spreader}, rate: 0.005,
     induced_by: {layer: everyone, state: {rumor: spreader}}}
  - {name: stifling, from: {rumor: spreader}, to: {rumor: stifler}, rate: 0.005,
     induced_by: {layer: everyone, state: {rumor: [spreader, stifler]}}}
"""

WATTS = """
name: small Watts
time: {dt: 1, until: 60, report_every: 1}
population: {agents: 500}
network:
  layers:
    friends: {generator: erdos_renyi, mean_degree: 3}
traits:
  opinion: [inactive, active]
seed:
  - {state: {opinion: active}, count: 3}
transitions:
  - name: adoption
    from: {opinion: inactive}
    to: {opinion: active}
    threshold: {layer: friends, state: {opinion: active}, fraction: {distribution: uniform, low: 0, high: 0.5}}
"""

CASES = {"sir": SIR, "crisis": CRISIS, "rumor": RUMOR, "watts": WATTS}


# ------------------------------------------------------------------- invariants


@pytest.mark.parametrize("name", list(CASES))
def test_agents_are_conserved_at_every_report(name):
    sc = _scenario(CASES[name])
    res = rs.run(sc, replicates=4, seed=2, workers=1)
    assert np.all(res.raw.counts.sum(axis=2) == sc.population.agents)
    assert np.all(res.raw.counts >= 0)
    assert np.all(np.diff(res.raw.fired, axis=1) >= 0)


def test_transitions_from_states_that_never_occur_never_fire():
    text = SIR.replace("health: [S, I, R]", "health: [S, I, R, X]") + """
  - {name: ghost, from: {health: X}, to: {health: S}, rate: 50}
  - {name: ghost_induced, from: {health: X}, to: {health: I}, probability: 1.0,
     induced_by: {layer: contacts, state: {health: I}}}
  - {name: never_induced, from: {health: S}, to: {health: R}, rate: 50,
     induced_by: {layer: contacts, state: {health: X}}}
"""
    res = rs.run(_scenario(text), replicates=4, seed=3, workers=1)
    names = list(res.model.info.event_names)
    for ghost in ("ghost", "ghost_induced", "never_induced"):
        assert res.raw.fired[:, :, names.index(ghost)].max() == 0
    assert res.raw.counts[:, :, 3].max() == 0  # nobody ever in X
    assert res.raw.fired[:, -1, names.index("infection")].min() > 0  # the rest did run


def test_sir_compartments_are_monotone_at_every_step():
    res = rs.run(_scenario(SIR), replicates=6, seed=4, workers=1)
    c = res.raw.counts
    assert np.all(np.diff(c[:, :, 0], axis=1) <= 0)  # S never increases
    assert np.all(np.diff(c[:, :, 2], axis=1) >= 0)  # R never decreases
    # firings account exactly for the flows
    names = list(res.model.info.event_names)
    infected = res.raw.fired[:, :, names.index("infection")]
    recovered = res.raw.fired[:, :, names.index("recovery")]
    assert np.array_equal(c[:, 0, 0] - c[:, :, 0].T, infected.T - infected[:, 0])
    assert np.array_equal(c[:, :, 2], recovered)


SEIR_FAST = """
name: fast SEIR
time: {dt: 1, until: 40, report_every: 1}
population: {agents: 300}
network:
  layers:
    contacts: {generator: erdos_renyi, mean_degree: 8}
traits:
  health: [S, E, I, R]
seed:
  - {state: {health: I}, count: 5}
transitions:
  - {name: infection, from: {health: S}, to: {health: E}, rate: 2,
     induced_by: {layer: contacts, state: {health: I}}}
  - {name: onset, from: {health: E}, to: {health: I}, rate: 3}
  - {name: recovery, from: {health: I}, to: {health: R}, rate: 3}
"""


def test_each_agent_makes_at_most_one_allowed_move_per_step():
    # rates of 2-3 per step: several moves per step would be common if they were allowed
    res = rs.run(_scenario(SEIR_FAST), replicates=3, seed=5, workers=1)
    allowed = {(0, 0), (1, 1), (2, 2), (3, 3), (0, 1), (1, 2), (2, 3)}
    for r in range(3):
        hist = rs.agent_history(res, replicate=r).astype(int)
        moves = set(zip(hist[:-1].ravel().tolist(), hist[1:].ravel().tolist()))
        assert moves <= allowed, moves - allowed
        assert (1, 2) in moves and (2, 3) in moves
        counts = np.stack([np.bincount(h, minlength=4) for h in hist])
        assert np.array_equal(counts, res.raw.counts[r])


def test_same_seed_gives_identical_arrays_at_any_worker_count():
    sc = _scenario(CRISIS)
    one = rs.run(sc, replicates=5, seed=7, workers=1).raw
    two = rs.run(sc, replicates=5, seed=7, workers=2).raw
    for field in ("counts", "fired", "signals", "signal_peak", "signal_peak_time",
                  "signal_time_above", "steps_run"):
        assert np.array_equal(getattr(one, field), getattr(two, field)), field
    other = rs.run(sc, replicates=5, seed=8, workers=2).raw
    assert not np.array_equal(one.counts, other.counts)
    # replicates of one run differ from each other too
    assert len({one.counts[r].tobytes() for r in range(5)}) == 5


@pytest.mark.parametrize("name", ["sir", "crisis", "watts"])
def test_compiled_kernel_matches_its_python_version(name, monkeypatch):
    """run_replicate.py_func (plain Python over the same jitted helpers) gives the same bytes."""
    text = CASES[name]
    sc = _scenario(text, ["population.agents=30"] if name != "crisis" else ["population.agents=40"])
    _, model, _ = rs.build(sc, seed=1)
    compiled = engine.run_replicates(model, 2, seed=6, workers=1)
    monkeypatch.setattr(engine, "run_replicate", run_replicate.py_func)
    python = engine.run_replicates(model, 2, seed=6, workers=1)
    for field in ("counts", "fired", "signals", "signal_peak", "signal_peak_time",
                  "signal_time_above", "steps_run"):
        assert np.array_equal(getattr(compiled, field), getattr(python, field)), field
    assert compiled.fired[:, -1].sum() > 0  # something happened


# --------------------------------------------------------- the exact per-step law

DECAY = """
name: decay
time: {dt: 0.5, until: 4, report_every: 0.5}
population: {agents: 20000}
network:
  layers:
    none: {generator: erdos_renyi, mean_degree: 0.0001}
traits:
  x: [a, b, c]
transitions:
  - {name: to_b, from: {x: a}, to: {x: b}, rate: 0.3}
"""


def test_spontaneous_survival_is_exp_minus_rate_times_t_at_any_dt():
    # Per step an agent leaves w.p. 1 - exp(-0.3 dt): survival to t is exp(-0.3 t) exactly.
    for dt in (0.5, 2.0):
        res = rs.run(_scenario(DECAY, [f"time.dt={dt}", "time.report_every=2"]),
                     replicates=1, seed=11, workers=1)
        t = res.model.info.report_times
        k = res.raw.counts[0, :, 0]
        i = int(np.searchsorted(t, 2.0))
        assert t[i] == pytest.approx(2.0)
        assert abs(_binomial_z(int(k[i]), 20000, np.exp(-0.6))) < Z


def test_per_step_probability_compounds_geometrically():
    text = DECAY.replace("rate: 0.3", "probability: 0.1")
    res = rs.run(_scenario(text, ["time.dt=1", "time.report_every=1", "time.until=10"]),
                 replicates=1, seed=12, workers=1)
    k5 = int(res.raw.counts[0, 5, 0])
    assert abs(_binomial_z(k5, 20000, 0.9 ** 5)) < Z


def test_competing_transitions_split_in_proportion_to_hazards():
    text = DECAY + "  - {name: to_c, from: {x: a}, to: {x: c}, rate: 0.9}\n"
    res = rs.run(_scenario(text, ["time.until=40", "time.report_every=40"]),
                 replicates=1, seed=13, workers=1)
    final = res.raw.counts[0, -1]
    assert final[0] == 0
    assert abs(_binomial_z(int(final[1]), 20000, 0.25)) < Z


def test_outcomes_split_a_firing_in_the_given_proportions():
    text = DECAY.replace(
        "to: {x: b}, rate: 0.3}",
        "to: [{state: {x: b}, p: 0.3}, {state: {x: c}, p: rest}], rate: 5}",
    )
    res = rs.run(_scenario(text, ["time.until=20"]), replicates=1, seed=14, workers=1)
    final = res.raw.counts[0, -1]
    assert final[0] == 0
    assert abs(_binomial_z(int(final[1]), 20000, 0.3)) < Z


STAR = """
name: stars
time: {dt: 1, until: 6, report_every: 1}
population: {agents: AGENTS}
network:
  layers:
    contacts: {generator: complete}
traits:
  health: [S, I, R]
seed:
  - {state: {health: I}, strategy: ids, ids: IDS}
transitions:
  - name: infection
    from: {health: S}
    to: {health: I}
    RULE
    induced_by: {layer: contacts, state: {health: I}}
"""


def _star_run(sizes, seeded, rule, seed=15, until=6):
    graph = _stars(sizes)
    n = graph.number_of_nodes()
    text = (STAR.replace("AGENTS", str(n)).replace("IDS", str(sorted(int(i) for i in seeded)))
            .replace("RULE", rule).replace("until: 6", f"until: {until}"))
    return rs.run(_scenario(text), replicates=1, seed=seed, workers=1,
                  network=_network("contacts", graph))


def test_induced_probability_compounds_over_infected_neighbours():
    # Centres with k infected leaves are infected in one step w.p. 1 - (1 - p)^k.
    sizes = [1] * 3000 + [3] * 3000
    centres, leaves = _centres_and_leaves(sizes)
    res = _star_run(sizes, leaves, "probability: 0.2", until=1)
    hist = rs.agent_history(res, 0)
    infected = hist[1, centres] == 1
    for k, block in ((1, infected[:3000]), (3, infected[3000:])):
        assert abs(_binomial_z(int(block.sum()), 3000, 1 - 0.8 ** k)) < Z


def test_induced_rate_is_per_infected_neighbour():
    # hazard = rate x infected neighbours: P(infected in one step) = 1 - exp(-rate k dt)
    sizes = [2] * 4000
    centres, leaves = _centres_and_leaves(sizes)
    res = _star_run(sizes, leaves, "rate: 0.3", until=1)
    infected = rs.agent_history(res, 0)[1, centres] == 1
    assert abs(_binomial_z(int(infected.sum()), 4000, 1 - np.exp(-0.6))) < Z


def test_probability_one_fires_surely_at_the_next_step():
    sizes = [2] * 200
    centres, leaves = _centres_and_leaves(sizes)
    res = _star_run(sizes, leaves[::2], "probability: 1.0", until=3)
    hist = rs.agent_history(res, 0)
    assert np.all(hist[0, centres] == 0)
    assert np.all(hist[1, centres] == 1)
    assert np.all(hist[1, leaves[1::2]] == 0)  # a leaf's only neighbour was S at step 0
    assert np.all(hist[2] == 1)


def test_updates_are_synchronous():
    # On a path with sure infection, step k infects exactly agent k: every decision in a
    # step reads the states at its start (a sequential sweep would infect all at once).
    n = 40
    text = (STAR.replace("AGENTS", str(n)).replace("IDS", "[0]")
            .replace("RULE", "probability: 1.0").replace("until: 6", "until: 20"))
    res = rs.run(_scenario(text), replicates=1, seed=16, workers=1,
                 network=_network("contacts", nx.path_graph(n)))
    infected = res.raw.counts[0, :, 1]
    assert infected.tolist() == list(range(1, 22))


THRESHOLD = """
name: threshold
time: {dt: 1, until: 5, report_every: 1}
population: {agents: AGENTS}
network:
  layers:
    friends: {generator: complete}
traits:
  opinion: [inactive, active]
seed:
  - {state: {opinion: active}, strategy: ids, ids: IDS}
transitions:
  - name: adoption
    from: {opinion: inactive}
    to: {opinion: active}
    threshold: {layer: friends, state: {opinion: active}, RULE}
"""


def _threshold_run(sizes, seeded, rule, until=5):
    graph = _stars(sizes)
    text = (THRESHOLD.replace("AGENTS", str(graph.number_of_nodes()))
            .replace("IDS", str(sorted(int(i) for i in seeded))).replace("RULE", rule)
            .replace("until: 5", f"until: {until}"))
    res = rs.run(_scenario(text), replicates=1, seed=17, workers=1,
                 network=_network("friends", graph))
    return rs.agent_history(res, 0)


def test_count_threshold_fires_exactly_when_reached():
    sizes = [2, 3, 4] * 50
    centres, leaves = _centres_and_leaves(sizes)
    hist = _threshold_run(sizes, leaves, "count: 3")
    fired = hist[-1, centres] == 1
    assert np.array_equal(fired, np.array(sizes) >= 3)
    assert np.all(hist[1, centres] == hist[-1, centres])  # at the first step, or never


@pytest.mark.parametrize("theta, fires", [(0.25, True), (0.2501, False)])
def test_fraction_threshold_fires_exactly_when_reached(theta, fires):
    # centres of 4-leaf stars with one active leaf see a fraction of exactly 1/4
    sizes = [4] * 100
    centres, leaves = _centres_and_leaves(sizes)
    hist = _threshold_run(sizes, leaves[::4], f"fraction: {theta}")
    assert np.all(hist[1, centres] == int(fires))
    if fires:  # then the other leaves see their only friend active: fraction 1
        assert np.all(hist[2] == 1)
    else:
        assert hist[-1].sum() == 100


def test_complete_graph_counts_leave_the_agent_itself_out():
    # A lone spreader on the complete graph has no *other* spreader: its stifling hazard
    # (rate per other spreader) is zero, so without telling nothing ever happens.
    text = RUMOR.replace("rate: 0.005,\n     induced_by: {layer: everyone, state: {rumor: spreader}}}",
                         "rate: 0.0,\n     induced_by: {layer: everyone, state: {rumor: spreader}}}")
    text = text.replace("rate: 0.005,\n     induced_by: {layer: everyone, state: {rumor: [spreader, stifler]}}",
                        "rate: 50,\n     induced_by: {layer: everyone, state: {rumor: [spreader, stifler]}}")
    sc = _scenario(text)
    assert sc.transitions[0].rate == 0 and sc.transitions[1].rate == 50
    res = rs.run(sc, replicates=3, seed=18, workers=1)
    assert np.all(res.raw.counts[:, -1, 1] == 1)
    # with two spreaders each sees one other: both stop within a step at this rate
    res = rs.run(_scenario(text.replace("count: 1", "count: 2")), replicates=3, seed=18, workers=1)
    assert np.all(res.raw.counts[:, -1, 2] == 2)


def test_signals_at_time_zero_see_the_time_zero_seeds():
    import rumorsim as rs

    sc = rs.load("classic/sir", ["population.agents=500", "time.until=5",
                                 "signals.infected={kind: count, state: {health: I}, per: agents}"])
    res = rs.run(sc, replicates=2, seed=1, workers=1)
    assert (res.signal_array("infected")[:, 0] == res.raw.counts[:, 0, 1]).all()
    assert res.raw.counts[0, 0, 1] == 10


# --------------------------------------------------------- edge pushes vs neighbour counts
# Induced transitions that allow it are served by per-edge pushes (kernel.py, "edge pushes"):
# one draw per source visit and edge instead of a neighbour count and a re-draw of the
# target each time the count moves. It must be the same stochastic process: on one graph,
# the pushed and the counted kernels (compile_model(edge_push=False)) give final sizes
# from the same distribution (two-sample KS) and the same mean epidemic curve (Welch z
# at every report, |z| <= 4.5 over ~20 reports: a family-wise level of ~1e-4).

PUSH_CASES = {
    # sources with a drawn exit: windows of many steps (truncated geometric delays)
    "sir": ("[S, I, R]", "rate: 0.5", "- {name: recovery, from: {h: I}, to: {h: R}, rate: 1.0}",
            "time: {dt: 0.1, until: 12, report_every: 0.6}"),
    # one-step windows (independent cascade, discrete SIR)
    "cascade": ("[S, I, R]", "probability: 0.25",
                "- {name: spent, from: {h: I}, to: {h: R}, probability: 1.0}",
                "time: {dt: 1, until: 20, report_every: 1}"),
    # targets re-entered during the run: they pull from sources already in their windows
    "sis": ("[S, I]", "rate: 0.6", "- {name: recovery, from: {h: I}, to: {h: S}, rate: 1.0}",
            "time: {dt: 0.2, until: 10, report_every: 0.5}"),
    # sources seeded by an event in mid-run (their visits dated by the event's step),
    # pulled from by targets that re-enter later
    "sis_seeded_later": ("[S, I]", "rate: 0.6",
                         "- {name: recovery, from: {h: I}, to: {h: S}, rate: 1.0}\n"
                         "interventions:\n"
                         "  more: {kind: seed, at: 2.0, state: {h: I}, count: 120}",
                         "time: {dt: 0.2, until: 10, report_every: 0.5}"),
    # a source that never leaves (window to the end of the run)
    "si": ("[S, I]", "probability: 0.05", "",
           "time: {dt: 1, until: 15, report_every: 1}"),
    # a source state reached through another state, leaving by two competing rules
    "seir": ("[S, E, I, R, D]", "rate: 0.7",
             "- {name: onset, from: {h: E}, to: {h: I}, rate: 2.0}\n"
             "  - {name: recovery, from: {h: I}, to: {h: R}, rate: 0.8}\n"
             "  - {name: death, from: {h: I}, to: {h: D}, rate: 0.2}",
             "time: {dt: 0.25, until: 15, report_every: 0.75}"),
}

PUSH_TEMPLATE = """
name: push vs count
TIME
population: {agents: 1500}
network:
  layers:
    contacts: {generator: erdos_renyi, mean_degree: 4}
traits:
  h: STATES
seed:
  - {state: {h: I}, count: 15}
transitions:
  - name: infection
    from: {h: S}
    to: {h: TARGET}
    RULE
    induced_by: {layer: contacts, state: {h: I}}
  OTHERS
"""


def _push_case(name: str):
    states, rule, others, time_line = PUSH_CASES[name]
    target = "E" if name == "seir" else "I"
    text = (PUSH_TEMPLATE.replace("TIME", time_line).replace("STATES", states)
            .replace("RULE", rule).replace("OTHERS", others).replace("TARGET", target)
            )
    return _scenario(text)


@pytest.mark.parametrize("name", sorted(PUSH_CASES))
def test_edge_pushes_realise_the_same_process_as_neighbour_counts(name):
    from scipy.stats import ks_2samp
    from rumorsim.model import compile_model

    sc = _push_case(name)
    graph = nx.barabasi_albert_graph(1500, 2, seed=11)  # heavy-tailed: hubs push many edges
    net = _network("contacts", graph)
    pushed = compile_model(sc, net, edge_push=True)
    counted = compile_model(sc, net, edge_push=False)
    assert pushed.kernel_args.ctr_push[0] == 1 and counted.kernel_args.ctr_push[0] == 0
    R = 400
    a = engine.run_replicates(pushed, R, seed=21, workers=1)
    b = engine.run_replicates(counted, R, seed=22, workers=1)
    # conservation on the pushed path at every report
    assert (a.counts.sum(axis=2) == 1500).all()
    never = 0  # agents still in the first state at the end
    fa, fb = a.counts[:, -1, never], b.counts[:, -1, never]
    if fa.std() + fb.std() > 0:
        assert ks_2samp(fa, fb).pvalue > 1e-4, (fa.mean(), fb.mean())
    for s in range(a.counts.shape[2]):
        ma, mb = a.counts[:, :, s].mean(axis=0), b.counts[:, :, s].mean(axis=0)
        se = np.sqrt(a.counts[:, :, s].var(axis=0) / R + b.counts[:, :, s].var(axis=0) / R)
        z = np.where(se > 0, (ma - mb) / np.where(se > 0, se, 1), 0.0)
        assert np.abs(z).max() <= 4.5, (s, np.abs(z).max())
    assert a.fired[:, -1, 0].mean() > 100  # a real epidemic, not a few seeds


def test_edge_pushes_serve_only_the_models_that_allow_them():
    for name, pushed in (("classic/sir", True), ("classic/independent_cascade", True),
                         ("classic/sis", True), ("classic/seir", True),
                         ("classic/maki_thompson", False), ("classic/watts_threshold", False),
                         ("classic/seiz", False), ("wechat_leak_2016", False)):
        sc = rs.load(name, ["population.agents=300"])
        _, model, _ = rs.build(sc, seed=0)
        assert bool(model.kernel_args.ctr_push.any()) == pushed, name


# ------------------------------------------------- the interface and the named phases

def test_kernel_arrays_are_exactly_run_replicates_parameters():
    """KernelArrays' fields (kernel_arrays.FIELDS) are run_replicate's parameters between
    the RNG state and the outputs, in order: passing ``*arrays`` cannot shift an array
    into another's place."""
    import inspect

    from rumorsim.kernel_arrays import FIELDS, KernelArrays

    params = list(inspect.signature(run_replicate.py_func).parameters)
    outputs = ["out_counts", "out_fired", "out_signals", "out_sig_peak", "out_sig_peak_time",
               "out_sig_above", "out_agent_states", "records"]
    assert params == ["rng", *KernelArrays._fields, *outputs]
    assert list(KernelArrays._fields) == [f[0] for f in FIELDS]
    assert len(set(KernelArrays._fields)) == len(FIELDS)


@pytest.mark.parametrize("name", ["sir", "crisis", "watts"])
def test_compiled_arrays_have_the_declared_dtypes_and_dimensions(name):
    from rumorsim.kernel_arrays import check_arrays

    sc = _scenario(CASES[name], ["population.agents=30"])
    _, model, _ = rs.build(sc, seed=1)
    check_arrays(model.kernel_args)  # raises on any disagreement with FIELDS
    bad = model.kernel_args._replace(st_tr=model.kernel_args.st_tr.astype(np.int64))
    with pytest.raises(TypeError, match="st_tr"):
        check_arrays(bad)


def test_outcome_probabilities_match_a_numpy_reference():
    """Fixed, signal-given (clipped, complemented) and "rest" outcomes; sums above 1 scaled."""
    from rumorsim.kernel import _outcome_probabilities

    sig = np.array([0.25, 1.7, -0.2])
    # t0: 0.3 fixed + rest; t1: signal 0 + complement of signal 0; t2: 0.8 + clip(1.7) -> scaled;
    # t3: one outcome, p 1; t4: complement of a negative signal (clipped to 0 -> 1) + rest
    n_out = np.array([2, 2, 2, 1, 2], np.int32)
    out_p = np.array([[0.3, 0], [0, 0], [0.8, 0], [1.0, 0], [0, 0]])
    out_sig = np.array([[-1, -1], [0, 0], [-1, 1], [-1, -1], [2, -1]], np.int32)
    comp = np.array([[0, 0], [0, 1], [0, 0], [0, 0], [1, 0]], np.uint8)
    rest = np.array([[0, 1], [0, 0], [0, 0], [0, 0], [0, 1]], np.uint8)
    cum = np.zeros((5, 2))
    _outcome_probabilities(sig, n_out, out_p, out_sig, comp, rest, cum)
    want = np.array([[0.3, 1.0], [0.25, 1.0], [0.8 / 1.8, 1.0], [1.0, 0.0], [1.0, 1.0]])
    assert np.allclose(cum, want, rtol=0, atol=1e-15)
    py = np.zeros((5, 2))
    _outcome_probabilities.py_func(sig, n_out, out_p, out_sig, comp, rest, py)
    assert np.array_equal(py, cum)


def test_modulation_factors_match_a_numpy_reference():
    """prod over a transition's modulations of max(0, 1 + gain x signal); times the
    activity only for the transitions that follow it."""
    from rumorsim.kernel import _modulation

    rng = np.random.default_rng(3)
    sig = rng.uniform(0, 2, 4)
    mod_ptr = np.array([0, 0, 2, 3, 5], np.int64)
    mod_sig = np.array([0, 3, 1, 2, 0], np.int32)
    mod_gain = np.array([0.5, -2.0, 1.5, 0.1, 3.0])
    tr_act = np.array([1, 0, 1, 0], np.uint8)
    modm, mult = np.zeros(4), np.zeros(4)
    _modulation(0.4, sig, mod_ptr, mod_sig, mod_gain, tr_act, modm, mult)
    want = np.ones(4)
    for t in range(4):
        for q in range(mod_ptr[t], mod_ptr[t + 1]):
            want[t] *= max(0.0, 1 + mod_gain[q] * sig[mod_sig[q]])
    assert np.allclose(modm, want, rtol=1e-15)
    assert np.allclose(mult, want * np.where(tr_act == 1, 0.4, 1.0), rtol=1e-15)


def test_signal_peaks_and_time_above_alert():
    from rumorsim.kernel import _track_signals

    peak = np.full(2, -np.inf)
    when = np.zeros(2)
    above = np.zeros(2)
    alert = np.array([1.0, np.inf])
    for k, values in enumerate([(0.5, 3.0), (2.0, 1.0), (2.0, 4.0), (0.1, 0.0)]):
        _track_signals(np.array(values), k * 0.5, 0.5, alert, peak, when, above)
    # the first time a peak is reached stands (a later equal value does not move it)
    assert peak.tolist() == [2.0, 4.0] and when.tolist() == [0.5, 1.0]
    assert above.tolist() == [1.0, 0.0]


def test_rescan_lists_every_agent_whose_routing_does_something():
    from rumorsim.kernel import _rescan

    state = np.array([0, 1, 2, 1, 0, 2], np.int32)
    sched = np.array([-1, -1, -1, 5, -1, -1], np.int32)
    st_idle = np.array([0, 1, 0], np.uint8)      # state 1: nothing to route
    st_push_tr = np.array([-1, -1, 0], np.int32)  # state 2: a push target
    for start_push, want in ((False, [0, 2, 3, 4, 5]), (True, [0, 3, 4])):
        is_dirty = np.full(6, 7, np.int32)
        dirty = np.full(6, -1, np.int32)
        n = _rescan(start_push, state, sched, st_idle, st_push_tr, is_dirty, dirty)
        assert dirty[:n].tolist() == want  # (state 1 with a pending entry: routed to void it)
        assert is_dirty.tolist() == [int(i in want) for i in range(6)]


def test_push_calendar_pop_keeps_only_current_candidates_and_frees_its_blocks():
    from rumorsim.kernel import NEVER, _BLOCK, _blocks_new, _cal_flush, _pop_pushed

    n_steps, n_agents = 5, 100
    head = np.full(n_steps + 1, -1, np.int64)
    count = np.zeros(n_steps + 1, np.int64)
    ent, nxt = _blocks_new(4)
    pvisit = np.zeros(n_agents, np.int32)
    pwhen = np.full(n_agents, NEVER, np.int32)
    agents = np.arange(n_agents, dtype=np.int32)
    when = np.where(agents % 3 == 0, 2, 3).astype(np.int32)
    pwhen[:] = when
    pvisit[agents % 10 == 0] = 1  # a new visit since: their entries (stamped 0) are void
    pwhen[agents % 7 == 0] = 4    # an earlier entry was superseded by a later candidate
    ent, nxt, free, n_free = _cal_flush(n_agents, agents, np.zeros(n_agents, np.int32), when,
                                        n_steps, head, count, ent, nxt, 0, 4)
    blocks = nxt.shape[0]
    now = np.empty(n_agents, np.int32)
    n_now, free, n_free = _pop_pushed(2, head, count, ent, nxt, free, n_free, pvisit, pwhen, now, 0)
    want = [i for i in range(n_agents) if i % 3 == 0 and i % 10 and i % 7]
    assert sorted(now[:n_now].tolist()) == want
    assert head[2] == -1 and count[2] == 0
    in_use = -(-int((when == 3).sum()) // _BLOCK)  # step 3's bucket still holds its blocks
    assert n_free == blocks - in_use


def test_top_degree_broadcast_reaches_exactly_the_top_share():
    """A broadcast with ``select: top_degree, reach: 0.1`` reaches the 10 % best-connected
    agents, every one of them: with a sure effect (p = 1) exactly the 10 star centres of
    ten 9-leaf stars move, and no leaf. (Thinning the listed hubs by ``reach`` a second
    time would move about one centre in ten: reach squared.)"""
    text = """
name: top-degree broadcast
time: {dt: 1, until: 4}
population: {agents: 100}
network:
  layers:
    friends: {generator: erdos_renyi, mean_degree: 2}
traits:
  view: [unaware, told]
transitions:
  - {name: forget, from: {view: told}, to: {view: unaware}, rate: 0.0}
interventions:
  announce:
    kind: broadcast
    at: 2
    reach: 0.1
    select: top_degree
    effects: [{from: {view: unaware}, to: {view: told}, p: 1.0}]
"""
    stars = _stars([9] * 10)
    centres, leaves = _centres_and_leaves([9] * 10)
    sc = _scenario(text)
    history = None
    for seed in (1, 2, 3):
        res = rs.run(sc, replicates=1, seed=seed, graphs={"friends": stars}, workers=1)
        history = rs.agent_history(res, 0)
        told = history[-1] == 1
        assert told[centres].all() and not told[leaves].any()
        assert told.sum() == 10
    # and nobody before the broadcast's date
    assert (history[0] == 0).all()


# ------------------------------------------------------- seeds by count: O(count) draws
# ``_draw_distinct`` chooses a few agents among many by rejection. Each test draws
# subsets many times from one fixed stream and compares their frequencies with the
# uniform law by Pearson's chi-square; the cells are exact multinomial counts (one cell
# per possible subset), so the statistic is chi-square with (cells - 1) degrees of
# freedom, and we accept it below its 0.9999 quantile (a correct sampler fails once in
# 10^4 runs; a sampler that favours some agents by a few per cent is caught).


def _subset_frequencies(n_list, want, trials, listed=False, ids=None, state=None,
                        among=None, seed=3):
    from itertools import combinations

    from rumorsim.kernel import _draw_distinct
    from rumorsim.rng import new_state

    rng = new_state(seed)
    state = np.zeros(n_list, np.int16) if state is None else state
    among = np.ones(1, np.uint8) if among is None else among
    ids = np.zeros(0, np.int32) if ids is None else ids
    chosen = np.empty(want, np.int64)
    agents = ids if listed else np.arange(n_list)
    eligible = [int(a) for a in agents if among[state[a]]]
    cells = {c: 0 for c in combinations(sorted(eligible), want)}
    for _ in range(trials):
        assert _draw_distinct(rng, want, n_list, listed, ids, 0, among, state, chosen) == want
        key = tuple(int(a) for a in chosen)
        assert key in cells, f"{key}: not {want} distinct eligible agents in list order"
        cells[key] += 1
    return np.array(list(cells.values()))


def _chi_square_ok(freq):
    from scipy.stats import chi2

    expected = freq.sum() / len(freq)
    stat = ((freq - expected) ** 2 / expected).sum()
    return stat, chi2.ppf(0.9999, len(freq) - 1)


def test_seeds_by_count_are_a_uniform_subset_of_everyone():
    """2 of 20 agents, 19,000 draws: each of the 190 pairs about 100 times."""
    stat, limit = _chi_square_ok(_subset_frequencies(20, 2, 19_000))
    assert stat < limit, (stat, limit)


def test_seeds_by_count_respect_eligibility_and_stay_uniform_among_the_eligible():
    """Agents in state 1 are not eligible (``among``); 2 of the 18 eligible of 36 agents,
    15,300 draws: each of the 153 eligible pairs about 100 times, no other pair ever."""
    state = np.zeros(36, np.int16)
    state[::2] = 1
    freq = _subset_frequencies(36, 2, 15_300, state=state, among=np.array([1, 0], np.uint8))
    assert len(freq) == 153
    stat, limit = _chi_square_ok(freq)
    assert stat < limit, (stat, limit)


def test_seeds_by_count_from_a_list_draw_its_members_in_list_order():
    """A listed set (a community): 1 of its 12 members, mapped through the list."""
    ids = np.array([40, 3, 17, 8, 25, 31, 2, 11, 19, 36, 6, 29], np.int32)
    freq = _subset_frequencies(12, 1, 6_000, listed=True, ids=ids,
                               state=np.zeros(41, np.int16))
    stat, limit = _chi_square_ok(freq)
    assert stat < limit, (stat, limit)


def test_a_seed_among_some_states_moves_exactly_its_count_out_of_them():
    """Through the kernel: 5 infected among the 300 susceptible of 3,000 agents (the
    rejection path with most agents ineligible) - the counts at time 0 are exact."""
    sc = _scenario("""
name: a seed among the susceptible
time: {dt: 0.1, until: 1, report_every: 1}
population: {agents: 3000}
network: {layers: {contacts: {generator: erdos_renyi, mean_degree: 6}}}
traits: {h: [absent, S, I, R]}
seed:
  - {state: {h: S}, fraction: 0.1, strategy: random}
  - {state: {h: I}, count: 5, strategy: random, among: {h: S}}
transitions:
  - {name: infection, from: {h: S}, to: {h: I}, rate: 0.5, induced_by: {layer: contacts, state: {h: I}}}
  - {name: recovery, from: {h: I}, to: {h: R}, rate: 1.0}
""")
    res = rs.run(sc, replicates=20, seed=4, workers=1)
    first = res.raw.counts[:, 0, :]  # (replicate, joint state) at t = 0
    assert (first[:, 0] == 2700).all() and (first[:, 1] == 295).all() and (first[:, 2] == 5).all()


def test_seeds_by_count_among_many_draw_about_one_number_per_seed():
    """300 seeds among 300,000 agents: the stream advances by about 300 draws (a few
    more for repeats), not one per agent - what makes a replicate cost what it reaches."""
    from rumorsim.kernel import _draw_distinct
    from rumorsim.rng import new_state, next_u64

    rng = new_state(11)
    before = rng.copy()
    state = np.zeros(300_000, np.int16)
    chosen = np.empty(300, np.int64)
    _draw_distinct(rng, 300, 300_000, False, np.zeros(0, np.int32), 0, np.ones(1, np.uint8),
                   state, chosen)
    draws = 0
    while not np.array_equal(before, rng) and draws < 1000:
        next_u64(before)
        draws += 1
    assert 300 <= draws < 310, draws
    assert len(set(chosen.tolist())) == 300
