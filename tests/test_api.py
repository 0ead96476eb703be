"""The Python API a notebook uses."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import rumorsim as rs
from rumorsim.errors import ScenarioError

from conftest import SCENARIOS


def test_shipped_scenarios_are_found_by_name():
    names = {s["name"] for s in rs.list_scenarios()}
    assert {"classic/sir", "classic/maki_thompson"} <= names
    assert rs.find_scenario("classic/sir").name == "sir.yaml"
    assert rs.find_scenario("maki_thompson").name == "maki_thompson.yaml"
    with pytest.raises(ScenarioError, match="classic/maki_thompson"):
        rs.find_scenario("classic/maki_thomson")


def test_override_keywords_and_revalidation():
    sc = rs.load("classic/sir")
    small = rs.override(sc, {"population.agents": 300, "transitions.infection.rate": 0.5})
    assert small.population.agents == 300 and small.transition("infection").rate == 0.5
    assert sc.population.agents == 10000  # the original is untouched (frozen)
    with pytest.raises(ScenarioError, match="greater than or equal to 0"):
        rs.override(sc, {"transitions.recovery.rate": -2})


def test_run_on_a_users_networkx_graph():
    g = nx.karate_club_graph()
    sc = rs.load("classic/sir", ["population.agents=34", "seed.0.count=1", "time.until=20"])
    res = rs.run(sc, replicates=5, seed=2, workers=1, graphs={"contacts": g})
    assert res.network.layers[0].n_edges == g.number_of_edges()
    assert (res.raw.counts.sum(axis=2) == 34).all()
    with pytest.raises(ScenarioError, match="34"):
        rs.run(rs.override(sc, ["population.agents=40"]), graphs={"contacts": g})


def test_tidy_frames_and_memory_estimate():
    sc = rs.load("classic/sir", ["population.agents=500", "time.until=10"])
    res = rs.run(sc, replicates=3, seed=1)
    ts = res.timeseries
    assert list(ts.columns[:6]) == ["replicate", "time", "trait", "state", "count", "people"]
    per_time = ts.groupby(["replicate", "time"])["count"].sum()
    assert (per_time == 500).all()
    est = rs.estimate_memory(sc, replicates=3, workers=2)
    assert 0 < est["total"] < 2**30


@pytest.mark.parametrize("name", ["xiaomi_word_of_mouth", "dingtalk_review_storm"])
def test_the_other_cases_run_and_conserve_agents(name):
    res = rs.run(name, replicates=2, seed=1, workers=2)
    n = res.scenario.population.agents
    assert (res.raw.counts.sum(axis=2) == n).all()
    table = res.outcome_table()
    assert len(table) and np.isfinite(table["median"]).all()
