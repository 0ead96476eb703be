"""The classic scenarios: every file validates, documents itself, and runs small.

Each file in ``scenarios/classic`` is loaded, shrunk to 500 agents with an override (as a
user would with ``--set population.agents=500``) and run for three replicates; agents
must be conserved at every report time and cumulative firings must never decrease. The
numbers each file promises in its ``theory`` are checked in ``test_theory.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rumorsim as rs
from rumorsim.scenario import parse_scenario

from conftest import SCENARIOS

CLASSIC = sorted((SCENARIOS / "classic").glob("*.yaml"))
SMALL = 500

#: The text of the issue that asked for the Watts scenario: it must load as written.
WATTS_ISSUE_TEXT = """\
name: Watts threshold cascade
time: {dt: 1, until: 200}
population: {agents: 10000}
network:
  layers:
    friends: {generator: erdos_renyi, mean_degree: 4}
traits:
  opinion: [inactive, active]
seed:
  - {state: {opinion: active}, count: 1, strategy: random}
transitions:
  - name: adoption
    from: {opinion: inactive}
    to: {opinion: active}
    threshold: {layer: friends, state: {opinion: active}, fraction: 0.18}
"""


def test_every_classic_model_is_shipped():
    names = {p.stem for p in CLASSIC}
    assert names >= {
        "sir", "sis", "seir", "independent_cascade", "linear_threshold",
        "watts_threshold", "maki_thompson", "daley_kendall", "seiz",
    }


@pytest.mark.parametrize("path", CLASSIC, ids=lambda p: p.stem)
def test_classic_scenario_documents_its_model(path: Path):
    sc = rs.load(path)
    assert sc.name.strip()
    assert len(sc.description.split()) >= 5, "say what the model is in `description`"
    assert sc.theory and len(sc.theory.split()) >= 8, "name the known result in `theory`"


@pytest.mark.parametrize("path", CLASSIC, ids=lambda p: p.stem)
def test_classic_scenario_runs_small_and_conserves_agents(path: Path):
    sc = rs.load(path, [f"population.agents={SMALL}"])
    res = rs.run(sc, replicates=3, seed=1, workers=1)
    counts = res.raw.counts
    assert counts.shape[0] == 3
    assert np.all(counts.sum(axis=2) == SMALL)
    assert np.all(counts >= 0)
    # cumulative firings never decrease, and something happened
    assert np.all(np.diff(res.raw.fired, axis=1) >= 0)
    assert res.raw.fired[:, -1].sum() > 0
    # the tidy table agrees with the raw counts
    ts = res.timeseries
    assert set(ts["replicate"]) == {0, 1, 2}
    per_time = ts.groupby(["replicate", "time", "trait"])["count"].sum()
    assert np.all(per_time.to_numpy() == SMALL)


@pytest.mark.parametrize("path", CLASSIC, ids=lambda p: p.stem)
def test_classic_scenario_resolved_yaml_round_trips(path: Path):
    sc = rs.load(path)
    again = parse_scenario(rs.scenario_yaml(sc), str(path))
    assert again.model_dump() == sc.model_dump()


def test_watts_issue_text_is_accepted_as_written():
    issue = parse_scenario(WATTS_ISSUE_TEXT)
    shipped = rs.load(SCENARIOS / "classic" / "watts_threshold.yaml")
    keep = {"description", "theory", "assumptions"}
    assert issue.model_dump(exclude=keep) == shipped.model_dump(exclude=keep)
    tr = issue.transitions[0]
    assert tr.kind == "threshold" and tr.threshold.fraction == 0.18


@pytest.mark.parametrize("name", ["maki_thompson", "daley_kendall", "seiz"])
def test_complete_graph_rates_are_per_pair(name: str):
    """On the complete graph a per-person contact rate c is entered as c / N."""
    sc = rs.load(SCENARIOS / "classic" / f"{name}.yaml")
    n = sc.population.agents
    per_person = {t.name: t.rate * n for t in sc.transitions if t.induced_by is not None}
    expected = {
        "maki_thompson": {"telling": 1.0, "stifling": 1.0},
        "daley_kendall": {"telling": 1.0, "spreaders_meet": 1.0, "meets_stifler": 1.0},
        "seiz": {"meets_poster": 0.8, "meets_skeptic": 0.4, "convinced_by_poster": 0.4},
    }[name]
    assert per_person == pytest.approx(expected)
