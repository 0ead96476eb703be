"""Sweeps: the table, per-point reproduction, workers, Dask, resume after kill -9, failures.

Every sweep here runs the shipped SIR scenario at a few hundred agents, so a point costs
tens of milliseconds and the whole file a few tens of seconds (most of it starting
worker processes and a Dask cluster).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rumorsim.cli import cli
from rumorsim.design import design_points, point_count
import rumorsim as rs
from rumorsim.sweep import point_seed, run_points, run_sweep
from rumorsim.sweepfile import load_sweep

SMALL = """
common:
  population.agents: 400
  time.until: 20
"""


def sweep_file(tmp_path: Path, body: str, name: str = "s.yaml", common: str = SMALL) -> Path:
    p = tmp_path / name
    p.write_text("base: classic/sir\nseed: 3\n" + common + body, encoding="utf-8")
    return p


GRID = """
design: grid
replicates: 3
parameters:
  transitions.infection.rate: {values: [0.1, 0.3]}
  transitions.recovery.rate: {low: 0.5, high: 1.5, steps: 3}
outcomes: [final_health_R, peak_health_I]
"""


def test_grid_sweep_writes_one_tidy_table(tmp_path: Path) -> None:
    spec = load_sweep(sweep_file(tmp_path, GRID))
    res = run_sweep(spec, tmp_path / "out", log=lambda s: None)
    assert res.ok and res.points == 6 and res.computed == 6 and res.reused == 0
    rows = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert list(rows.columns) == ["point", "replicate", "seed", "transitions.infection.rate",
                                  "transitions.recovery.rate", "final_health_R", "peak_health_I"]
    assert len(rows) == 6 * 3
    assert rows["point"].tolist() == sorted(rows["point"].tolist())
    assert set(rows["seed"]) == {3}  # common random numbers: every point runs the sweep's seed
    # the grid is the product, first parameter slowest
    first = rows.drop_duplicates("point")
    assert first["transitions.infection.rate"].tolist() == [0.1] * 3 + [0.3] * 3
    assert first["transitions.recovery.rate"].tolist() == [0.5, 1.0, 1.5] * 2
    pts = pd.read_csv(tmp_path / "out" / "points.csv")
    assert len(pts) == 6 and (pts["status"] == "ok").all()
    for o in ("final_health_R", "peak_health_I"):
        med = rows.groupby("point")[o].median().to_numpy()
        assert np.allclose(pts[f"{o}_median"], med)
        assert (pts[f"{o}_p5"] <= pts[f"{o}_median"]).all() and (pts[f"{o}_median"] <= pts[f"{o}_p95"]).all()
    assert pd.read_csv(tmp_path / "out" / "results.csv").equals(rows)
    for f in ("sweep.yaml", "provenance.json", "figures/heatmap_final_health_R.png"):
        assert (tmp_path / "out" / f).is_file(), f
    # more infection, more people ever infected (median over replicates, common random numbers)
    by = pts.set_index(["transitions.infection.rate", "transitions.recovery.rate"])["final_health_R_median"]
    assert by[(0.3, 1.0)] > by[(0.1, 1.0)]


@pytest.mark.parametrize("crn", [True, False])
def test_each_point_reproduces_with_rumorsim_run(tmp_path: Path, crn: bool) -> None:
    """The `seed` column is the point's run seed: `rumorsim run --set ... --seed` gives its rows."""
    body = GRID + f"common_random_numbers: {str(crn).lower()}\n"
    spec = load_sweep(sweep_file(tmp_path, body))
    run_sweep(spec, tmp_path / "out", log=lambda s: None, figures=False)
    rows = pd.read_parquet(tmp_path / "out" / "results.parquet")
    if not crn:
        assert rows.groupby("point")["seed"].first().nunique() == 6
    pt = rows[rows["point"] == 4]
    seed = int(pt["seed"].iloc[0])
    args = ["run", "classic/sir", "--set", "population.agents=400", "--set", "time.until=20",
            "--set", f"transitions.infection.rate={float(pt['transitions.infection.rate'].iloc[0])!r}",
            "--set", f"transitions.recovery.rate={float(pt['transitions.recovery.rate'].iloc[0])!r}",
            "--seed", str(seed), "--reps", "3", "-o", str(tmp_path / "run"), "--no-figures", "-q"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    vals = rs.read_run(tmp_path / "run").outcome_values().pivot(index="replicate", columns="outcome",
                                                                 values="value")
    for o in ("final_health_R", "peak_health_I"):
        assert vals[o].tolist() == pt[o].tolist()


def test_point_seeds_come_from_one_seed_sequence() -> None:
    assert point_seed(5, 0, True) == point_seed(5, 9, True) == 5
    seeds = [point_seed(5, i, False) for i in range(50)]
    assert len(set(seeds)) == 50 and all(0 <= s < 2**63 for s in seeds)
    assert seeds == [point_seed(5, i, False) for i in range(50)]
    assert point_seed(6, 0, False) != seeds[0]


def test_run_points_in_memory_with_common_random_numbers() -> None:
    """A 1-D sweep with common random numbers: replicate r of every point shares its stream,
    so with identical points the rows are identical, and the curve rises monotonically
    in the infection rate replicate by replicate in this (supercritical) range."""
    pts = [{"transitions.infection.rate": r} for r in (0.2, 0.2, 0.3, 0.5)]
    df = run_points("classic/sir", pts, replicates=4, seed=11, outcomes=["final_health_R"],
                    common_random_numbers=True) if False else run_points(
        _small_sir(), pts, replicates=4, seed=11, outcomes=["final_health_R"])
    a = df[df.point == 0]["final_health_R"].to_numpy()
    b = df[df.point == 1]["final_health_R"].to_numpy()
    assert np.array_equal(a, b)
    med = df.groupby("point")["final_health_R"].median().to_numpy()
    assert med[1] < med[2] < med[3]


def _small_sir():
    import rumorsim as rs

    return rs.load("classic/sir", ["population.agents=400", "time.until=20"])


@pytest.mark.slow
def test_one_and_two_worker_processes_give_identical_tables(tmp_path: Path) -> None:
    spec = load_sweep(sweep_file(tmp_path, GRID))
    run_sweep(spec, tmp_path / "w1", workers=1, log=lambda s: None, figures=False)
    run_sweep(spec, tmp_path / "w2", workers=2, log=lambda s: None, figures=False)
    for name in ("results.parquet", "points.parquet"):
        assert (tmp_path / "w1" / name).read_bytes() == (tmp_path / "w2" / name).read_bytes()


@pytest.mark.slow
def test_local_dask_cluster_gives_the_same_table_byte_for_byte(tmp_path: Path) -> None:
    """A real LocalCluster (worker processes, not threads); the edge list of the base
    travels inside the task, so the workers read no file of ours."""
    distributed = pytest.importorskip("distributed")
    data = Path(__file__).resolve().parents[1] / "scenarios" / "data" / "email-Eu-core.txt.gz"
    assert data.is_file()
    base = tmp_path / "edges_sir.yaml"
    base.write_text(
        "name: SIR on a real e-mail network\n"
        "time: {dt: 0.1, until: 15}\npopulation: {agents: 1005}\n"
        "network: {layers: {mail: {generator: edgelist, path: email.txt.gz}}}\n"
        "traits: {health: [S, I, R]}\nseed: [{state: {health: I}, count: 5}]\n"
        "transitions:\n"
        "  - {name: infection, from: {health: S}, to: {health: I}, rate: 0.05,"
        " induced_by: {layer: mail, state: {health: I}}}\n"
        "  - {name: recovery, from: {health: I}, to: {health: R}, rate: 1.0}\n", encoding="utf-8")
    (tmp_path / "email.txt.gz").write_bytes(data.read_bytes())
    sw = tmp_path / "sw.yaml"
    sw.write_text("base: edges_sir.yaml\nseed: 2\nreplicates: 2\ndesign: lhs\nsamples: 6\n"
                  "parameters:\n  transitions.infection.rate: {low: 0.01, high: 0.2, scale: log}\n"
                  "outcomes: [final_health_R]\n", encoding="utf-8")
    spec = load_sweep(sw)
    run_sweep(spec, tmp_path / "local", log=lambda s: None, figures=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        # through the command line, by address, as with a lab's scheduler
        r = CliRunner().invoke(cli, ["sweep", str(sw), "-o", str(tmp_path / "dask"), "--no-figures",
                                     "--scheduler", cluster.scheduler_address])
        assert r.exit_code == 0, r.output
    assert (tmp_path / "local" / "results.parquet").read_bytes() == \
        (tmp_path / "dask" / "results.parquet").read_bytes()
    rows = pd.read_parquet(tmp_path / "dask" / "results.parquet")
    assert len(rows) == 12 and rows["final_health_R"].max() > 5


RESUME = """
design: grid
replicates: 4
parameters:
  transitions.infection.rate: {low: 0.1, high: 0.5, steps: 40}
outcomes: [final_health_R]
"""


@pytest.mark.slow
def test_sweep_killed_with_sigkill_resumes_to_the_same_table(tmp_path: Path) -> None:
    """A real subprocess, killed with SIGKILL in the middle; the same command again reuses
    the committed points, computes the rest, and the table equals an uninterrupted sweep's."""
    sw = sweep_file(tmp_path, RESUME, common="common:\n  population.agents: 3000\n  time.until: 40\n")
    cmd = [sys.executable, "-m", "rumorsim.cli", "sweep", str(sw), "-o", str(tmp_path / "killed"),
           "--no-figures"]
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    pdir = tmp_path / "killed" / "points"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if pdir.is_dir() and len(list(pdir.glob("p*.json"))) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(list(pdir.glob("p*.json")))
    assert 3 <= n_before < 40
    assert not (tmp_path / "killed" / "results.parquet").exists()
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{n_before} of 40 points reused" in again.stderr
    spec = load_sweep(sw)
    run_sweep(spec, tmp_path / "whole", log=lambda s: None, figures=False)
    assert (tmp_path / "killed" / "results.parquet").read_bytes() == \
        (tmp_path / "whole" / "results.parquet").read_bytes()


def test_rerun_of_a_finished_sweep_reuses_everything_and_another_sweep_is_refused(tmp_path: Path) -> None:
    sw = sweep_file(tmp_path, GRID)
    runner = CliRunner()
    out = str(tmp_path / "out")
    r1 = runner.invoke(cli, ["sweep", str(sw), "-o", out, "--no-figures"])
    assert r1.exit_code == 0, r1.output
    before = (tmp_path / "out" / "results.parquet").read_bytes()
    r2 = runner.invoke(cli, ["sweep", str(sw), "-o", out, "--no-figures"])
    assert r2.exit_code == 0 and "6 of 6 points reused" in r2.output
    assert (tmp_path / "out" / "results.parquet").read_bytes() == before
    other = sweep_file(tmp_path, GRID.replace("replicates: 3", "replicates: 2"), name="other.yaml")
    r3 = runner.invoke(cli, ["sweep", str(other), "-o", out, "--no-figures"])
    assert r3.exit_code == 2 and "different sweep" in r3.output and "Traceback" not in r3.output
    assert (tmp_path / "out" / "results.parquet").read_bytes() == before
    r4 = runner.invoke(cli, ["sweep", str(other), "-o", out, "--no-figures", "--overwrite"])
    assert r4.exit_code == 0, r4.output
    assert len(pd.read_parquet(tmp_path / "out" / "results.parquet")) == 12


def test_a_failing_point_is_recorded_and_the_others_go_on(tmp_path: Path) -> None:
    """A point whose network would not fit in memory is refused by the memory check; the
    sweep records it, finishes the others, and exits non-zero naming it."""
    body = """
design: grid
replicates: 2
parameters:
  population.agents: {values: [300, 2000000000]}
outcomes: [final_health_R]
"""
    sw = sweep_file(tmp_path, body, common="common:\n  time.until: 10\n")
    r = CliRunner().invoke(cli, ["sweep", str(sw), "-o", str(tmp_path / "out"), "--no-figures"])
    assert r.exit_code == 1, r.output
    assert "1 of 2 points failed" in r.output and "point 1" in r.output
    rows = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert rows["point"].unique().tolist() == [0]
    fails = pd.read_csv(tmp_path / "out" / "failures.csv")
    assert fails["point"].tolist() == [1] and "memory" in fails["error"].iloc[0].lower()
    pts = pd.read_csv(tmp_path / "out" / "points.csv")
    assert pts["status"].tolist() == ["ok", "failed"]


BAD = [
    ("design: factorial\nparameters: {transitions.infection.rate: {low: 0.1, high: 0.2}}\n",
     "unknown design `factorial`", 7),
    ("design: lhs\nsamples: 4\nparameters:\n  transitions.infektion.rate: {low: 0.1, high: 0.2}\n",
     "infektion", 10),
    ("design: lhs\nsamples: 4\nparameters:\n  transitions.infection.rate: {low: 0.4, high: 0.2}\n",
     "must be below `high`", 10),
    ("design: sobol\nsamples: 12\nparameters:\n  transitions.infection.rate: {low: 0.1, high: 0.2}\n",
     "power of two", 8),
    ("design: grid\nparameters:\n  transitions.infection.rate: {values: [0.1, fast]}\n",
     "is not a number", 9),
    ("design: grid\nparameters:\n  network.layers.contacts.generator: {values: [1, 2]}\n",
     "is not a number in the base scenario", 9),
    ("design: grid\nparameters:\n  transitions.infection.rate: {values: [0.1, -1]}\n",
     "does not accept", 9),
    ("design: grid\nparameters:\n  transitions.infection.rate: {values: [0.1]}\nsteps: 3\n",
     "unknown key `steps`", 10),
    ("design: grid\nparameters:\n  transitions.infection.rate: {values: [0.1]}\noutcomes: [final_r]\n",
     "no outcome `final_r`", 10),
]


@pytest.mark.parametrize("body,message,line", BAD, ids=[m for _, m, _ in BAD])
def test_bad_sweep_files_get_one_paragraph_and_nothing_is_written(tmp_path: Path, body: str, message: str,
                                                                   line: int) -> None:
    sw = sweep_file(tmp_path, body)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["sweep", str(sw), "-o", str(out)])
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())  # the message is one paragraph, wrapped
    assert message in text and f"{sw}, line {line}" in text
    assert "Traceback" not in r.output
    assert not out.exists()


def test_designs_have_the_promised_points(tmp_path: Path) -> None:
    body = ("design: {d}\nsamples: {n}\nparameters:\n"
            "  transitions.infection.rate: {{low: 0.05, high: 0.5, scale: log}}\n"
            "  transitions.recovery.rate: {{low: 0.5, high: 2.0}}\n"
            "  seed.0.count: {{low: 1, high: 20, integer: true}}\n")
    lhs = load_sweep(sweep_file(tmp_path, body.format(d="lhs", n=10)))
    pts = design_points(lhs)
    assert len(pts) == point_count(lhs) == 10
    # Latin hypercube: one point in each of the 10 equal strata of every (log) range
    u = (np.log(pts["transitions.infection.rate"]) - np.log(0.05)) / (np.log(0.5) - np.log(0.05))
    assert sorted(np.floor(u * 10).astype(int)) == list(range(10))
    assert (pts["seed.0.count"] == pts["seed.0.count"].round()).all()
    assert design_points(lhs).equals(pts)  # the sampler is seeded by the sweep's seed
    state = np.random.get_state()[1].copy()
    sob = load_sweep(sweep_file(tmp_path, body.format(d="sobol", n=8)))
    mor = load_sweep(sweep_file(tmp_path, body.format(d="morris", n=3)))
    assert len(design_points(sob)) == point_count(sob) == 8 * 5
    assert len(design_points(mor)) == point_count(mor) == 3 * 4
    assert np.array_equal(np.random.get_state()[1], state)  # numpy's global generator untouched


def test_report_of_a_sweep_directory(tmp_path: Path) -> None:
    sw = sweep_file(tmp_path, GRID.replace("  transitions.recovery.rate: {low: 0.5, high: 1.5, steps: 3}\n", ""))
    runner = CliRunner()
    assert runner.invoke(cli, ["sweep", str(sw), "-o", str(tmp_path / "out")]).exit_code == 0
    assert (tmp_path / "out" / "figures" / "sweep_curves.png").is_file()
    r = runner.invoke(cli, ["report", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "transitions.infection.rate" in html and "data:image/png;base64" in html


def test_validate_and_scenarios_know_sweep_files(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["validate", "company_dilemma_sweep"])
    assert r.exit_code == 0 and "grid sweep" in r.output and "72 points x 8 replicates" in r.output
    r = runner.invoke(cli, ["scenarios"])
    assert r.exit_code == 0 and "[sweep]" in r.output
    bad = sweep_file(tmp_path, BAD[0][0])
    r = runner.invoke(cli, ["validate", str(bad)])
    assert r.exit_code == 2 and "unknown design" in r.output


@pytest.mark.slow
def test_reading_a_sweep_never_loads_numba(tmp_path: Path) -> None:
    """`rumorsim report`, `rumorsim sensitivity` and `rumorsim validate` on a sweep, in a
    fresh interpreter, leave numba and the kernel out of ``sys.modules``."""
    (tmp_path / "sw.yaml").write_text(
        "base: classic/sir\ndesign: morris\nsamples: 2\nreplicates: 2\nseed: 1\n"
        "common: {population.agents: 300, time.until: 10}\n"
        "parameters:\n  transitions.infection.rate: {low: 0.1, high: 0.4}\n"
        "  transitions.recovery.rate: {low: 0.5, high: 2}\noutcomes: [final_health_R]\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["sweep", str(tmp_path / "sw.yaml"), "-o", str(tmp_path / "out"),
                                    "--no-figures"]).exit_code == 0
    code = (
        "import sys\n"
        "from rumorsim.cli import cli\n"
        "for args in (['report', sys.argv[1]], ['sensitivity', sys.argv[1], '--no-figures'],\n"
        "             ['validate', sys.argv[2]]):\n"
        "    try:\n"
        "        cli.main(args=args, prog_name='rumorsim')\n"
        "    except SystemExit as e:\n"
        "        assert not e.code, e.code\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'numba'\n"
        "                or m in ('rumorsim.kernel', 'rumorsim.model', 'rumorsim.engine'))\n"
        "print('LOADED', loaded)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out"), str(tmp_path / "sw.yaml")],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, MPLBACKEND="Agg"))
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout, proc.stdout
    assert (tmp_path / "out" / "report.html").is_file()


def test_run_points_raises_or_records_a_failed_point() -> None:
    from rumorsim.sweep import SweepError

    pts = [{"population.agents": 300}, {"population.agents": 2_000_000_000}]
    with pytest.raises(SweepError) as err:
        run_points(_small_sir(), pts, replicates=2, seed=1, outcomes=["final_health_R"])
    assert list(err.value.failures) == [1] and "memory" in str(err.value).lower()
    df = run_points(_small_sir(), pts, replicates=2, seed=1, outcomes=["final_health_R"], on_error="nan")
    assert df["final_health_R"][df.point == 0].notna().all() and df["final_health_R"][df.point == 1].isna().all()
    assert list(df.attrs["failures"]) == [1]
