"""Directed and weighted layers: which way influence flows, and how much it weighs.

DESIGN.md ("Model semantics"): on a directed layer an edge ``u -> v`` means ``v`` sees
``u``, and an induced transition's hazard is rate x the number, or the weight sum, of
matching *in*-neighbours; a threshold fraction is the matching share of the in-strength.

* Direction, exactly. With ``probability: 1`` per infected in-neighbour and step, an
  agent is infected at the step after its first in-neighbour is: on a directed path
  seeded in the middle, agent ``seed + k`` is infected at step k and nobody upstream
  ever is; on an out-star every leaf is infected at step 1, on an in-star none is. Run
  both ways the kernel serves an induced transition (per-edge pushes, and neighbour
  counts), and with edges read from a file (``directed: true``, ``reverse: true``) and
  given as a networkx DiGraph.
* Weights, in law. A star centre whose in-edges from infected leaves weigh w_1..w_k
  is infected in one step with probability p(W) = 1 - exp(-rate * W * dt), W = sum w.
  Thousands of disjoint stars per replicate give independent Bernoulli(p(W)) trials, so
  the number infected in n trials is Binomial(n, p(W)) and |z| < 4 is a two-sided test
  of level 6e-5 per group. The groups are chosen so that the plausible bugs move p by
  many standard deviations (listed on each test).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import rumorsim as rs
from rumorsim.engine import record_agent_states
from rumorsim.model import compile_model
from rumorsim.scenario import parse_scenario

Z = 4.0

SI = """
name: {name}
time: {{dt: {dt}, until: {until}, report_every: {dt}}}
population: {{agents: {agents}}}
network:
  layers:
    follows: {layer}
traits:
  health: [S, I]
seed:
  - {{state: {{health: I}}, strategy: ids, ids: {seeds}}}
transitions:
  - name: infection
    from: {{health: S}}
    to: {{health: I}}
    {how}
    induced_by: {{layer: follows, state: {{health: I}}}}
"""


def si_scenario(folder: Path, *, agents: int, layer: str, seeds, how: str = "probability: 1",
                dt: float = 1.0, until: float = 12.0, name: str = "SI"):
    text = SI.format(name=name, dt=dt, until=until, agents=agents, layer=layer,
                     seeds=list(map(int, seeds)), how=how)
    return parse_scenario(text, str(folder / "scenario.yaml"))


def write_edges(folder: Path, edges, weights=None, name: str = "edges.txt") -> str:
    lines = [f"{u} {v}" + ("" if weights is None else f" {w!r}")
             for (u, v), w in zip(edges, weights if weights is not None else [None] * len(edges))]
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return name


def infection_steps(sc, *, edge_push: bool, graphs=None, seed: int = 1) -> np.ndarray:
    """Each agent's first report index in state I (reports every step), -1 if never."""
    if graphs:
        from rumorsim.api import network_from_graphs

        net = network_from_graphs(sc, graphs, seed=seed)
    else:
        net, _, _ = rs.build(sc, seed=seed)
    model = compile_model(sc, net, edge_push=edge_push)
    # the push path must really be taken (else the two runs test the same code)
    pushed = bool((model.kernel_args.st_push_tr >= 0).any())
    assert pushed == edge_push
    history = record_agent_states(model, seed, 0)
    infected = history == 1
    return np.where(infected.any(axis=0), infected.argmax(axis=0), -1)


# --------------------------------------------------------------------- direction


@pytest.mark.parametrize("edge_push", [True, False], ids=["edge-push", "counts"])
def test_influence_flows_only_along_a_directed_path(tmp_path, edge_push):
    """Path 0 -> 1 -> ... -> 9 seeded at 3: agent 3 + k at step k, agents 0-2 never.

    A flipped edge direction infects 2, 1, 0 instead; an undirected reading infects both.
    """
    name = write_edges(tmp_path, [(i, i + 1) for i in range(9)])
    layer = f"{{generator: edgelist, path: {name}, directed: true, relabel: false}}"
    sc = si_scenario(tmp_path, agents=10, layer=layer, seeds=[3])
    steps = infection_steps(sc, edge_push=edge_push)
    assert steps.tolist() == [-1, -1, -1, 0, 1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("edge_push", [True, False], ids=["edge-push", "counts"])
def test_reverse_flips_an_edge_list(tmp_path, edge_push):
    """``reverse: true`` reads ``u v`` as ``v -> u`` (follower lists): the path runs backwards."""
    name = write_edges(tmp_path, [(i, i + 1) for i in range(9)])
    layer = f"{{generator: edgelist, path: {name}, directed: true, reverse: true, relabel: false}}"
    sc = si_scenario(tmp_path, agents=10, layer=layer, seeds=[3])
    steps = infection_steps(sc, edge_push=edge_push)
    assert steps.tolist() == [3, 2, 1, 0, -1, -1, -1, -1, -1, -1]


@pytest.mark.parametrize("edge_push", [True, False], ids=["edge-push", "counts"])
def test_out_star_reaches_every_leaf_and_in_star_none(tmp_path, edge_push):
    """Agents 0-5 form an out-star (0 -> leaf), agents 6-11 an in-star (leaf -> 6).

    Seeding both centres: every out-leaf at step 1, no in-leaf ever. Seeding in-leaf 7
    too: centre 6 is already infected, and 7's infection reaches nobody else (its only
    edge points at 6), so the in-star's other leaves stay susceptible.
    """
    edges = [(0, k) for k in range(1, 6)] + [(k, 6) for k in range(7, 12)]
    name = write_edges(tmp_path, edges)
    layer = f"{{generator: edgelist, path: {name}, directed: true, relabel: false}}"
    sc = si_scenario(tmp_path, agents=12, layer=layer, seeds=[0, 6, 7])
    steps = infection_steps(sc, edge_push=edge_push)
    assert steps.tolist() == [0, 1, 1, 1, 1, 1, 0, 0, -1, -1, -1, -1]
    # a leaf of the in-star infects the centre, and only it
    sc = si_scenario(tmp_path, agents=12, layer=layer, seeds=[8])
    steps = infection_steps(sc, edge_push=edge_push)
    assert steps.tolist() == [-1] * 6 + [1, -1, 0, -1, -1, -1]


def test_networkx_digraph_keeps_its_direction(tmp_path):
    """The same path given as ``nx.DiGraph`` (``rs.run(graphs=...)``) spreads the same way."""
    layer = "{generator: complete, directed: true}"  # replaced by the graph below
    sc = si_scenario(tmp_path, agents=10, layer=layer, seeds=[3])
    graph = nx.DiGraph([(i, i + 1) for i in range(9)])
    for edge_push in (True, False):
        steps = infection_steps(sc, edge_push=edge_push, graphs={"follows": graph})
        assert steps.tolist() == [-1, -1, -1, 0, 1, 2, 3, 4, 5, 6]


def test_threshold_counts_in_neighbours_only(tmp_path):
    """A threshold of one active friend, on a directed layer: 0 -> 1 -> 2 and 3 -> 0.

    Seeding 0 activates 1 at step 1 and 2 at step 2; 3 (an in-neighbour of 0, not an
    out-neighbour) never. Counting out-neighbours would activate 3 and nobody else.
    """
    name = write_edges(tmp_path, [(0, 1), (1, 2), (3, 0)])
    text = f"""
name: directed threshold
time: {{dt: 1, until: 6, report_every: 1}}
population: {{agents: 4}}
network:
  layers:
    follows: {{generator: edgelist, path: {name}, directed: true, relabel: false}}
traits:
  opinion: [inactive, active]
seed:
  - {{state: {{opinion: active}}, strategy: ids, ids: [0]}}
transitions:
  - name: adoption
    from: {{opinion: inactive}}
    to: {{opinion: active}}
    threshold: {{layer: follows, state: {{opinion: active}}, count: 1}}
"""
    sc = parse_scenario(text, str(tmp_path / "threshold.yaml"))
    net, model, _ = rs.build(sc, seed=1)
    history = record_agent_states(model, 1, 0)
    active = history == 1
    first = np.where(active.any(axis=0), active.argmax(axis=0), -1)
    assert first.tolist() == [0, 1, 2, -1]


# ------------------------------------------------------------------------ weights

#: Star types: the weights of a centre's in-edges from its (infected) leaves.
STARS = {
    "one edge, w = 1": [1.0],
    "two edges, w = 0.25 each": [0.25, 0.25],
    "one edge, w = 2.5": [2.5],
    "three edges, w = 0.5, 1.5, 3": [0.5, 1.5, 3.0],
}
RATE, DT = 0.1, 1.0


def star_graph(per_type: int):
    """Disjoint weighted stars: (edges, weights, centres by type, leaves)."""
    edges, weights, centres, leaves = [], [], {}, []
    node = 0
    for kind, ws in STARS.items():
        centres[kind] = []
        for _ in range(per_type):
            c = node
            centres[kind].append(c)
            for j, w in enumerate(ws):
                edges.append((c + 1 + j, c))
                weights.append(w)
                leaves.append(c + 1 + j)
            node += 1 + len(ws)
    return edges, weights, {k: np.array(v) for k, v in centres.items()}, np.array(leaves), node


def one_step_infections(res, centres) -> dict:
    """Per star type: (centres infected in the first step, trials) over all replicates."""
    hits = {k: 0 for k in centres}
    for r in range(res.n_replicates):
        after_one_step = rs.agent_history(res, r)[1] == 1
        for kind, c in centres.items():
            hits[kind] += int(after_one_step[c].sum())
    return {k: (hits[k], res.n_replicates * len(c)) for k, c in centres.items()}


def assert_binomial(hits: dict, p_of):
    for kind, (k, n) in hits.items():
        p = p_of(sum(STARS[kind]))
        z = (k - n * p) / np.sqrt(n * p * (1 - p))
        assert abs(z) < Z, (kind, k / n, p, z)


def test_induced_hazard_is_rate_times_weight_sum(tmp_path):
    """Weighted edge list (``weighted: true``, directed leaf -> centre), 2,000 stars per type.

    8 replicates x 2,000 = 16,000 trials per type: sd(p hat) <= 0.0039, so |z| < 4 is a
    band of +-0.016 around p(W) = 1 - exp(-0.1 W): 0.0952, 0.0488, 0.221, 0.393. Bugs it
    sees: weights ignored (two 0.25-edges would give 0.181, z ~ 60; three edges 0.259,
    z ~ -35), rate x dt instead of 1 - exp(-rate dt) (W = 5: 0.5, z ~ 28), the hazard
    of one edge only (W = 5 -> 0.5 or 3: p 0.049 or 0.26).
    """
    edges, weights, centres, leaves, n = star_graph(2000)
    name = write_edges(tmp_path, edges, weights)
    layer = f"{{generator: edgelist, path: {name}, directed: true, weighted: true, relabel: false}}"
    sc = si_scenario(tmp_path, agents=n, layer=layer, seeds=leaves, how=f"rate: {RATE}",
                     dt=DT, until=DT)
    res = rs.run(sc, replicates=8, seed=77, workers=2)
    assert res.network.layers[0].weighted
    assert_binomial(one_step_infections(res, centres), lambda w: -np.expm1(-RATE * w * DT))


def test_networkx_weights_and_a_layer_weight_factor(tmp_path):
    """The same law with weights from an undirected ``nx.Graph``'s ``weight`` attributes,
    and from an unweighted edge list with a layer ``weight: 2.5`` (every edge weighs 2.5).

    Undirected: a centre's in-edges are its edges to the leaves (the leaves, infected from
    the start, cannot change). 1,000 stars per type and 8 replicates: sd(p hat) <= 0.0055.
    Layer factor ignored: p = 0.0952 instead of 0.221 (8,000 trials, z ~ -27).
    """
    edges, weights, centres, leaves, n = star_graph(1000)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_weighted_edges_from((u, v, w) for (u, v), w in zip(edges, weights))
    sc = si_scenario(tmp_path, agents=n, layer="{generator: complete}", seeds=leaves,
                     how=f"rate: {RATE}", dt=DT, until=DT)
    res = rs.run(sc, replicates=8, seed=78, workers=2, graphs={"follows": graph})
    assert_binomial(one_step_infections(res, centres), lambda w: -np.expm1(-RATE * w * DT))

    one = {"one edge, w = 1": centres["one edge, w = 1"]}
    single = [(u, v) for (u, v) in edges if v in set(one["one edge, w = 1"].tolist())]
    name = write_edges(tmp_path, single, name="plain.txt")
    layer = f"{{generator: edgelist, path: {name}, directed: true, weight: 2.5, relabel: false}}"
    sc = si_scenario(tmp_path, agents=n, layer=layer, seeds=[u for u, _ in single],
                     how=f"rate: {RATE}", dt=DT, until=DT)
    res = rs.run(sc, replicates=8, seed=79, workers=2)
    (k, trials), = one_step_infections(res, one).values()
    p = -np.expm1(-RATE * 2.5 * DT)
    assert abs(k - trials * p) < Z * np.sqrt(trials * p * (1 - p)), (k / trials, p)


def test_threshold_fraction_is_a_share_of_the_in_strength(tmp_path):
    """Centre 2 has in-edges from 0 (weight 3) and 1 (weight 1); its threshold is 0.7.

    Active 0 alone: 3 / 4 = 0.75 >= 0.7, fires at step 1. Active 1 alone: 1 / 4 < 0.7,
    never. Unweighted, both would be 1 / 2 (never); weights read backwards, the reverse.
    """
    name = write_edges(tmp_path, [(0, 2), (1, 2)], [3.0, 1.0])
    for seed_id, expected in ((0, 1), (1, -1)):
        text = f"""
name: weighted threshold
time: {{dt: 1, until: 4, report_every: 1}}
population: {{agents: 3}}
network:
  layers:
    follows: {{generator: edgelist, path: {name}, directed: true, weighted: true, relabel: false}}
traits:
  opinion: [inactive, active]
seed:
  - {{state: {{opinion: active}}, strategy: ids, ids: [{seed_id}]}}
transitions:
  - name: adoption
    from: {{opinion: inactive}}
    to: {{opinion: active}}
    threshold: {{layer: follows, state: {{opinion: active}}, fraction: 0.7}}
"""
        sc = parse_scenario(text, str(tmp_path / "t.yaml"))
        _, model, _ = rs.build(sc, seed=1)
        active = record_agent_states(model, 1, 0)[:, 2] == 1
        assert (int(active.argmax()) if active.any() else -1) == expected, seed_id
