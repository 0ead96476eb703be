"""The command line: exit codes, one-paragraph errors, no tracebacks, nothing half-written."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rumorsim.cli import cli

from conftest import SCENARIOS

SIR = str(SCENARIOS / "classic" / "sir.yaml")
SMALL = ["--set", "population.agents=400", "--set", "time.until=20"]


class _Result:
    """A CliRunner result whose output has line wrapping folded away."""

    def __init__(self, res):
        self.exit_code = res.exit_code
        self.output = " ".join(res.output.split())


def invoke(*args):
    return _Result(CliRunner().invoke(cli, list(args)))


def test_help_everywhere():
    for cmd in ([], ["run"], ["compare"], ["validate"], ["plot"], ["report"], ["scenarios"], ["schema"]):
        res = invoke(*cmd, "--help")
        assert res.exit_code == 0 and "Usage" in res.output


def test_scenarios_lists_the_classics():
    res = invoke("scenarios")
    assert res.exit_code == 0
    assert "classic/sir" in res.output and "classic/maki_thompson" in res.output


def test_validate_ok():
    res = invoke("validate", SIR)
    assert res.exit_code == 0 and "ok:" in res.output


def test_run_writes_a_complete_run_directory(tmp_path):
    out = tmp_path / "sir"
    res = invoke("run", SIR, "--reps", "3", "--seed", "7", *SMALL, "-o", str(out))
    assert res.exit_code == 0, res.output
    for name in ("scenario.yaml", "timeseries.csv", "transitions.csv", "summary.json", "provenance.json"):
        assert (out / name).is_file(), name
    assert list((out / "figures").glob("*.png")) and list((out / "figures").glob("*.svg"))
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 7 and prov["replicates"] == 3 and "network_stats" in prov
    assert "population.agents=400" in prov["command"]
    # redraw and report
    assert invoke("plot", str(out)).exit_code == 0
    res = invoke("report", str(out))
    assert res.exit_code == 0 and (out / "report.html").is_file()


def test_run_refuses_a_non_empty_directory(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    res = invoke("run", SIR, "--reps", "2", *SMALL, "-o", str(out))
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert (out / "keep.txt").read_text() == "precious"


@pytest.mark.parametrize("args, words", [
    (["--set", "transitions.infektion.rate=2"], ["infection"]),
    (["--set", "transitions.recovery.rate=-1"], ["transitions[1].rate", "greater than or equal to 0"]),
    (["--set", "transitions.infection.probability=1.5", "--set", "transitions.infection.rate=null"],
     ["probability", "less than or equal to 1"]),
])
def test_bad_overrides_exit_2_without_traceback_or_output(tmp_path, args, words):
    out = tmp_path / "never"
    res = invoke("run", SIR, *args, "-o", str(out))
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    for w in words:
        assert w in res.output
    assert not out.exists()


def test_bad_files_exit_2_with_file_line_and_field(write, sir_text, tmp_path):
    cases = {
        "unknown.yaml": (sir_text.replace("transitions:", "transitons:"), ["line 18", "transitions"]),
        "tag.yaml": (sir_text.replace("name: SIR", "name: !!python/object/apply:os.getcwd []\nx: SIR"), ["tag"]),
        "syntax.yaml": (sir_text.replace("health: [S, I, R]", "health: [S, I, R\n"), ["not valid YAML"]),
    }
    for name, (text, words) in cases.items():
        p = write(name, text)
        out = tmp_path / f"out-{name}"
        res = invoke("run", str(p), "-o", str(out))
        assert res.exit_code == 2, name
        assert name in res.output and "Traceback" not in res.output
        for w in words:
            assert w in res.output, (name, res.output)
        assert not out.exists()


def test_malformed_edge_list_line_is_named(write, sir_text, tmp_path):
    (tmp_path / "edges.txt").write_text("0 1\n1 2\n2 x\n")
    p = write("edges.yaml", sir_text.replace(
        "{generator: erdos_renyi, mean_degree: 10}", "{generator: edgelist, path: edges.txt}"
    ).replace("agents: 10000", "agents: 3").replace("count: 10", "count: 1"))
    res = invoke("run", str(p), "-o", str(tmp_path / "out"))
    assert res.exit_code == 2 and "edges.txt, line 3" in res.output
    assert not (tmp_path / "out").exists()


def test_missing_scenario_file(tmp_path):
    res = invoke("run", str(tmp_path / "nope.yaml"))
    assert res.exit_code == 2 and "nope.yaml" in res.output and "rumorsim scenarios" in res.output


def test_schema_is_json(tmp_path):
    res = invoke("schema")
    assert res.exit_code == 0 and json.loads(res.output)["title"] == "Rumorsim scenario"


def test_replicates_is_spelled_as_in_the_api_and_reps_is_its_alias(tmp_path):
    for i, flag in enumerate(("--replicates", "--reps", "-r")):
        out = tmp_path / f"run{i}"
        res = invoke("run", SIR, flag, "2", "--seed", "1", *SMALL, "--no-figures", "-q", "-o", str(out))
        assert res.exit_code == 0, res.output
        assert json.loads((out / "provenance.json").read_text())["replicates"] == 2
    assert "--replicates" in invoke("run", "--help").output
    assert "--replicates" in invoke("compare", "--help").output


def test_an_oversized_scenario_is_refused_before_anything_is_built(tmp_path, monkeypatch):
    import rumorsim.memory as memory

    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 10 * 2**20)
    out = tmp_path / "never"
    res = invoke("run", SIR, "--replicates", "1", *SMALL, "-o", str(out))
    assert res.exit_code == 2 and "needs about" in res.output and "Traceback" not in res.output
    assert not out.exists()
