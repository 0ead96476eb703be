"""Degree classes: agents grouped by their degrees on the layers a scenario's rules read.

The mean-field equations (:mod:`rumorsim.meanfield`) follow one share of agents per class
and joint state. ``homogeneous_classes`` is one class with every layer's mean in-degree
(known from the layer's parameters for the common generators, so that big scenarios need
no network built); ``degree_classes`` groups the agents of a built network by their
in-degrees (in-strengths) and, on directed layers, out-degrees, across the layers the
rules read. Many distinct joint degrees are binned logarithmically until at most
``MAX_CLASSES`` remain; a class keeps the mean degrees of its members, so every layer's
mean degree is kept exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from .scenario import Scenario

#: Degree classes above this many are binned (logarithmically, per layer).
MAX_CLASSES = 400
#: Bins per layer when binning.
_BINS = 40


@dataclass(frozen=True)
class DegreeClasses:
    """Agents grouped by their degrees on the layers the rules read.

    Attributes
    ----------
    prob : (C,) share of the agents in each class.
    d_in : (C, L) mean in-degree (in-strength on weighted layers) per class and layer.
    d_out : (C, L) mean out-degree (out-strength) per class and layer.
    layers : the scenario's layer names, in order (columns of d_in and d_out).
    exact : (L,) True where the layer's edges are plain (undirected, unweighted, stored).
    """

    prob: np.ndarray
    d_in: np.ndarray
    d_out: np.ndarray
    layers: Tuple[str, ...]
    exact: np.ndarray

    @property
    def n(self) -> int:
        return len(self.prob)


def _used_layers(sc: Scenario) -> List[str]:
    used = []
    for t in sc.transitions:
        spec = t.induced_by or t.threshold
        if spec is not None and spec.layer not in used:
            used.append(spec.layer)
    return used


def _mean_degree(sc: Scenario, name: str) -> Optional[float]:
    """The expected mean in-strength of a generated layer, where it is known without building it."""
    spec = sc.network.layers[name]
    n = sc.population.agents
    w = spec.weight
    if spec.generator == "complete":
        return (n - 1) * w
    if spec.generator == "erdos_renyi":
        return min(spec.mean_degree, n - 1) * w
    if spec.generator in ("barabasi_albert", "powerlaw_cluster") and not spec.directed:
        return 2.0 * spec.m * (n - spec.m) / n * w  # m edges per agent after the first m
    return None


def homogeneous_classes(sc: Scenario, network: "object" = None) -> DegreeClasses:
    """One class with each layer's mean in-strength (from the network if given, else the spec,
    else a built network)."""
    names = tuple(sc.network.layers)
    means = np.zeros(len(names))
    need_build = []
    for j, name in enumerate(names):
        if network is not None:
            means[j] = float(np.mean(network.layer(name).in_strength))
            continue
        m = _mean_degree(sc, name)
        if m is None:
            need_build.append(j)
        else:
            means[j] = m
    if need_build:
        network = build_network_for(sc)
        for j in need_build:
            means[j] = float(np.mean(network.layer(names[j]).in_strength))
    return DegreeClasses(prob=np.ones(1), d_in=means[None, :], d_out=means[None, :],
                         layers=names, exact=np.zeros(len(names), bool))


def build_network_for(sc: Scenario) -> "object":
    """The network a run of the scenario with its own seed builds."""
    from .network import build_network

    from .seeds import as_seed_sequence

    return build_network(sc.network, sc.population.agents, as_seed_sequence(sc.run.seed),
                         base_dir=sc.base_dir, source=sc.source)


def _out_strength(layer) -> np.ndarray:
    if layer.complete:
        return np.asarray(layer.in_strength, np.float64)
    if not layer.directed:
        return np.asarray(layer.in_strength, np.float64)
    deg = np.diff(layer.indptr)
    if layer.weights is None:
        return deg.astype(np.float64) * layer.edge_weight
    rows = np.repeat(np.arange(layer.n_agents), deg)
    return np.bincount(rows, weights=layer.weights, minlength=layer.n_agents)


def _bin_codes(values: np.ndarray, bins: int = _BINS) -> np.ndarray:
    """Small integer codes: the values themselves when few, else logarithmic bins."""
    uniq, codes = np.unique(values, return_inverse=True)
    if len(uniq) <= bins:
        return codes.ravel()
    pos = values[values > 0]
    edges = np.geomspace(pos.min(), pos.max() * (1 + 1e-9), bins)
    return np.where(values > 0, np.searchsorted(edges, values, side="right") + 1, 0)


def degree_classes(sc: Scenario, network: "object" = None) -> DegreeClasses:
    """Agents grouped by their (in, out) degrees on the layers the rules read.

    The network is the one a run with the scenario's seed builds (or the one given).
    """
    if network is None:
        network = build_network_for(sc)
    names = tuple(sc.network.layers)
    used = [names.index(u) for u in _used_layers(sc)]
    n = network.n_agents
    d_in = np.zeros((n, len(names)))
    d_out = np.zeros((n, len(names)))
    exact = np.zeros(len(names), bool)
    for j, name in enumerate(names):
        ly = network.layer(name)
        d_in[:, j] = ly.in_strength
        d_out[:, j] = _out_strength(ly)
        exact[j] = not (ly.complete or ly.directed or ly.weighted)
    cols = [d_in[:, j] for j in used] + [d_out[:, j] for j in used if network.layer(names[j]).directed]
    if not cols:
        return DegreeClasses(np.ones(1), d_in.mean(0)[None], d_out.mean(0)[None], names, exact)
    key = np.stack(cols, axis=1)
    _, cls = np.unique(key, axis=0, return_inverse=True)
    cls = cls.ravel()
    bins = _BINS
    while cls.max() + 1 > MAX_CLASSES and bins >= 2:
        # coarser logarithmic bins until the joint classes are few enough
        binned = np.stack([_bin_codes(c, bins) for c in cols], axis=1)
        _, cls = np.unique(binned, axis=0, return_inverse=True)
        cls = cls.ravel()
        bins //= 2
    C = int(cls.max()) + 1
    size = np.bincount(cls, minlength=C).astype(np.float64)

    def mean_by(v: np.ndarray) -> np.ndarray:
        return np.bincount(cls, weights=v, minlength=C) / size

    return DegreeClasses(
        prob=size / n,
        d_in=np.stack([mean_by(d_in[:, j]) for j in range(len(names))], axis=1),
        d_out=np.stack([mean_by(d_out[:, j]) for j in range(len(names))], axis=1),
        layers=names, exact=exact,
    )
