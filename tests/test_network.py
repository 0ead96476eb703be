"""Building layers from specs: edge lists, networkx graphs, complete layers, seeds."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from rumorsim.errors import NetworkError
from rumorsim.network import (
    AUTO_NATIVE_ABOVE,
    Layer,
    Network,
    build_layer,
    build_network,
    complete_layer,
    csr_from_edges,
    layer_from_networkx,
)
from rumorsim.scenario import LayerSpec, NetworkSpec

DATA = Path(__file__).resolve().parents[1] / "scenarios" / "data"
FACEBOOK = DATA / "facebook_combined.txt.gz"
EMAIL = DATA / "email-Eu-core.txt.gz"


def edgelist(path, n, **kw) -> Layer:
    return build_layer("e", LayerSpec(generator="edgelist", path=str(path), **kw), n, 0)


def write(tmp_path: Path, text: str, name: str = "g.txt") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode())
    return p


def neighbours(lay: Layer, u: int) -> list[int]:
    return lay.indices[lay.indptr[u]:lay.indptr[u + 1]].tolist()


# -------------------------------------------------------------- real data sets


def test_facebook_edge_list_loads_with_snap_statistics():
    lay = edgelist(FACEBOOK, 4039)
    assert (lay.n_agents, lay.n_edges) == (4039, 88234)
    assert lay.builder == "edgelist" and not lay.directed and lay.weights is None
    s = lay.stats()
    json.dumps(s)
    assert s["max_degree"] == 1045 and s["isolated"] == 0
    assert s["clustering"] == pytest.approx(0.6055, abs=5e-5)  # SNAP's published value
    assert s["clustering_method"] == "exact"


def test_email_eu_core_directed_drops_self_loops():
    lay = edgelist(EMAIL, 1005, directed=True)
    assert lay.directed and lay.n_edges == 25571 - 642
    g = nx.read_edgelist(gzip.open(EMAIL, "rt"), nodetype=int, create_using=nx.DiGraph)
    g.remove_edges_from(list(nx.selfloop_edges(g)))
    ref = layer_from_networkx("ref", g)
    # the agent numbering differs (first appearance vs sorted): compare via node ids
    order = np.argsort(lay.node_ids.astype(np.int64))
    assert np.array_equal(lay.degree()[order], ref.degree())
    assert np.array_equal(lay.in_degree()[order], ref.in_degree())


def test_gzip_and_plain_files_give_the_same_layer(tmp_path):
    plain = tmp_path / "fb.txt"
    plain.write_bytes(gzip.decompress(FACEBOOK.read_bytes()))
    a, b = edgelist(FACEBOOK, 4039), edgelist(plain, 4039)
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)


def test_chunked_reading_gives_the_same_layer(monkeypatch):
    import rumorsim.edgelist as reader

    whole = edgelist(FACEBOOK, 4039)
    monkeypatch.setattr(reader, "EDGELIST_CHUNK_BYTES", 1000)  # lines cut across reads
    parts = edgelist(FACEBOOK, 4039)
    assert np.array_equal(whole.indices, parts.indices)


# ------------------------------------------------------------------ text format


def test_comments_blank_lines_commas_crlf_and_relabelling(tmp_path):
    p = write(tmp_path, "# a comment\n% another\n\n10 20\r\n20,30 # trailing\n 30 , 10\n40\t10\n")
    lay = edgelist(p, 4)
    assert lay.node_ids.tolist() == [10, 20, 30, 40]  # first appearance
    assert lay.n_edges == 4
    assert neighbours(lay, 0) == [1, 2, 3]


def test_header_line_is_skipped(tmp_path):
    p = write(tmp_path, "source,target\n0,1\n1,2\n")
    assert edgelist(p, 3).n_edges == 2


def test_named_nodes(tmp_path):
    p = write(tmp_path, "alice bob\nbob carol\n")
    lay = edgelist(p, 3, directed=True)
    assert lay.node_ids.tolist() == ["alice", "bob", "carol"]
    assert neighbours(lay, 0) == [1] and neighbours(lay, 1) == [2]


def test_weighted_column_and_first_duplicate_wins(tmp_path):
    p = write(tmp_path, "0 1 0.5\n1 2 2e0\n1 0 7\n2 0 1.25\n")
    lay = edgelist(p, 3, weighted=True)
    assert lay.weights is not None
    w = {(u, int(v)): float(x) for u in range(3)
         for v, x in zip(neighbours(lay, u), lay.weights[lay.indptr[u]:lay.indptr[u + 1]])}
    assert w[(0, 1)] == w[(1, 0)] == 0.5  # "1 0 7" repeats the undirected edge 0-1
    assert w[(1, 2)] == 2.0 and w[(2, 0)] == 1.25
    assert lay.in_strength.tolist() == [1.75, 2.5, 3.25]


def test_all_unit_weights_are_stored_as_none(tmp_path):
    p = write(tmp_path, "0 1 1\n1 2 1.0\n")
    assert edgelist(p, 3, weighted=True).weights is None


def test_reverse_flips_directed_edges(tmp_path):
    p = write(tmp_path, "0 1\n0 2\n")
    fwd = edgelist(p, 3, directed=True, relabel=False)
    rev = edgelist(p, 3, directed=True, relabel=False, reverse=True)
    assert neighbours(fwd, 0) == [1, 2] and neighbours(rev, 1) == [0] and neighbours(rev, 2) == [0]
    assert rev.in_strength.tolist() == [2.0, 0.0, 0.0]


def test_relabel_false_keeps_ids_and_allows_isolated_agents(tmp_path):
    p = write(tmp_path, "0 3\n")
    lay = edgelist(p, 5, relabel=False)
    assert neighbours(lay, 3) == [0] and lay.stats()["isolated"] == 3


# ----------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "text, bad_line, words",
    [
        ("0 1\n1 2\n2\n", 3, "too few columns"),
        ("0 1\n1 2 3\n", 2, "too many columns"),
        ("0 1\n1 x\n", 2, "not an integer"),
        ("# header comment\n0 1\n1 2.5\n", 3, "not an integer"),
        ("0 1.5\n1 2\n", 1, "not an integer"),  # a typo on line 1 is no header
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, text, bad_line, words):
    p = write(tmp_path, text)
    with pytest.raises(NetworkError) as err:
        edgelist(p, 3)
    e = err.value
    assert e.file == str(p) and e.line == bad_line and words in str(e)
    assert e.found and e.expected


def test_malformed_weight_and_negative_weight(tmp_path):
    for text, words in (("0 1 1\n1 2 abc\n", "not a number"), ("0 1 1\n1 2 -3\n", "negative")):
        with pytest.raises(NetworkError, match=words) as err:
            edgelist(write(tmp_path, text), 3, weighted=True)
        assert err.value.line == 2


def test_third_column_without_weighted_suggests_it(tmp_path):
    with pytest.raises(NetworkError, match="weighted: true"):
        edgelist(write(tmp_path, "0 1 0.5\n"), 2)


def test_malformed_line_in_gzip_file_after_many_lines(tmp_path, monkeypatch):
    import rumorsim.edgelist as reader

    monkeypatch.setattr(reader, "EDGELIST_CHUNK_BYTES", 64)
    body = "".join(f"{i} {i + 1}\n" for i in range(200)) + "5 ; 6\n"
    p = tmp_path / "g.txt.gz"
    p.write_bytes(gzip.compress(body.encode()))
    with pytest.raises(NetworkError) as err:
        edgelist(p, 201)
    assert err.value.line == 201 and "5 ; 6" in str(err.value)


def test_missing_file_names_file_and_field(tmp_path):
    spec = LayerSpec(generator="edgelist", path="nowhere.txt")
    with pytest.raises(NetworkError) as err:
        build_layer("follows", spec, 10, 0, base_dir=tmp_path, source="s.yaml")
    e = err.value
    assert e.field == "network.layers.follows.path" and "nowhere.txt" in str(e)
    assert e.file == "s.yaml"


def test_node_count_mismatch_suggests_the_right_population():
    with pytest.raises(NetworkError) as err:
        edgelist(FACEBOOK, 5000)
    assert "4039 nodes" in str(err.value)
    assert "population.agents: 4039" in err.value.suggestion


def test_relabel_false_rejects_ids_outside_the_population(tmp_path):
    with pytest.raises(NetworkError, match="outside") as err:
        edgelist(write(tmp_path, "0 1\n1 9\n"), 5, relabel=False)
    assert err.value.line == 2


def test_impossible_generator_parameters_name_the_field():
    with pytest.raises(NetworkError) as err:
        build_layer("x", LayerSpec(generator="barabasi_albert", m=10), 10, 0)
    assert err.value.field == "network.layers.x.m"
    with pytest.raises(NetworkError, match="undirected") as err:
        build_layer("x", LayerSpec(generator="barabasi_albert", m=2, directed=True), 10, 0)
    assert err.value.field == "network.layers.x.directed"
    with pytest.raises(NetworkError) as err:
        build_layer("x", LayerSpec(generator="erdos_renyi", mean_degree=20), 10, 0)
    assert err.value.field == "network.layers.x.mean_degree"


# ------------------------------------------------------------- networkx graphs


def test_layer_from_networkx_round_trip():
    g = nx.Graph()
    g.add_weighted_edges_from([("b", "a", 2.0), ("b", "c", 0.5)])
    g.add_node("d")
    lay = layer_from_networkx("g", g)
    assert lay.n_agents == 4 and lay.n_edges == 2  # sorted labels: a=0, b=1, c=2, d=3
    assert neighbours(lay, 1) == [0, 2] and lay.weights.tolist() == [2.0, 2.0, 0.5, 0.5]
    back = nx.Graph()
    back.add_nodes_from(range(4))
    rows = np.repeat(np.arange(4), lay.degree())
    back.add_weighted_edges_from(zip(rows.tolist(), lay.indices.tolist(), lay.weights.tolist()))
    assert nx.utils.graphs_equal(back, nx.relabel_nodes(g, {"a": 0, "b": 1, "c": 2, "d": 3}))


def test_layer_from_networkx_directed_multigraph_and_unsortable_labels():
    g = nx.MultiDiGraph()
    g.add_edges_from([(1, "x"), (1, "x"), ("x", "x")])
    lay = layer_from_networkx("g", g, weight=None)
    assert lay.directed and lay.n_agents == 2 and lay.n_edges == 1  # merged, loop dropped
    assert neighbours(lay, 0) == [1]  # graph order: 1 first


def test_layer_from_networkx_reads_blocks():
    g = nx.stochastic_block_model([3, 2], [[1, 0], [0, 1]], seed=1)
    assert layer_from_networkx("g", g).communities.tolist() == [0, 0, 0, 1, 1]


def test_csr_from_edges_is_reexported():
    indptr, indices, w = csr_from_edges(np.array([0, 1, 1]), np.array([1, 2, 2]), 3, directed=False)
    assert indptr.tolist() == [0, 1, 3, 4] and indices.tolist() == [1, 0, 2, 1] and w is None


# --------------------------------------------------------------- complete layers


def test_complete_layer_is_implicit():
    lay = build_layer("all", LayerSpec(generator="complete"), 10**6, 0)
    assert lay.complete and lay.builder == "implicit"
    assert lay.indices.size == 0 and np.all(lay.indptr == 0)
    assert lay.n_edges == 10**6 * (10**6 - 1) // 2
    assert lay.in_strength[0] == pytest.approx(10**6 - 1) and lay.edge_weight == 1.0
    with pytest.raises(ValueError, match="fold it into the transition's rate"):
        LayerSpec(generator="complete", weight=0.5)  # the kernel counts complete graphs unweighted
    assert lay.degree()[0] == 10**6 - 1
    assert complete_layer("c", 3, directed=True).n_edges == 6


# -------------------------------------------------------------- networks, seeds


def spec_of(**layers) -> NetworkSpec:
    return NetworkSpec(layers={k: LayerSpec(**v) for k, v in layers.items()})


def test_same_seed_same_network_and_layers_independent_of_later_layers():
    one = spec_of(a=dict(generator="erdos_renyi", mean_degree=4))
    two = spec_of(a=dict(generator="erdos_renyi", mean_degree=4),
                  b=dict(generator="barabasi_albert", m=2))
    seed = np.random.SeedSequence(42)
    n1, n1b, n2 = build_network(one, 500, seed), build_network(one, 500, seed), build_network(two, 500, 42)
    assert np.array_equal(n1.layer("a").indices, n1b.layer("a").indices)
    assert np.array_equal(n1.layer("a").indices, n2.layer("a").indices)
    assert seed.n_children_spawned == 0  # the caller's SeedSequence is not consumed
    other = build_network(one, 500, 43)
    assert not np.array_equal(n1.layer("a").indices, other.layer("a").indices)


def test_network_lookup_and_stats_are_json():
    net = build_network(spec_of(friends=dict(generator="watts_strogatz", mean_degree=4, rewire=0.1),
                                everyone=dict(generator="complete")), 300, 1)
    assert net.names == ("friends", "everyone") and net.layer_index("everyone") == 1
    with pytest.raises(NetworkError, match="friends"):
        net.layer("freinds")
    s = net.stats()
    json.dumps(s)
    assert set(s) == {"friends", "everyone"}
    keys = {"n_agents", "n_edges", "directed", "weighted", "complete", "mean_degree", "max_degree",
            "degree_sd", "isolated", "clustering", "clustering_method", "build_seconds", "builder"}
    assert keys <= set(s["friends"]) and s["friends"]["builder"] == "networkx"


def test_auto_uses_networkx_for_small_and_native_for_large():
    small = build_layer("x", LayerSpec(generator="erdos_renyi", mean_degree=2), 1000, 0)
    big = build_layer("x", LayerSpec(generator="erdos_renyi", mean_degree=2), AUTO_NATIVE_ABOVE + 1, 0)
    assert small.builder == "networkx" and big.builder == "native"


def test_clustering_is_sampled_above_the_exact_limit():
    lay = build_layer("x", LayerSpec(generator="watts_strogatz", mean_degree=6, rewire=0.0,
                                     native=True), 30000, 0)
    s = lay.stats()
    assert s["clustering_method"].startswith("sample of 2000 agents")
    assert s["clustering"] == pytest.approx(0.6)  # ring lattice: 3(k-2)/(4(k-1))


def test_constant_weight_and_communities_on_generated_layers():
    lay = build_layer("x", LayerSpec(generator="stochastic_block", blocks=[0.5, 0.5], p_in=0.05,
                                     p_out=0.01, weight=2.0), 400, 0)
    assert lay.weights is not None and np.all(lay.weights == 2.0)
    assert np.allclose(lay.in_strength, 2.0 * lay.degree())
    assert lay.communities.tolist() == [0] * 200 + [1] * 200


def test_edge_list_layers_share_node_ids(tmp_path):
    write(tmp_path, "7 8\n8 9\n", "a.txt")
    write(tmp_path, "9 7\n", "b.txt")
    spec = spec_of(a=dict(generator="edgelist", path="a.txt"),
                   b=dict(generator="edgelist", path="b.txt", directed=True))
    net = build_network(spec, 3, 0, base_dir=tmp_path)
    assert net.node_ids.tolist() == [7, 8, 9]
    assert neighbours(net.layer("b"), 2) == [0]  # node 9 -> node 7 in both numberings
    with pytest.raises(NetworkError, match="population.agents: 3"):
        build_network(spec, 4, 0, base_dir=tmp_path)


def test_network_is_a_plain_container():
    lay = complete_layer("c", 3)
    net = Network(n_agents=3, layers=(lay,))
    assert net.layer("c") is lay


def test_layer_seed_rebuilds_one_layer_as_build_network_does():
    from rumorsim.network import layer_seed

    spec = spec_of(a=dict(generator="erdos_renyi", mean_degree=3),
                   b=dict(generator="powerlaw_cluster", m=2, triangle_prob=0.3))
    net = build_network(spec, 400, 9)
    alone = build_layer("b", spec.layers["b"], 400, layer_seed(9, 1))
    assert np.array_equal(net.layer("b").indices, alone.indices)


def test_output_buffer_grows_when_the_line_guess_is_low(monkeypatch):
    import rumorsim.edgelist as reader

    whole = edgelist(FACEBOOK, 4039)
    monkeypatch.setattr(reader, "_line_capacity", lambda path: 10)
    monkeypatch.setattr(reader, "EDGELIST_CHUNK_BYTES", 4096)
    grown = edgelist(FACEBOOK, 4039)
    assert np.array_equal(whole.indices, grown.indices)
