"""Network layers: from a scenario's ``network`` section to CSR arrays.

Each layer of the social network becomes a :class:`Layer`, plain arrays in
compressed-sparse-row form of *out*-edges (for agent ``u``,
``indices[indptr[u]:indptr[u+1]]`` are the agents ``u`` influences), which is all the
kernel ever sees. A layer is built one of four ways (its ``builder``):

- ``"networkx"``: the networkx generator, then converted (small graphs; the
  reference the native generators are tested against);
- ``"native"``: a compiled generator from :mod:`rumorsim.generators` writing the
  arrays directly (millions of agents, a fraction of networkx's memory);
- ``"edgelist"``: a text file (optionally gzipped) read by a compiled parser in
  chunks, never through networkx;
- ``"implicit"``: the complete graph, never materialised.

``native: auto`` (the default) uses networkx up to :data:`AUTO_NATIVE_ABOVE` agents.
Randomness: each layer gets its own child of the run's ``SeedSequence``, derived
without mutating it, so adding a layer at the end changes no other layer.

Examples
--------
>>> from rumorsim.scenario import LayerSpec, NetworkSpec
>>> spec = NetworkSpec(layers={"friends": LayerSpec(generator="erdos_renyi", mean_degree=4)})
>>> net = build_network(spec, 1000, seed=1)
>>> net.layer("friends").n_agents
1000
"""

from __future__ import annotations

import gzip
import math
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional

import networkx as nx
import numpy as np

from . import generators as gen
from .errors import NetworkError, did_you_mean
from .rng import new_state

if TYPE_CHECKING:  # pragma: no cover
    from .scenario import LayerSpec, NetworkSpec

#: ``native: auto`` builds with networkx up to this many agents, natively above.
AUTO_NATIVE_ABOVE = 50_000
#: Exact clustering up to this many agents; above it, a fixed-seed sample.
CLUSTERING_EXACT_MAX_AGENTS = 20_000
CLUSTERING_SAMPLE = 2_000
#: Bytes of text handed to the compiled parser at a time.
EDGELIST_CHUNK_BYTES = 64 * 2**20
# Tags the network's branch of the run's SeedSequence, so layer streams can never
# coincide with replicate streams spawned from the same root.
_NETWORK_SPAWN_TAG = 0x6E6574  # "net"


# --------------------------------------------------------------------------- layers


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer of the social network as CSR out-adjacency.

    Attributes
    ----------
    name : str
    n_agents : int
    indptr : int64 array (n_agents + 1,)
        Row pointers of out-edges.
    indices : int32 array (int64 from 2**31 agents)
        Targets of out-edges; each row sorted, no self-loops, no repeats.
    weights : float64 array or None
        Aligned with ``indices``; None when every edge has weight 1.
    directed : bool
        Undirected layers store each edge in both rows.
    complete : bool
        Implicit complete graph: ``indptr`` is zeros and ``indices`` empty.
    in_strength : float64 array (n_agents,)
        Sum of in-edge weights (the denominator of threshold fractions).
    communities : int32 array or None
        Block label per agent (stochastic_block), else None.
    builder : str
        "networkx", "native", "edgelist" or "implicit".
    build_seconds : float
    edge_weight : float
        The weight of every edge of a complete layer (its edges are not stored).
    node_ids : array or None
        Edge lists: the file's node id of each agent (agent i is ``node_ids[i]``).
    """

    name: str
    n_agents: int
    indptr: np.ndarray
    indices: np.ndarray
    weights: Optional[np.ndarray]
    directed: bool
    complete: bool
    in_strength: np.ndarray
    communities: Optional[np.ndarray] = None
    builder: str = "native"
    build_seconds: float = 0.0
    edge_weight: float = 1.0
    node_ids: Optional[np.ndarray] = None

    @property
    def n_edges(self) -> int:
        """Number of edges (undirected edges counted once)."""
        n = self.n_agents
        if self.complete:
            return n * (n - 1) if self.directed else n * (n - 1) // 2
        m = int(self.indices.shape[0])
        return m if self.directed else m // 2

    @property
    def weighted(self) -> bool:
        return self.weights is not None or self.edge_weight != 1.0

    def degree(self) -> np.ndarray:
        """Out-degree of each agent (int64; n - 1 each on a complete layer)."""
        if self.complete:
            return np.full(self.n_agents, max(self.n_agents - 1, 0), np.int64)
        return np.diff(self.indptr)

    def in_degree(self) -> np.ndarray:
        """In-degree of each agent (equal to :meth:`degree` when undirected)."""
        if self.complete or not self.directed:
            return self.degree()
        return np.bincount(self.indices, minlength=self.n_agents).astype(np.int64)

    def stats(self) -> dict[str, Any]:
        """Summary statistics (JSON-serialisable); see :meth:`Network.stats`."""
        return _layer_stats(self)


@dataclass(frozen=True, eq=False)
class Network:
    """All layers over the same agents, in the scenario's order."""

    n_agents: int
    layers: tuple[Layer, ...]
    node_ids: Optional[np.ndarray] = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    def layer_index(self, name: str) -> int:
        """Position of the layer called ``name``; NetworkError if there is none."""
        for i, layer in enumerate(self.layers):
            if layer.name == name:
                return i
        raise NetworkError(
            f"there is no network layer called `{name}`",
            field="network.layers",
            found=name,
            expected="one of " + ", ".join(f"`{n}`" for n in self.names),
            suggestion=did_you_mean(name, self.names),
        )

    def layer(self, name: str) -> Layer:
        """The layer called ``name``; NetworkError (with a suggestion) if there is none."""
        return self.layers[self.layer_index(name)]

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per-layer statistics, keyed by layer name (JSON-serialisable).

        Each entry: n_agents, n_edges, directed, weighted, complete, mean_degree,
        max_degree, degree_sd (out-degrees), max_in_degree, isolated, clustering
        (average local clustering of the undirected view), clustering_method
        ("exact" or "sample of 2000 agents, seed 0"), build_seconds, builder.
        """
        return {layer.name: layer.stats() for layer in self.layers}


# --------------------------------------------------------------------- statistics


def _undirected_view(layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    if not layer.directed:
        return layer.indptr, layer.indices
    src = np.repeat(np.arange(layer.n_agents, dtype=layer.indices.dtype), np.diff(layer.indptr))
    indptr, indices, _ = gen.csr_from_edges(src, layer.indices, layer.n_agents, directed=False)
    return indptr, indices


def _layer_stats(layer: Layer) -> dict[str, Any]:
    n = layer.n_agents
    out: dict[str, Any] = {
        "n_agents": int(n),
        "n_edges": int(layer.n_edges),
        "directed": bool(layer.directed),
        "weighted": bool(layer.weighted),
        "complete": bool(layer.complete),
    }
    if layer.complete:
        out.update(
            mean_degree=float(max(n - 1, 0)), max_degree=int(max(n - 1, 0)), degree_sd=0.0,
            max_in_degree=int(max(n - 1, 0)), isolated=int(n == 1),
            clustering=1.0 if n >= 3 else 0.0, clustering_method="exact",
        )
    else:
        deg = layer.degree()
        indeg = layer.in_degree()
        out.update(
            mean_degree=float(deg.mean()) if n else 0.0,
            max_degree=int(deg.max()) if n else 0,
            degree_sd=float(deg.std()) if n else 0.0,
            max_in_degree=int(indeg.max()) if n else 0,
            isolated=int(np.count_nonzero((deg == 0) & (indeg == 0))),
        )
        indptr, indices = _undirected_view(layer)
        # exact when small and affordable (a dense 20,000-agent layer is neither)
        if n <= CLUSTERING_EXACT_MAX_AGENTS and gen.clustering_cost(indptr, indices) <= 2e9:
            nodes = np.arange(n, dtype=np.int64)
            method = "exact"
        else:
            rng = np.random.default_rng(0)
            nodes = np.sort(rng.choice(n, size=min(CLUSTERING_SAMPLE, n), replace=False))
            method = f"sample of {nodes.size} agents, seed 0"
        cc = gen.local_clustering(indptr, indices, nodes.astype(np.int64))
        out["clustering"] = float(cc.mean()) if cc.size else 0.0
        out["clustering_method"] = method + (" (undirected view)" if layer.directed else "")
    out["build_seconds"] = round(float(layer.build_seconds), 6)
    out["builder"] = layer.builder
    return out


# ---------------------------------------------------------------- from arrays


def _numpy_owned(a: np.ndarray) -> np.ndarray:
    """``a``, copied into memory that numpy allocates when it is large (and was made in
    compiled code). numpy asks Linux for transparent huge pages for large arrays and
    numba's allocations do not; the kernel reads an agent's edges at scattered places,
    and with 2 MB pages those reads rarely miss the TLB."""
    if a.nbytes < 2**22 or a.base is None or isinstance(a.base, np.ndarray):
        return a  # small, or numpy's own
    b = np.empty_like(a)
    b[...] = a
    return b


def _make_layer(
    name: str,
    n_agents: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: Optional[np.ndarray],
    *,
    directed: bool,
    communities: Optional[np.ndarray] = None,
    builder: str,
    started: float,
    node_ids: Optional[np.ndarray] = None,
) -> Layer:
    if weights is not None and weights.size and bool(np.all(weights == 1.0)):
        weights = None
    strength = gen.in_strength(
        indptr, indices, weights if weights is not None else np.empty(0), weights is not None,
        bool(directed),
    )
    indptr, indices, strength = (_numpy_owned(a) for a in (indptr, indices, strength))
    weights = None if weights is None else _numpy_owned(weights)
    return Layer(
        name=name, n_agents=int(n_agents), indptr=indptr, indices=indices, weights=weights,
        directed=bool(directed), complete=False, in_strength=strength,
        communities=communities, builder=builder,
        build_seconds=time.perf_counter() - started, node_ids=node_ids,
    )


def csr_from_edges(
    src: np.ndarray,
    dst: np.ndarray,
    n_agents: int,
    *,
    weights: Optional[np.ndarray] = None,
    directed: bool,
) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Edge arrays to CSR (self-loops dropped, repeats merged keeping the first).

    See :func:`rumorsim.generators.csr_from_edges`, which this is.
    """
    return gen.csr_from_edges(src, dst, n_agents, weights=weights, directed=directed)


def _sorted_nodes(graph: nx.Graph) -> list:
    nodes = list(graph.nodes)
    try:
        return sorted(nodes)
    except TypeError:  # mixed or unorderable labels: keep the graph's own order
        return nodes


def layer_from_networkx(name: str, graph: nx.Graph, *, weight: Optional[str] = "weight") -> Layer:
    """Make a layer from a networkx graph built in Python.

    Nodes become agents 0..n-1 in sorted order (graph order if labels do not sort).
    Directed graphs give directed layers (edge u -> v: u influences v). Multigraph
    edges are merged keeping the first; self-loops are dropped. Edge attribute
    ``weight`` (missing = 1) gives the weights; ``weight=None`` ignores them. A node
    attribute ``block`` or ``community`` present on every node becomes
    ``communities``.

    Examples
    --------
    >>> layer = layer_from_networkx("ring", nx.cycle_graph(5))
    >>> layer.n_edges, layer.degree().tolist()
    (5, [2, 2, 2, 2, 2])
    """
    started = time.perf_counter()
    nodes = _sorted_nodes(graph)
    n = len(nodes)
    index = {node: i for i, node in enumerate(nodes)}
    m = graph.number_of_edges()
    dtype = gen.index_dtype(n)
    src = np.empty(m, dtype)
    dst = np.empty(m, dtype)
    w = np.ones(m, np.float64) if weight is not None else None
    if weight is not None:
        for e, (u, v, x) in enumerate(graph.edges(data=weight, default=1.0)):
            src[e] = index[u]
            dst[e] = index[v]
            w[e] = x  # type: ignore[index]
    else:
        for e, (u, v) in enumerate(graph.edges()):
            src[e] = index[u]
            dst[e] = index[v]
    if w is not None and (not np.all(np.isfinite(w)) or np.any(w < 0)):
        raise NetworkError(
            f"layer `{name}`: edge weights must be finite and non-negative",
            expected="weights >= 0", found=float(w[~(np.isfinite(w) & (w >= 0))][0]),
        )
    directed = graph.is_directed()
    indptr, indices, weights = gen.csr_from_edges(src, dst, n, weights=w, directed=directed)
    communities = None
    for key in ("block", "community"):
        labels = [graph.nodes[v].get(key) for v in nodes]
        if n and all(isinstance(x, (int, np.integer)) for x in labels):
            communities = np.asarray(labels, np.int32)
            break
    return _make_layer(
        name, n, indptr, indices, weights, directed=directed, communities=communities,
        builder="networkx", started=started,
    )


# ------------------------------------------------------------- building from specs


def layer_seed(seed: "np.random.SeedSequence | int", i: int) -> np.random.SeedSequence:
    """The seed :func:`build_network` gives layer ``i`` (0-based, scenario order).

    Child ``i`` of a branch of ``seed`` reserved for the network, derived without
    mutating ``seed``. Use it to rebuild one layer alone exactly as
    :func:`build_network` would (e.g. when other layers come from user graphs).
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(
        entropy=ss.entropy, spawn_key=tuple(ss.spawn_key) + (_NETWORK_SPAWN_TAG, i),
        pool_size=ss.pool_size,
    )


def _nx_seed(seed: np.random.SeedSequence) -> int:
    return int(seed.generate_state(1, np.uint32)[0])


def _fail(name: str, param: str, message: str, source: Optional[str], **kw: Any) -> NetworkError:
    return NetworkError(message, file=source, field=f"network.layers.{name}.{param}", **kw)


def _use_native(spec: "LayerSpec", n_agents: int) -> bool:
    if spec.native == "auto":
        return n_agents > AUTO_NATIVE_ABOVE
    return bool(spec.native)


def block_sizes(shares: list[float], n_agents: int) -> np.ndarray:
    """Split ``n_agents`` into blocks by ``shares`` (largest remainder, ties to the first)."""
    raw = np.asarray(shares, np.float64) / float(np.sum(shares)) * n_agents
    sizes = np.floor(raw).astype(np.int64)
    short = n_agents - int(sizes.sum())
    order = np.argsort(-(raw - sizes), kind="stable")
    sizes[order[:short]] += 1
    return sizes


def ws_lattice_degree(mean_degree: float) -> int:
    """Watts–Strogatz k: ``mean_degree`` rounded to the nearest even number."""
    return 2 * int(round(mean_degree / 2.0))


def _check_params(name: str, spec: "LayerSpec", n: int, source: Optional[str]) -> None:
    """Refuse impossible generator parameters with a message naming the field."""
    g = spec.generator
    if spec.directed and g in ("barabasi_albert", "watts_strogatz", "powerlaw_cluster"):
        raise _fail(
            name, "directed", f"generator `{g}` makes undirected graphs", source, found=True,
            expected="directed: false",
            suggestion="For a directed heavy-tailed layer use `configuration` with "
            "`directed: true`, or load an edge list",
        )
    if g == "erdos_renyi" and n > 1 and spec.mean_degree > n - 1:
        raise _fail(name, "mean_degree", "the mean degree cannot exceed agents - 1", source,
                    found=spec.mean_degree, expected=f"at most {n - 1}")
    if g in ("barabasi_albert", "powerlaw_cluster") and spec.m >= n:
        raise _fail(name, "m", "each new agent links to m earlier agents, so m must be below "
                    "the number of agents", source, found=spec.m, expected=f"1 <= m < {n}")
    if g == "watts_strogatz":
        k = ws_lattice_degree(spec.mean_degree)
        if k < 2 or k >= n:
            raise _fail(name, "mean_degree", "the ring lattice degree (mean_degree rounded to "
                        "an even number) must be at least 2 and below the number of agents",
                        source, found=spec.mean_degree, expected=f"2 <= mean_degree < {n}")
    if g == "stochastic_block":
        sizes = block_sizes(spec.blocks, n)
        if np.any(sizes < 1):
            raise _fail(name, "blocks", f"{n} agents leave some block empty", source,
                        found=spec.blocks, expected="shares of at least one agent each")
    if g == "configuration":
        _degree_params(name, spec, n, source)


def _degree_params(name: str, spec: "LayerSpec", n: int, source: Optional[str]) -> tuple:
    """(kind code, exponent, mean, sigma, kmin, kmax) for :func:`draw_degrees`, checked."""
    d = spec.degrees
    kind = d.kind
    kmax = n - 1 if d.max_degree is None else min(d.max_degree, n - 1)
    kmin = d.min_degree
    where = "degrees"
    if kmin > kmax:
        raise _fail(name, f"{where}.min_degree", "the minimum degree exceeds the maximum "
                    f"(max_degree, at most agents - 1 = {n - 1})", source, found=kmin,
                    expected=f"at most {kmax}")
    if kind == "powerlaw":
        if d.exponent is None:
            raise _fail(name, f"{where}.exponent", "a powerlaw degree distribution needs an "
                        "exponent", source, expected="a number > 1, e.g. 2.5")
        if kmin < 1:
            raise _fail(name, f"{where}.min_degree", "a power law starts at degree 1 or more",
                        source, found=kmin, expected="min_degree >= 1")
        return (0, float(d.exponent), 0.0, 0.0, kmin, kmax)
    if d.mean is None:
        raise _fail(name, f"{where}.mean", f"a {kind} degree distribution needs a mean", source,
                    expected="a positive number")
    if kind == "fixed" and not kmin <= round(d.mean) <= kmax:
        raise _fail(name, f"{where}.mean", "the fixed degree lies outside min_degree.."
                    "max_degree", source, found=d.mean, expected=f"{kmin}..{kmax}")
    sigma = 1.0 if d.sigma is None else float(d.sigma)
    return (gen.DEGREE_KINDS[kind], 0.0, float(d.mean), sigma, kmin, kmax)


def _networkx_graph(name: str, spec: "LayerSpec", n: int, seed: np.random.SeedSequence,
                    source: Optional[str]) -> nx.Graph:
    g = spec.generator
    s = _nx_seed(seed)
    if g == "erdos_renyi":
        p = spec.mean_degree / (n - 1) if n > 1 else 0.0
        return nx.fast_gnp_random_graph(n, min(p, 1.0), seed=s, directed=spec.directed)
    if g == "barabasi_albert":
        return nx.barabasi_albert_graph(n, spec.m, seed=s)
    if g == "powerlaw_cluster":
        return nx.powerlaw_cluster_graph(n, spec.m, spec.triangle_prob, seed=s)
    if g == "watts_strogatz":
        return nx.watts_strogatz_graph(n, ws_lattice_degree(spec.mean_degree), spec.rewire, seed=s)
    if g == "stochastic_block":
        sizes = block_sizes(spec.blocks, n).tolist()
        nb = len(sizes)
        probs = [[spec.p_in if a == b else spec.p_out for b in range(nb)] for a in range(nb)]
        return nx.stochastic_block_model(sizes, probs, seed=s, directed=spec.directed)
    if g == "configuration":
        deg = _draw_degrees(name, spec, n, seed, source).tolist()
        if spec.directed:
            graph = nx.DiGraph(nx.directed_configuration_model(deg, deg, seed=s))
        else:
            graph = nx.Graph(nx.configuration_model(deg, seed=s))
        graph.remove_edges_from(list(nx.selfloop_edges(graph)))
        return graph
    raise AssertionError(g)  # pragma: no cover


def _draw_degrees(name: str, spec: "LayerSpec", n: int, seed: np.random.SeedSequence,
                  source: Optional[str]) -> np.ndarray:
    # one stream for the degree sequence, shared by both builders, so native and
    # networkx configuration layers have the same degrees for the same seed
    kind, exponent, mean, sigma, kmin, kmax = _degree_params(name, spec, n, source)
    state = new_state(np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (1,)))
    return gen.draw_degrees(n, kind, exponent, mean, sigma, kmin, kmax, state)


def _native_layer(name: str, spec: "LayerSpec", n: int, seed: np.random.SeedSequence,
                  source: Optional[str], started: float) -> Layer:
    g = spec.generator
    state = new_state(seed)
    tmpl = gen._template(n)
    communities = None
    if g == "erdos_renyi":
        p = spec.mean_degree / (n - 1) if n > 1 else 0.0
        indptr, indices = gen.erdos_renyi_csr(n, min(p, 1.0), state, directed=spec.directed)
        weights = None
    elif g == "powerlaw_cluster":
        # written straight from the generator's neighbour lists: no edge arrays
        indptr, indices = gen.powerlaw_cluster_csr(n, spec.m, spec.triangle_prob, state, tmpl)
        weights = None
    else:
        if g == "barabasi_albert":
            src, dst = gen.barabasi_albert_edges(n, spec.m, state, tmpl)
        elif g == "watts_strogatz":
            src, dst = gen.watts_strogatz_edges(
                n, ws_lattice_degree(spec.mean_degree), spec.rewire, state, tmpl)
        elif g == "stochastic_block":
            sizes = block_sizes(spec.blocks, n)
            src, dst = gen.stochastic_block_edges(sizes, spec.p_in, spec.p_out, state,
                                                  directed=spec.directed)
            communities = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
        elif g == "configuration":
            deg = _draw_degrees(name, spec, n, seed, source)
            src, dst = gen.configuration_edges(deg, spec.directed, state, tmpl)
            del deg
        else:  # pragma: no cover
            raise AssertionError(g)
        indptr, indices, weights = gen.csr_from_edges(src, dst, n, directed=spec.directed)
        del src, dst
    return _make_layer(name, n, indptr, indices, weights, directed=spec.directed,
                       communities=communities, builder="native", started=started)


def _with_weight(layer: Layer, w: float) -> Layer:
    """Give every edge weight ``w`` (a generated layer's constant ``weight``)."""
    if w == 1.0:
        return layer
    base = layer.weights if layer.weights is not None else np.ones(layer.indices.shape[0])
    return replace(layer, weights=base * w, in_strength=layer.in_strength * w)


def complete_layer(name: str, n_agents: int, *, directed: bool = False,
                   weight: float = 1.0) -> Layer:
    """The implicit complete graph: no edges stored, every agent sees all others."""
    idx = gen.index_dtype(n_agents)
    return Layer(
        name=name, n_agents=int(n_agents), indptr=np.zeros(n_agents + 1, np.int64),
        indices=np.empty(0, idx), weights=None, directed=bool(directed), complete=True,
        in_strength=np.full(n_agents, float(max(n_agents - 1, 0)) * weight),
        builder="implicit", edge_weight=float(weight),
    )


def build_layer(
    name: str,
    spec: "LayerSpec",
    n_agents: int,
    seed: "np.random.SeedSequence | int",
    *,
    base_dir: Optional[Path] = None,
    source: Optional[str] = None,
    id_map: Optional["_IdMap"] = None,
) -> Layer:
    """Build one layer from its spec.

    Parameters
    ----------
    name : str
        The layer's name (used in errors: ``network.layers.<name>.<field>``).
    spec : LayerSpec
    n_agents : int
    seed : SeedSequence or int
        This layer's own seed (:func:`build_network` gives each layer a child).
    base_dir : Path, optional
        Folder that relative edge-list paths start from (the scenario's folder);
        defaults to the working directory.
    source : str, optional
        The scenario file, named in errors about its fields.
    id_map : optional
        Shared node-id map across edge-list layers (:func:`build_network` passes
        one); without it an edge list must have exactly ``n_agents`` nodes.

    Raises
    ------
    NetworkError
        Impossible parameters, a missing or malformed edge list, a node count that
        does not match the number of agents.

    Notes
    -----
    ``weight`` multiplies every edge's weight: the constant weight of a generated
    or complete layer, and a factor on an edge list's weights (1 without a weight
    column). Self-loops are dropped and repeated edges merged (the first one in
    the file wins, weight included). ``watts_strogatz`` uses ``mean_degree``
    rounded to the nearest even number as the lattice degree.
    """
    if not isinstance(seed, np.random.SeedSequence):
        seed = np.random.SeedSequence(seed)
    started = time.perf_counter()
    if spec.generator == "complete":
        layer = complete_layer(name, n_agents, directed=spec.directed, weight=spec.weight)
        return replace(layer, build_seconds=time.perf_counter() - started)
    if spec.generator == "edgelist":
        return _edgelist_layer(name, spec, n_agents, base_dir, source, id_map, started)
    _check_params(name, spec, n_agents, source)
    if _use_native(spec, n_agents):
        layer = _native_layer(name, spec, n_agents, seed, source, started)
    else:
        graph = _networkx_graph(name, spec, n_agents, seed, source)
        layer = layer_from_networkx(name, graph, weight=None)
        if spec.generator == "stochastic_block":
            sizes = block_sizes(spec.blocks, n_agents)
            layer = replace(layer, communities=np.repeat(
                np.arange(len(sizes), dtype=np.int32), sizes))
        del graph
        layer = replace(layer, build_seconds=time.perf_counter() - started)
    return _with_weight(layer, spec.weight)


def build_network(
    spec: "NetworkSpec",
    n_agents: int,
    seed: "np.random.SeedSequence | int",
    *,
    base_dir: Optional[Path] = None,
    source: Optional[str] = None,
    check_memory: bool = True,
) -> Network:
    """Build every layer of a scenario's network.

    Parameters
    ----------
    spec : NetworkSpec
    n_agents : int
    seed : SeedSequence or int
        The run's seed. Layer ``i`` gets child ``i`` of a branch of it reserved for
        the network (derived, not spawned, so ``seed`` is not mutated and replicate
        streams spawned from it never coincide with layer streams).
    base_dir : Path, optional
        Folder of the scenario file, for relative edge-list paths.
    source : str, optional
        The scenario file, named in errors.
    check_memory : bool
        Refuse (MemoryBudgetError) before building if the layers would not fit.

    Notes
    -----
    Edge-list layers share one node-id map: a node id means the same agent in
    every file, agents numbered in order of first appearance across the files (in
    layer order). Together the files must name exactly ``n_agents`` nodes; one
    file may miss some (they are isolated on that layer).
    """
    if check_memory:
        from .memory import check_memory as _check, estimate_network_bytes

        est = estimate_network_bytes(n_agents, dict(spec.layers), base_dir=base_dir)
        _check(est, what="building this network")
    id_map = _IdMap(n_agents)
    layers = []
    for i, (name, layer_spec) in enumerate(spec.layers.items()):
        layers.append(build_layer(name, layer_spec, n_agents, layer_seed(seed, i),
                                  base_dir=base_dir, source=source, id_map=id_map))
    node_ids = None
    if id_map.used:
        id_map.check_complete()
        node_ids = id_map.node_ids
        layers = [replace(l, node_ids=node_ids) if l.builder == "edgelist" and l.node_ids is not None
                  else l for l in layers]
    return Network(n_agents=int(n_agents), layers=tuple(layers), node_ids=node_ids)


# ------------------------------------------------------------------- edge lists


def _factorize(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes in order of first appearance, and the ids in that order.

    Integer ids spanning a range not much larger than the data use a compiled
    lookup table (one array access per id); others (wide ranges, names) use
    pandas' hash table.
    """
    import pandas as pd

    if ids.dtype.kind in "iu" and ids.size:
        lo, hi = int(ids.min()), int(ids.max())
        span = hi - lo + 1
        if span <= max(2 * ids.size, 2**20):  # table no bigger than the ids themselves
            return gen.factorize_dense(ids, lo, span)
    codes, uniques = pd.factorize(ids)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


class _IdMap:
    """Node ids of relabelled edge lists -> agents, in order of first appearance."""

    def __init__(self, n_agents: int) -> None:
        self.n_agents = n_agents
        self.node_ids: Optional[np.ndarray] = None
        self.used = False
        self.files: list[str] = []

    def relabel(self, ids: np.ndarray) -> np.ndarray:
        import pandas as pd

        self.used = True
        codes, uniques = _factorize(ids)
        if self.node_ids is None:
            self.node_ids = uniques
            return codes.astype(np.int64, copy=False)
        pos = pd.Index(self.node_ids).get_indexer(uniques)
        new = pos < 0
        pos[new] = len(self.node_ids) + np.arange(int(new.sum()))
        if new.any():
            self.node_ids = np.concatenate([self.node_ids, uniques[new]])
        return pos[codes].astype(np.int64, copy=False)

    @property
    def n_nodes(self) -> int:
        return 0 if self.node_ids is None else len(self.node_ids)

    def check_complete(self) -> None:
        if self.n_nodes != self.n_agents:
            files = ", ".join(self.files)
            raise NetworkError(
                f"the edge lists ({files}) name {self.n_nodes} distinct nodes, "
                f"but the population has {self.n_agents} agents",
                field="population.agents", found=self.n_agents, expected=str(self.n_nodes),
                suggestion=f"Set `population.agents: {self.n_nodes}`",
            )


def _resolve(path: str, base_dir: Optional[Path]) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = (Path(base_dir) if base_dir is not None else Path.cwd()) / p
    return p


def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    # by content, not by name: a renamed .gz still opens, a plain .gz-named file too
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _blocks(path: Path) -> Iterator[bytes]:
    """The file's bytes in blocks that end at a line break (the last may not)."""
    with _open_text(path) as fh:
        carry = b""
        first = True
        while True:
            raw = fh.read(EDGELIST_CHUNK_BYTES)
            if first:
                first = False
                if raw.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark
                    raw = raw[3:]
            if not raw:
                if carry:
                    yield carry
                return
            data = carry + raw
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            carry = data[cut:]
            yield data[:cut]


_PARSE_WHAT = {
    gen.PARSE_FEW_COLUMNS: "too few columns",
    gen.PARSE_MANY_COLUMNS: "too many columns",
    gen.PARSE_BAD_ID: "a node id that is not an integer",
    gen.PARSE_BAD_WEIGHT: "a weight that is not a number",
    gen.PARSE_NEGATIVE_WEIGHT: "a negative weight",
    gen.PARSE_ID_RANGE: "a node id outside 0..agents-1 (relabel: false)",
    gen.PARSE_ID_OVERFLOW: "a node id too large for a 64-bit integer",
}


class _ParseFailure(Exception):
    def __init__(self, code: int, line: int, text: str, token: str, first_data: bool) -> None:
        self.code, self.line, self.text, self.token, self.first_data = code, line, text, token, first_data


def _line_capacity(path: Path) -> int:
    """An upper bound (plain files) or a generous guess (gzip) of the line count."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    if not gz:
        return size // 4 + 2  # the shortest data line is "a b\n"
    from .memory import _edgelist_lines

    guess = _edgelist_lines(path)
    return int(1.25 * guess) + 1024 if guess is not None else size + 1024


def _scan_integer(path: Path, weighted: bool, id_limit: int, skip_header: bool):
    """Read an edge list with integer ids through the compiled parser.

    Output goes into one buffer sized from the file (an upper bound for plain
    text): pages never written are never touched, so an overestimate costs address
    space only, and no per-chunk arrays have to be concatenated.
    """
    capacity = _line_capacity(path)
    ids = np.empty(2 * capacity, np.int64)
    wts = np.empty(capacity if weighted else 0, np.float64)
    lines_before = 0
    n_edges = 0
    skip = skip_header
    for block in _blocks(path):
        buf = np.frombuffer(block, np.uint8)
        n_lines = block.count(b"\n")
        need = n_edges + n_lines + 1
        if need > capacity:  # a gzip file compressed better than its head suggested
            capacity = max(2 * capacity, need)
            ids = np.concatenate([ids[: 2 * n_edges], np.empty(2 * capacity - 2 * n_edges, np.int64)])
            if weighted:
                wts = np.concatenate([wts[:n_edges], np.empty(capacity - n_edges)])
        e, err, line, a, b, ta, tb, skip = gen.parse_edge_chunk(
            buf, weighted, id_limit, skip, ids[2 * n_edges:], wts[n_edges:] if weighted else wts)
        if err != gen.PARSE_OK:
            text = block[a:b].decode("utf-8", "replace").rstrip("\r")
            token = block[ta:tb].decode("utf-8", "replace")
            raise _ParseFailure(err, lines_before + line + 1, text, token,
                                first_data=(n_edges + e == 0 and not skip_header))
        n_edges += e
        lines_before += n_lines
    return ids[: 2 * n_edges], (wts[:n_edges] if weighted else None)


_SPLIT = re.compile(r"[\s]*,[\s]*|[\s]+")


def _scan_strings(path: Path, weighted: bool):
    """Read an edge list whose node ids are names (slow path, plain Python)."""
    ids: list[str] = []
    wts: list[float] = []
    ncols = 3 if weighted else 2
    with _open_text(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            text = raw.decode("utf-8", "replace")
            if lineno == 1:
                text = text.lstrip("\ufeff")
            body = re.split(r"[#%]", text, maxsplit=1)[0].strip()
            if not body:
                continue
            cols = _SPLIT.split(body)
            if len(cols) != ncols:
                raise _ParseFailure(
                    gen.PARSE_FEW_COLUMNS if len(cols) < ncols else gen.PARSE_MANY_COLUMNS,
                    lineno, text.rstrip("\r\n"), "", False)
            ids.extend(cols[:2])
            if weighted:
                try:
                    w = float(cols[2])
                except ValueError:
                    raise _ParseFailure(gen.PARSE_BAD_WEIGHT, lineno, text.rstrip("\r\n"),
                                        cols[2], False) from None
                if not math.isfinite(w) or w < 0:
                    raise _ParseFailure(gen.PARSE_NEGATIVE_WEIGHT if w < 0 else
                                        gen.PARSE_BAD_WEIGHT, lineno, text.rstrip("\r\n"),
                                        cols[2], False)
                wts.append(w)
    return np.asarray(ids, dtype=object), (np.asarray(wts, np.float64) if weighted else None)


def read_edge_list(
    path: Path, *, weighted: bool = False, relabel: bool = True, n_agents: Optional[int] = None,
) -> tuple[np.ndarray, Optional[np.ndarray], str]:
    """Read an edge-list file into interleaved ids ``u0, v0, u1, v1, ...``.

    Integer ids go through the compiled chunked parser (10^8 edges without
    networkx or pandas' tokenizer). A first data line made only of words (no
    token reads as a number, e.g. ``source,target``) is a header and skipped. A
    file whose first two data lines both have non-integer ids is read with names
    as ids (``relabel: true`` only), in plain Python.

    Returns ``(ids, weights or None, mode)`` with mode "integer", "header" or "names".
    Raises :class:`_ParseFailure` for malformed lines (the caller adds context).
    """
    id_limit = -1 if relabel or n_agents is None else int(n_agents)
    try:
        ids, wts = _scan_integer(path, weighted, id_limit, False)
        return ids, wts, "integer"
    except _ParseFailure as fail:
        if not (fail.first_data and fail.code in (gen.PARSE_BAD_ID, gen.PARSE_BAD_WEIGHT)
                and _looks_like_header(fail.text)):
            raise
        first = fail
    try:
        ids, wts = _scan_integer(path, weighted, id_limit, True)
        return ids, wts, "header"
    except _ParseFailure as fail:
        # the second data line is not numeric either: ids are names
        if not (fail.code == gen.PARSE_BAD_ID and relabel and _is_second_data_line(path, fail.line)):
            raise
    if not relabel:
        raise first
    ids, wts = _scan_strings(path, weighted)
    return ids, wts, "names"


def _looks_like_header(text: str) -> bool:
    """A header names its columns: no token of it reads as a number."""
    body = re.split(r"[#%]", text, maxsplit=1)[0].strip()
    tokens = [t for t in _SPLIT.split(body) if t]
    for t in tokens:
        try:
            float(t)
            return False
        except ValueError:
            pass
    return bool(tokens)


def _is_second_data_line(path: Path, line: int) -> bool:
    count = 0
    with _open_text(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            body = re.split(rb"[#%]", raw, maxsplit=1)[0].strip()
            if body:
                count += 1
                if lineno == line:
                    return count == 2
                if count >= 2:
                    return False
    return False


def _edgelist_layer(name: str, spec: "LayerSpec", n: int, base_dir: Optional[Path],
                    source: Optional[str], id_map: Optional[_IdMap], started: float) -> Layer:
    path = _resolve(spec.path, base_dir)
    field_path = f"network.layers.{name}.path"
    if not path.is_file():
        raise NetworkError(
            f"the edge list `{path}` does not exist" if not path.exists()
            else f"the edge list `{path}` is not a file",
            file=source, field=field_path, found=spec.path,
            expected="a path to an edge-list file, relative to the scenario's folder",
            suggestion=f"Check the path; it is read from `{path.parent}`",
        )
    expected_line = ("two node ids and a weight" if spec.weighted else "two node ids") + \
        ", separated by blanks or a comma (`#` or `%` starts a comment)"
    try:
        ids, wts, _mode = read_edge_list(path, weighted=spec.weighted, relabel=spec.relabel,
                                        n_agents=n)
    except _ParseFailure as fail:
        what = _PARSE_WHAT.get(fail.code, "an unreadable line")
        hint = None
        if fail.code == gen.PARSE_MANY_COLUMNS and not spec.weighted:
            hint = (f"If the third column is an edge weight, set "
                    f"`network.layers.{name}.weighted: true`")
        elif fail.code == gen.PARSE_FEW_COLUMNS and spec.weighted:
            hint = f"If the file has no weights, set `network.layers.{name}.weighted: false`"
        elif fail.code == gen.PARSE_ID_RANGE:
            hint = (f"Node ids must be 0..{n - 1} with `relabel: false`; set "
                    f"`network.layers.{name}.relabel: true` to number nodes as they appear")
        elif fail.code == gen.PARSE_BAD_ID:
            hint = "Node ids must all be integers, or all be names (then the first line decides)"
        found = fail.text if len(fail.text) <= 120 else fail.text[:117] + "..."
        if fail.token and fail.code not in (gen.PARSE_FEW_COLUMNS, gen.PARSE_MANY_COLUMNS):
            found = f"{found}  <- `{fail.token}`"
        raise NetworkError(f"malformed edge list: {what}", file=str(path), line=fail.line,
                           found=found, expected=expected_line if fail.code != gen.PARSE_ID_RANGE
                           else f"node ids in 0..{n - 1}", suggestion=hint) from None
    if spec.relabel:
        own = id_map is None
        mapper = _IdMap(n) if own else id_map
        mapper.files.append(str(path))
        codes = mapper.relabel(ids)
        del ids
        if mapper.n_nodes > n or (own and mapper.n_nodes != n):
            raise NetworkError(
                f"the edge list has {mapper.n_nodes} nodes"
                + ("" if own else " (with the edge lists before it)")
                + f" but the population has {n} agents",
                file=str(path), field="population.agents", found=n,
                expected=f"{mapper.n_nodes} agents, one per node",
                suggestion=f"Set `population.agents: {mapper.n_nodes}`",
            )
        # a shared map may still grow; build_network sets the final ids afterwards
        node_ids = mapper.node_ids
    else:
        codes = ids
        del ids
        node_ids = None
    # contiguous index-dtype copies (half the bytes of the int64 codes), then free those
    dt = gen.index_dtype(n)
    src, dst = codes[0::2].astype(dt), codes[1::2].astype(dt)
    del codes
    if spec.reverse:
        src, dst = dst, src
    indptr, indices, weights = gen.csr_from_edges(src, dst, n, weights=wts,
                                                  directed=spec.directed)
    del src, dst
    layer = _make_layer(name, n, indptr, indices, weights, directed=spec.directed,
                        builder="edgelist", started=started,
                        node_ids=None if node_ids is None else np.asarray(node_ids))
    return _with_weight(layer, spec.weight)
