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


# ------------------------------------------------------------ one way to override

TINY = {"population.agents": 300, "time.until": 10}


def test_override_takes_a_mapping_or_set_strings_with_the_same_result():
    sc = rs.load("classic/sir")
    as_map = rs.override(sc, {"population.agents": 300, "transitions.infection.rate": 0.5})
    as_strings = rs.override(sc, ["population.agents=300", "transitions.infection.rate=0.5"])
    assert as_map == as_strings
    assert rs.load("classic/sir", overrides={"population.agents": 300}) == \
        rs.load("classic/sir", overrides=["population.agents=300"])
    # a whole new entry as a value
    sc2 = rs.override(sc, {"interventions.lockdown": {"kind": "scale", "transition": "infection",
                                                      "at": 1, "factor": 0.5}})
    assert sc2.interventions["lockdown"].factor == 0.5
    with pytest.raises(ScenarioError, match="does not exist|unknown key"):
        rs.override(sc, {"population.agnets": 3})


def test_the_old_override_forms_are_gone():
    sc = rs.load("classic/sir")
    assert not hasattr(rs, "with_overrides")
    with pytest.raises(TypeError):
        rs.override(sc, population__agents=300)


def test_run_overrides_go_through_the_same_function():
    a = rs.run("classic/sir", replicates=2, seed=4, workers=1, overrides=TINY)
    b = rs.run(rs.override(rs.load("classic/sir"), TINY), replicates=2, seed=4, workers=1)
    assert a.scenario == b.scenario
    assert np.array_equal(a.raw.counts, b.raw.counts)


# ------------------------------------------------------------------- seeds


def test_seed_takes_an_int_or_a_seed_sequence_and_provenance_can_repeat_it():
    sc = rs.load("classic/sir", overrides=TINY)
    by_int = rs.run(sc, replicates=3, seed=7, workers=1)
    by_seq = rs.run(sc, replicates=3, seed=np.random.SeedSequence(7), workers=2)
    assert np.array_equal(by_int.raw.counts, by_seq.raw.counts)   # SeedSequence(7) is 7
    child = np.random.SeedSequence(7).spawn(2)[1]
    batch = rs.run(sc, replicates=3, seed=child, workers=1)
    assert not np.array_equal(batch.raw.counts, by_int.raw.counts)
    record = batch.provenance["seed"]
    assert record == {"entropy": 7, "spawn_key": [1]}
    from rumorsim.seeds import seed_from_record

    again = rs.run(sc, replicates=3, seed=seed_from_record(record), workers=1)
    assert np.array_equal(again.raw.counts, batch.raw.counts)
    with pytest.raises(ScenarioError, match="seed"):
        rs.run(sc, replicates=1, seed=-1)


def test_a_seed_sequence_survives_the_run_directory(tmp_path):
    sc = rs.load("classic/sir", overrides=TINY)
    child = np.random.SeedSequence(11).spawn(3)[2]
    res = rs.run(sc, replicates=2, seed=child, workers=1)
    back = rs.read_run(rs.write_run(res, tmp_path / "run", figures=False))
    assert back.provenance["seed"] == {"entropy": 11, "spawn_key": [2]}
    assert np.array_equal(back.raw.counts, res.raw.counts)


# ---------------------------------------------------------- the memory guard


def test_run_and_build_refuse_an_oversized_scenario_before_building(monkeypatch):
    """The API owns the check: nothing is built (not even a user's graph layer)."""
    import rumorsim.api as api
    import rumorsim.memory as memory
    from rumorsim.errors import MemoryBudgetError

    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 10 * 2**20)

    def must_not_build(*a, **k):
        raise AssertionError("the network was built before the memory check")

    monkeypatch.setattr(api, "build_network", must_not_build)
    monkeypatch.setattr(api, "network_from_graphs", must_not_build)
    sc = rs.load("classic/sir", overrides=TINY)
    with pytest.raises(MemoryBudgetError, match="needs about"):
        rs.run(sc, replicates=1, workers=1)
    with pytest.raises(MemoryBudgetError):
        rs.run(sc, replicates=1, workers=1, graphs={"contacts": nx.path_graph(300)})
    with pytest.raises(MemoryBudgetError):
        rs.build(sc)


# ------------------------------------------------------------------ compare


def test_compare_takes_a_whatif_file_with_overrides(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"baseline: {SCENARIOS / 'classic' / 'sir.yaml'}\nvariants:\n"
                    "  baseline: {}\n  slower: {transitions.infection.rate: 0.1}\n",
                    encoding="utf-8")
    cmp = rs.compare(plan, replicates=2, seed=3, workers=1, overrides=TINY)
    assert list(cmp.results) == ["baseline", "slower"]
    assert cmp.results["slower"].scenario.population.agents == 300
    tab = cmp.table().set_index(["variant", "outcome"])
    assert (tab.xs("baseline")["diff_median"] == 0).all()
    with pytest.raises(ScenarioError, match="make_plan"):
        rs.compare(cmp.plan, overrides=TINY)
