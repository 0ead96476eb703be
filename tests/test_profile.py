"""Where the time goes: the kernel's work count (edge visits) and ``rumorsim run --profile``."""

from __future__ import annotations

import re

import numpy as np
from click.testing import CliRunner

import rumorsim as rs
from rumorsim.cli import cli
from rumorsim.engine import record_agent_states, run_replicates
from rumorsim.model import compile_model

from conftest import SCENARIOS


def test_edge_visits_count_each_changed_agents_edges_once_per_change():
    """SIR kept on neighbour counts (no edge pushes): an agent's edges are read when it
    enters I (the seeds' too: dated events count) and when it leaves I for R; run until
    nobody is infected, so the kernel's count is exactly 2 x the degree sum of the agents
    that end in R. A missed or double count on any path fails."""
    sc = rs.load(SCENARIOS / "classic" / "sir.yaml", ["population.agents=800", "time.until=60"])
    net, _, _ = rs.build(sc, seed=2)
    model = compile_model(sc, net, edge_push=False)
    assert not model.kernel_args.ctr_push.any()
    prof = {}
    raw = run_replicates(model, 1, seed=4, workers=1, profile=prof)
    final = record_agent_states(model, seed=4, replicate=0)[-1]
    assert raw.counts[0, -1, 1] == 0  # nobody infected at the end
    degree = np.diff(net.layers[0].indptr)
    assert prof["edge_visits"] == 2 * int(degree[final == 2].sum()) > 0
    assert prof["jit_seconds"] >= 0.0


def test_edge_visits_cover_each_push_sources_edges_once():
    """Independent cascade on edge pushes: each agent that becomes active pushes along all
    its edges once (the ones that do not fire are skipped, but covered); nobody pulls
    (targets are never re-entered). So the count is the degree sum of the agents that
    ever became active (ended spent), seeds included."""
    sc = rs.load(SCENARIOS / "classic" / "independent_cascade.yaml", ["population.agents=3000"])
    net, model, _ = rs.build(sc, seed=2)
    assert model.kernel_args.ctr_push.any()
    prof = {}
    run_replicates(model, 1, seed=5, workers=1, profile=prof)
    final = record_agent_states(model, seed=5, replicate=0)[-1]
    degree = np.diff(net.layers[0].indptr)
    assert prof["edge_visits"] == int(degree[final == 2].sum()) > 0


def test_edge_visits_do_not_depend_on_the_thread_count():
    sc = rs.load(SCENARIOS / "classic" / "independent_cascade.yaml", ["population.agents=2000"])
    _, model, _ = rs.build(sc, seed=1)
    one, two = {}, {}
    run_replicates(model, 4, seed=3, workers=1, profile=one)
    run_replicates(model, 4, seed=3, workers=2, profile=two)
    assert one["edge_visits"] == two["edge_visits"] > 0


def test_run_profile_prints_each_phase_and_the_kernel_rate(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", str(SCENARIOS / "classic" / "sir.yaml"), "--reps", "2",
                                      "--set", "population.agents=500", "-o", str(out), "-q",
                                      "--profile"])
    assert result.exit_code == 0, result.output
    text = result.output
    for phase in ("build network", "compile model", "load kernel", "kernel", "outputs", "figures",
                  "total"):
        assert re.search(rf"^  {phase}\s+\d+\.\d{{3}}", text, re.M), phase
    assert re.search(r"edge visits = [\d.,]+( [kM]| bn)? per second", text)
    assert (out / "figures").is_dir() and any((out / "figures").iterdir())
    assert (out / "summary.json").is_file()
