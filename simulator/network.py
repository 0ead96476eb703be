"""Network layers: from a scenario's ``network`` section to CSR arrays.

Each layer of the social network becomes a :class:`Layer`, plain arrays in
compressed-sparse-row form of *out*-edges (for agent ``u``,
``indices[indptr[u]:indptr[u+1]]`` are the agents ``u`` influences), which is all the
kernel ever sees. A layer is built one of four ways (its ``builder``):

- ``"networkx"``: the networkx generator, then converted (small graphs; the
  reference the native generators are tested against);
- ``"native"``: a compiled generator from :mod:`rumorsim.generators` writing the
  arrays directly (millions of agents, a fraction of networkx's memory);
- ``"edgelist"``: a text file (optionally gzipped) read by :mod:`rumorsim.edgelist`'s
  compiled parser in chunks, never through networkx;
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

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import networkx as nx
import numpy as np

from . import generators as gen
from .edgelist import IdMap, read_layer_edges
from .errors import NetworkError, did_you_mean
from .rng import new_state

if TYPE_CHECKING:  # pragma: no cover
    from .scenario import LayerSpec, NetworkSpec

#: ``native: auto`` builds with networkx up to this many agents, natively above.
AUTO_NATIVE_ABOVE = 50_000
#: Exact clustering up to this many agents; above it, a fixed-seed sample.
CLUSTERING_EXACT_MAX_AGENTS = 20_000
CLUSTERING_SAMPLE = 2_000
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


def use_native(spec: "LayerSpec", n_agents: int) -> bool:
    """Whether a generated layer is built natively (the rule the memory estimate uses too)."""
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
    id_map: Optional[IdMap] = None,
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
    if use_native(spec, n_agents):
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

    Notes
    -----
    Edge-list layers share one node-id map: a node id means the same agent in
    every file, agents numbered in order of first appearance across the files (in
    layer order). Together the files must name exactly ``n_agents`` nodes; one
    file may miss some (they are isolated on that layer).

    The memory guard is the caller's (:func:`rumorsim.api.build` checks the whole run
    before anything is allocated); this function builds what it is asked to.
    """
    id_map = IdMap(n_agents)
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


def _edgelist_layer(name: str, spec: "LayerSpec", n: int, base_dir: Optional[Path],
                    source: Optional[str], id_map: Optional[IdMap], started: float) -> Layer:
    codes, wts, node_ids, _path = read_layer_edges(
        name, spec.path, n, weighted=spec.weighted, relabel=spec.relabel, base_dir=base_dir,
        source=source, id_map=id_map)
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
