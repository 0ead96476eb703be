"""Scenario files: the issue's examples load as written; every bad input is a clear ScenarioError."""

from __future__ import annotations

import json

import pytest

from rumorsim.errors import ScenarioError
from rumorsim.scenario import load_scenario, parse_scenario, scenario_json_schema

from conftest import SCENARIOS


def test_issue_examples_load_exactly_as_written():
    sir = load_scenario(SCENARIOS / "classic" / "sir.yaml")
    assert sir.population.agents == 10000
    assert sir.transitions[0].induced_by.layer == "contacts"
    assert sir.time.unit == "day" and sir.time.report_interval == 0.5
    mt = load_scenario(SCENARIOS / "classic" / "maki_thompson.yaml")
    assert mt.network.layers["everyone"].generator == "complete"
    assert mt.transitions[1].induced_by.state == {"rumor": ["spreader", "stifler"]}


def test_models_are_frozen():
    sc = load_scenario(SCENARIOS / "classic" / "sir.yaml")
    with pytest.raises(Exception):
        sc.population.agents = 5  # type: ignore[misc]


def test_overrides_address_transitions_by_name_and_parse_values():
    sc = load_scenario(SCENARIOS / "classic" / "maki_thompson.yaml",
                       ["population.agents=5000", "transitions.telling.rate=0.0002"])
    assert sc.population.agents == 5000
    assert sc.transition("telling").rate == pytest.approx(2e-4)
    sc = load_scenario(SCENARIOS / "classic" / "sir.yaml", ["transitions.1.rate=2", "population.represents=1e6"])
    assert sc.transitions[1].rate == 2.0 and sc.population.represents == 1e6


def _error(text: str, overrides=()) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "case.yaml", list(overrides))
    return info.value


def test_unknown_key_says_where_and_suggests(sir_text):
    err = _error(sir_text.replace("transitions:", "transitons:"))
    assert err.file == "case.yaml" and err.line == 18 and err.field == "transitons"
    assert "Did you mean `transitions`?" in str(err)


def test_unknown_nested_key(sir_text):
    err = _error(sir_text.replace("rate: 1.0", "rat: 1.0"))
    assert err.field == "transitions[1].rat" and "`rate`" in str(err)


def test_unknown_state_and_layer(sir_text):
    err = _error(sir_text.replace("state: {health: I}}", "state: {health: X}}"))
    assert err.field == "transitions[0].induced_by.state.health" and err.line == 23
    assert "no state `X`" in str(err) and "S, I, R" in str(err)
    err = _error(sir_text.replace("layer: contacts", "layer: contact"))
    assert err.field == "transitions[0].induced_by.layer" and "Did you mean `contacts`?" in str(err)
    err = _error(sir_text.replace("from: {health: S}", "from: {mood: S}"))
    assert "no trait `mood`" in str(err)


@pytest.mark.parametrize("bad", ["probability: 1.5", "probability: -0.1"])
def test_probability_outside_unit_interval(sir_text, bad):
    err = _error(sir_text.replace("rate: 0.25 ", bad + " "))
    assert err.field == "transitions[0].probability" and err.line == 22


def test_negative_rate(sir_text):
    err = _error(sir_text.replace("rate: 1.0", "rate: -1.0"))
    assert err.field == "transitions[1].rate" and err.line == 27 and "-1.0" in str(err)


def test_outcome_probabilities_must_sum_to_one(sir_text):
    text = sir_text.replace(
        "    to: {health: R}\n",
        "    to:\n      - {state: {health: R}, p: 0.5}\n      - {state: {health: S}, p: 0.4}\n",
    )
    err = _error(text)
    assert err.field == "transitions[1]" and "sum to 0.9" in str(err)
    assert parse_scenario(text.replace("p: 0.4", "p: rest"), "ok.yaml")


def test_yaml_syntax_error_has_line(sir_text):
    err = _error(sir_text.replace("health: [S, I, R]", "health: [S, I, R\n"))
    assert "not valid YAML" in str(err) and err.line is not None


def test_object_constructing_tag_is_refused(sir_text, tmp_path):
    marker = tmp_path / "pwned"
    text = sir_text.replace(
        "name: SIR", f"name: !!python/object/apply:os.system ['touch {marker}']\nx: SIR")
    err = _error(text)
    assert "tag" in str(err) and err.line == 1
    assert not marker.exists()


def test_missing_edge_list_file(write, sir_text):
    p = write("s.yaml", sir_text.replace("{generator: erdos_renyi, mean_degree: 10}",
                                          "{generator: edgelist, path: nothere.txt.gz}"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert info.value.field == "network.layers.contacts.path" and info.value.line == 13


def test_override_path_that_does_not_exist(sir_text):
    err = _error(sir_text, ["transitions.infektion.rate=2"])
    assert "Did you mean `infection`?" in str(err) and err.file.startswith("--set")
    err = _error(sir_text, ["populaton.agents=2"])
    assert "Did you mean `population`?" in str(err)
    err = _error(sir_text, ["population.agents=-3"])
    assert err.field == "population.agents" and "--set" in err.file


def test_generator_parameters_are_required(sir_text):
    err = _error(sir_text.replace("{generator: erdos_renyi, mean_degree: 10}", "{generator: barabasi_albert}"))
    assert "needs `m`" in str(err)


def test_intervention_references_and_times(sir_text):
    base = sir_text + (
        "interventions:\n  vaccinate:\n    kind: broadcast\n    at: 5\n    reach: 0.2\n"
        "    effects: [{from: {health: S}, to: {health: R}, p: 1}]\n"
    )
    assert parse_scenario(base, "ok.yaml").interventions["vaccinate"].reach == 0.2
    assert "outside the run" in str(_error(base.replace("at: 5", "at: 500")))
    assert _error(base.replace("reach: 0.2", "reach: 1.5")).field == "interventions.vaccinate.reach"
    assert "no state `Q`" in str(_error(base.replace("to: {health: R}", "to: {health: Q}")))


def test_duplicate_keys_and_names(sir_text):
    assert "appears twice" in str(_error(sir_text.replace("name: SIR", "name: A\nname: SIR")))
    assert "two transitions" in str(_error(sir_text.replace("name: recovery", "name: infection")))


def test_json_schema_describes_the_format():
    schema = scenario_json_schema()
    json.dumps(schema)
    assert {"time", "population", "network", "traits", "transitions"} <= set(schema["properties"])
    assert "source" not in schema["properties"]


def test_every_shipped_scenario_validates_against_the_json_schema():
    import jsonschema  # (the `test` extra installs it)
    import yaml

    schema = scenario_json_schema()
    for p in sorted(SCENARIOS.rglob("*.yaml")):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        if "variants" in data or "observe" in data or ("base" in data and "parameters" in data):
            continue  # what-if, fit and sweep files have formats of their own
        jsonschema.validate(data, schema)


def test_override_can_add_a_section_the_file_lacks(sir_text):
    sc = parse_scenario(sir_text, "case.yaml", ["signals.capacity={kind: value, value: 5}"])
    assert sc.signals["capacity"].value == 5
    err = _error(sir_text, ["signalz.capacity={kind: value, value: 5}"])
    assert "Did you mean `signals`?" in str(err) and err.file.startswith("--set")


def test_edge_list_paths_follow_one_rule_for_validation_and_building(tmp_path, monkeypatch, sir_text):
    """`~` is expanded and relative paths start at the scenario's folder, for the
    validator and the builder alike (the validator used to refuse `~/edges.txt`)."""
    import rumorsim as rs

    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    (home / "scen").mkdir(parents=True)
    elsewhere.mkdir()
    edges = "".join(f"{i} {(i + 1) % 40}\n" for i in range(40))
    (home / "edges.txt").write_text(edges, encoding="utf-8")
    (home / "scen" / "ring.txt").write_text(edges, encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    small = sir_text.replace("agents: 10000", "agents: 40").replace("count: 10", "count: 1")
    for path in ("~/edges.txt", "ring.txt", str(home / "edges.txt")):
        p = home / "scen" / "s.yaml"
        p.write_text(small.replace("{generator: erdos_renyi, mean_degree: 10}",
                                   f"{{generator: edgelist, path: '{path}'}}"), encoding="utf-8")
        sc = load_scenario(p)
        net, _, _ = rs.build(sc, seed=1)
        assert net.layer("contacts").n_edges == 40, path
