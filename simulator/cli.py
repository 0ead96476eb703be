"""The `rumorsim` command line.

Every user mistake becomes a one-paragraph message and a non-zero exit (2); tracebacks
only with ``--debug``. Long work shows a progress bar on a terminal.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import click

from . import __version__
from .errors import OutputError, RumorsimError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _fail(message: str, code: int = EXIT_USER_ERROR) -> None:
    click.echo(click.wrap_text("error: " + message, width=100, preserve_paragraphs=True), err=True)
    sys.exit(code)


def friendly(fn: Callable) -> Callable:
    """Turn Rumorsim errors into a message and exit code (tracebacks only with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return fn(*args, **kwargs)
        except RumorsimError as exc:
            if debug:
                raise
            _fail(exc.format())
        except KeyboardInterrupt:
            if debug:
                raise
            _fail("interrupted; nothing was written for the unfinished run "
                  "(finished sweep points are kept and resume on the next run)", EXIT_INTERRUPTED)
        except MemoryError:
            if debug:
                raise
            _fail("ran out of memory. Try fewer agents (population.agents), fewer replicates "
                  "at once (--workers 1) or a coarser report grid (time.report_every)")
        except Exception as exc:  # a bug, not a user mistake: say so briefly
            if debug:
                raise
            _fail(f"internal error ({type(exc).__name__}: {exc}). This is a bug in Rumorsim; "
                  "rerun with --debug for the traceback and please report it", 3)

    return wrapper


def _command_line() -> str:
    """The command as typed, rebuilt from the parsed parameters (for provenance)."""
    import shlex

    ctx = click.get_current_context()
    words = [ctx.command_path]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value in (None, False, ()) or isinstance(param, click.Option) and value == param.default:
            continue
        if isinstance(param, click.Argument):
            words.append(str(value))
            continue
        flag = max(param.opts, key=len)
        for v in (value if param.multiple else [value]):
            words.append(flag if value is True else f"{flag} {shlex.quote(str(v))}")
    return " ".join(words)


def _default_run_dir(stem: str) -> Path:
    """runs/<stem>, or runs/<stem>-2, -3, ... so nothing is overwritten."""
    base = Path("runs") / stem
    if not base.exists() or not any(base.iterdir()):
        return base
    k = 2
    while (base.parent / f"{stem}-{k}").exists():
        k += 1
    return base.parent / f"{stem}-{k}"


def _check_out_dir(out: Optional[Path], overwrite: bool) -> None:
    """Refuse an output directory that would be refused at the end, before any work is done."""
    if out is not None:
        from .outputs import check_output_dir

        check_output_dir(out, overwrite)


replicates_option = click.option(
    "--replicates", "--reps", "-r", "replicates", type=click.IntRange(min=1), default=None,
    help="Replicates (default: the scenario's run.replicates); --reps is short for it.",
)
set_option = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE",
    help="Override a scenario value, e.g. --set population.agents=5000 "
         "--set transitions.telling.rate=2e-4 (repeatable).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="rumorsim")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
def cli(debug: bool) -> None:
    """Rumorsim: simulate viral spread and rumors on social networks.

    \b
    Start with:
      rumorsim scenarios                                   # what ships
      rumorsim run wechat_leak_2016                        # the flagship crisis
      rumorsim run scenarios/classic/sir.yaml --replicates 50 --seed 7 -o runs/sir
    """


@cli.command("scenarios")
@friendly
def scenarios_cmd() -> None:
    """List the shipped scenarios with one-line descriptions."""
    from .api import list_scenarios

    items = list_scenarios()
    if not items:
        raise RumorsimError("no shipped scenarios found", suggestion="Run from the project folder or reinstall")
    width = max(len(s["name"]) for s in items)
    for s in items:
        desc = s["description"] or s["title"]
        if len(desc) > 90:
            desc = desc[:87].rsplit(" ", 1)[0] + "..."
        tag = f" [{s['kind']}]" if s["kind"] != "scenario" else ""
        click.echo(f"{s['name']:<{width}}  {s['title']}{tag}\n{'':<{width}}  {desc}")


@cli.command()
@click.argument("scenario")
@set_option
@friendly
def validate(scenario: str, overrides: Sequence[str]) -> None:
    """Check a scenario file without running it."""
    # (catalog and scenario, not the API: validating never loads numba)
    from .catalog import find_scenario
    from .scenario import load_scenario as load
    from .whatif import is_whatif_file

    path = find_scenario(scenario)
    from .sweepfile import is_sweep_file

    if is_sweep_file(path):
        from .design import point_count
        from .sweepfile import load_sweep

        spec = load_sweep(path, overrides)
        click.echo(f"ok: {path} ({spec.design} sweep over `{spec.base.name}`: {len(spec.parameters)} "
                   f"parameters, {point_count(spec)} points x {spec.replicates} replicates)")
        return
    if is_whatif_file(path):
        from .whatif import load_whatifs

        plan = load_whatifs(path, overrides)
        click.echo(f"ok: {path} (what-ifs over `{plan.baseline.name}`: {len(plan.variants)} variants)")
        return
    sc = load(path, overrides)
    n_joint = 1
    for states in sc.traits.values():
        n_joint *= len(states)
    click.echo(
        f"ok: {path}\n  {sc.name}\n  {sc.population.agents:,} agents"
        + (f" representing {sc.population.represents:,.0f} people" if sc.population.represents else "")
        + f"; layers: {', '.join(sc.network.layers)}; traits: "
        + ", ".join(f"{t} ({len(s)})" for t, s in sc.traits.items())
        + f" = {n_joint} joint states\n  {len(sc.transitions)} transitions, {len(sc.signals)} signals, "
        f"{len(sc.interventions)} interventions; {sc.time.n_steps:,} steps of {sc.time.dt:g} {sc.time.unit}"
    )


def _print_summary(res: Any) -> None:
    from .formatting import format_number

    table = res.outcome_table() if hasattr(res, "outcome_table") else None
    if table is None or len(table) == 0:
        return
    click.echo(f"\n{res.scenario.name}: {res.n_replicates} replicates "
               "(median and 90 % interval across replicates)")
    for _, row in table.iterrows():
        unit = f" {row['unit']}" if row["unit"] else ""
        click.echo(f"  {str(row['label'])[:52]:<52} {format_number(row['median'])}{unit}"
                   f"  [{format_number(row['low'])} – {format_number(row['high'])}]")


@cli.command()
@click.argument("scenario")
@replicates_option
@click.option("--seed", "-s", type=click.IntRange(min=0), default=None, help="Random seed (default: the scenario's run.seed).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=None, help="Threads (default: all cores). Never changes the numbers.")
@set_option
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None, help="Run directory (default: runs/<scenario>, numbered if taken).")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty run directory.")
@click.option("--no-figures", is_flag=True, help="Skip PNG/SVG figures.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.option("--profile", is_flag=True, help="Print where the time went (build the network, compile the model, load the numba kernel, run it, write outputs, draw figures) and the kernel's rate in edge visits per second.")
@click.option("--meanfield", "meanfield", is_flag=False, flag_value="homogeneous", default=None,
              type=click.Choice(["homogeneous", "degree"]),
              help="Also solve the mean-field equations (homogeneous, or degree-based: "
                   "--meanfield degree): meanfield.csv, dashed over the bands.")
@friendly
def run(scenario: str, replicates: Optional[int], seed: Optional[int], workers: Optional[int],
        overrides: Sequence[str], out: Optional[Path], overwrite: bool, no_figures: bool,
        quiet: bool, profile: bool, meanfield: Optional[str]) -> None:
    """Run SCENARIO (a file or a shipped name) and write a run directory.

    A scenario that would not fit in memory is refused before anything is built.
    """
    import time

    from .api import find_scenario, load, meanfield_of, run as run_scenario, write_run
    from .rundir import draw_figures

    t0 = time.perf_counter()
    path = find_scenario(scenario)
    _check_out_dir(out, overwrite)
    sc = load(path, overrides)
    load_s = time.perf_counter() - t0
    res = run_scenario(sc, replicates=replicates, seed=seed, workers=workers,
                       progress=not quiet and sys.stderr.isatty(), command=_command_line())
    if meanfield:
        res.meanfield = meanfield_of(res, method=meanfield)
    out = out if out is not None else _default_run_dir(path.stem)
    t0 = time.perf_counter()
    # (with --profile the figures are drawn after the rest, to time them apart)
    written = write_run(res, out, overwrite=overwrite, figures=not no_figures and not profile)
    outputs_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if profile and not no_figures:
        draw_figures(res, Path(written) / "figures")
    figures_s = time.perf_counter() - t0
    if not quiet:
        _print_summary(res)
    click.echo(f"\nwrote {written}")
    if profile:
        _print_profile(res, load_s, outputs_s, figures_s if not no_figures else None)


def _print_profile(res: Any, load_s: float, outputs_s: float, figures_s: Optional[float]) -> None:
    """``run --profile``: seconds per phase, and the kernel's rate in edge visits."""
    from .formatting import format_number

    tm = res.provenance["timings"]
    kernel = tm.get("run_seconds", 0.0)
    rows = [("load scenario", load_s), ("build network", tm.get("network_seconds", 0.0)),
            ("compile model", tm.get("compile_seconds", 0.0)),
            ("load kernel", tm.get("jit_seconds", 0.0)), ("kernel", kernel),
            ("outputs", outputs_s)] + ([("figures", figures_s)] if figures_s is not None else [])
    total = sum(s for _, s in rows)
    click.echo("\nprofile (wall seconds)")
    for name, s in rows:
        click.echo(f"  {name:<20} {s:9.3f}  {100 * s / total if total else 0:5.1f} %")
    click.echo(f"  {'total':<20} {total:9.3f}")
    visits = tm.get("edge_visits", 0)
    threads = max(1, min(int(res.provenance.get("workers", 1)), res.n_replicates))
    if kernel > 0:
        click.echo(f"  kernel: {res.n_replicates} replicates on {threads} threads, "
                   f"{visits:,} edge visits = {format_number(visits / kernel)} per second "
                   f"({format_number(visits / kernel / threads)} per thread)")


@cli.command()
@click.argument("whatifs")
@click.option("--replicates", "--reps", "-r", "replicates", type=click.IntRange(min=1), default=None,
              help="Replicates per variant; --reps is short for it.")
@click.option("--seed", "-s", type=click.IntRange(min=0), default=None, help="Seed shared by all variants (common random numbers).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=None)
@set_option
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None, help="Output directory (default: runs/<file>).")
@click.option("--overwrite", is_flag=True)
@click.option("--quiet", "-q", is_flag=True)
@friendly
def compare(whatifs: str, replicates: Optional[int], seed: Optional[int], workers: Optional[int],
            overrides: Sequence[str], out: Optional[Path], overwrite: bool, quiet: bool) -> None:
    """Run the variants of a what-if file with common random numbers and compare them."""
    from .api import compare as compare_variants, find_scenario, load_whatifs

    path = find_scenario(whatifs)
    _check_out_dir(out, overwrite)
    plan = load_whatifs(path, overrides)
    out = out if out is not None else _default_run_dir(path.stem)
    comparison = compare_variants(plan, replicates=replicates, seed=seed, workers=workers,
                                  progress=not quiet and sys.stderr.isatty())
    written = comparison.write(out, overwrite=overwrite)
    if not quiet:
        click.echo(comparison.markdown())
    click.echo(f"\nwrote {written}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--meanfield", "meanfield", is_flag=False, flag_value="homogeneous", default=None,
              type=click.Choice(["homogeneous", "degree"]),
              help="Solve the mean-field equations of the run's scenario, write meanfield.csv "
                   "into RUN_DIR and draw them dashed over the bands.")
@friendly
def plot(run_dir: Path, meanfield: Optional[str]) -> None:
    """Redraw the figures of a finished run directory (numba is never loaded, unless
    --meanfield solves the equations)."""
    from .rundir import draw_figures, read_run

    _require_run_dir(run_dir)
    res = read_run(run_dir)
    if meanfield:
        from .api import meanfield_of

        res.meanfield = meanfield_of(res, method=meanfield)
        _write_csv_atomically(res.meanfield, run_dir / "meanfield.csv")
        click.echo(f"wrote {run_dir / 'meanfield.csv'}")
    for p in draw_figures(res, run_dir / "figures", atomic=True):
        click.echo(f"wrote {p}")


def _write_csv_atomically(df: Any, path: Path) -> None:
    from .outputs import replacing

    with replacing(path) as tmp:
        df.to_csv(tmp, index=False)


@cli.command("meanfield")
@click.argument("scenario")
@set_option
@click.option("--method", "-m", type=click.Choice(["homogeneous", "degree"]), default="homogeneous",
              show_default=True, help="Homogeneous mixing (mean degrees) or degree-based "
              "(heterogeneous mean field on the built network's degrees).")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="Output directory (default: runs/<scenario>-meanfield, numbered if taken).")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output directory.")
@friendly
def meanfield_cmd(scenario: str, overrides: Sequence[str], method: str, out: Optional[Path],
                  overwrite: bool) -> None:
    """Solve SCENARIO's mean-field equations: meanfield.csv and a figure.

    \b
    The equations are derived from the scenario's own rules (spontaneous, induced and
    threshold transitions, signals, seeds, interventions, the daily rhythm) and integrated
    in the scenario's time unit: the limit of many agents and small steps. Columns of
    meanfield.csv: time, trait, state, fraction, people.
    """
    from .api import find_scenario, load
    from .formatting import format_number
    from .meanfield import solve_meanfield
    from .plots import plot_meanfield, save_figure
    from .outputs import write_directory_atomically

    path = find_scenario(scenario)
    _check_out_dir(out, overwrite)
    sc = load(path, overrides)
    df = solve_meanfield(sc, method=method)
    out = out if out is not None else _default_run_dir(f"{path.stem}-meanfield")

    def fill(d: Path) -> None:
        df.to_csv(d / "meanfield.csv", index=False)
        save_figure(plot_meanfield(sc, df, method=method), d / "meanfield", atomic=False)

    write_directory_atomically(out, fill, overwrite=overwrite, what="mean-field directory")
    last = df[df.time == df.time.max()]
    click.echo(f"{sc.name}: mean field ({method}) at t = {df.time.max():g} {sc.time.unit}")
    for _, row in last.iterrows():
        click.echo(f"  {row.trait:>12} {row.state:<16} {row.fraction:8.4f}  ({format_number(row.people)} people)")
    click.echo(f"wrote {out}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None, help="HTML file (default: RUN_DIR/report.html).")
@friendly
def report(run_dir: Path, out: Optional[Path]) -> None:
    """Write one self-contained HTML report of a run, comparison or sweep directory."""
    from .report import write_report
    from .sweepdir import is_sweep_dir

    _require_run_dir(run_dir)
    if is_sweep_dir(run_dir):
        from .sweepreport import write_sweep_report

        click.echo(f"wrote {write_sweep_report(run_dir, out=out)}")
        return
    click.echo(f"wrote {write_report(run_dir, out=out)}")


def _require_run_dir(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise OutputError("no such run directory", file=str(run_dir),
                          suggestion="Give a folder written by `rumorsim run` or `rumorsim compare`")


# ------------------------------------------------------------------ sweeps (researchers)


@cli.command()
@click.argument("sweep_file")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="Sweep directory (default: runs/<sweep file name>). Rerunning into it resumes.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default 1: this process, each point's replicates on all cores). "
                   "Never changes the numbers.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the points on a Dask cluster, e.g. tcp://10.0.0.5:8786 (pip install \"rumorsim[sweep]\").")
@set_option
@click.option("--overwrite", is_flag=True, help="Replace a directory that holds a different sweep.")
@click.option("--no-figures", is_flag=True, help="Skip the figures.")
@friendly
def sweep(sweep_file: str, out: Optional[Path], workers: Optional[int], scheduler: Optional[str],
          overrides: Sequence[str], overwrite: bool, no_figures: bool) -> None:
    """Run a parameter sweep (grid, lhs, sobol, morris) written point by point; resumable.

    \b
    Example:
      rumorsim sweep scenarios/company_dilemma_sweep.yaml -o runs/company
      rumorsim sensitivity runs/wechat_sensitivity
    Kill it at any time and run the same command again: finished points are reused.
    """
    from .api import find_scenario
    from .design import point_count
    from .sweep import run_sweep
    from .sweepfile import load_sweep

    path = find_scenario(sweep_file)
    spec = load_sweep(path, overrides)
    out = out if out is not None else Path("runs") / path.stem
    n = point_count(spec)
    click.echo(f"{spec.name}: {spec.design} design, {n} points x {spec.replicates} replicates "
               f"= {n * spec.replicates} runs of `{spec.base.name}` -> {out}", err=True)
    res = run_sweep(spec, out, workers=workers, scheduler=scheduler, overwrite=overwrite,
                    command=_command_line(), figures=not no_figures,
                    log=lambda s: click.echo(s, err=True))
    click.echo(f"{res.computed} points computed, {res.reused} reused, in {res.seconds:.1f} s")
    if (out / "sensitivity.csv").is_file():
        _print_sensitivity(out)
    click.echo(f"wrote {out}")
    if res.failures:
        first = min(res.failures)
        _fail(f"{len(res.failures)} of {res.points} points failed (points "
              f"{', '.join(map(str, sorted(res.failures)[:10]))}{' ...' if len(res.failures) > 10 else ''}); "
              f"point {first}: {res.failures[first]} The others are in {out}/results.parquet; "
              f"the messages are in {out}/failures.csv. Run the same command again to retry the failed points.", 1)


def _print_sensitivity(out: Path) -> None:
    import pandas as pd

    table = pd.read_csv(out / "sensitivity.csv")
    var = pd.read_csv(out / "variance.csv") if (out / "variance.csv").is_file() else None
    cols = ["S1", "S1_conf", "ST", "ST_conf"] if "ST" in table else ["mu_star", "mu_star_conf", "sigma"]
    for o, t in table.groupby("outcome", sort=False):
        click.echo(f"\n{o}" + (f"  (replicate noise: {float(var.set_index('outcome').loc[o, 'replicate_share']):.0%} "
                               "of the variance)" if var is not None and o in set(var["outcome"]) else ""))
        for _, r in t.iterrows():
            click.echo(f"  {r['parameter'][:50]:<50} " + "  ".join(f"{c} {r[c]:>8.3g}" for c in cols))


@cli.command()
@click.argument("sweep_dir", type=click.Path(path_type=Path))
@click.option("--no-figures", is_flag=True, help="Skip the figure.")
@friendly
def sensitivity(sweep_dir: Path, no_figures: bool) -> None:
    """Sobol or Morris indices of a finished sweep (SALib, on the replicate means)."""
    from .sensitivity import write_sensitivity

    for p in write_sensitivity(sweep_dir, figures=not no_figures):
        click.echo(f"wrote {p}")
    _print_sensitivity(sweep_dir)


@cli.command()
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None, help="Write to a file instead of standard output.")
@friendly
def schema(out: Optional[Path]) -> None:
    """Print the JSON Schema of scenario files (for editors and CI checks)."""
    from .scenario import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2)
    if out is None:
        click.echo(text)
    else:
        from .outputs import write_text_atomic

        write_text_atomic(out, text + "\n")  # a reader never sees half a schema
        click.echo(f"wrote {out}")


# ------------------------------------------------------------------------ fit


@cli.command()
@click.argument("fit_file")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None, help="Fit directory (default: runs/<fit file>, numbered if taken).")
@click.option("--data", "data", type=click.Path(path_type=Path), default=None, help="Observed data (long-format CSV) instead of the file's data.path.")
@click.option("--cascade", default=None, help="Which series of the data to fit (a value of data.id_column).")
@click.option("--until", type=float, default=None, help="Fit on the data up to this time, in the data's unit.")
@click.option("--prior-from", "prior_from", type=click.Path(path_type=Path), default=None, metavar="CSV_OR_DIR", help="Population prior: past cascades' posteriors (a CSV, or a folder of fit directories) instead of the file's prior; `uniform`: the parameters' own priors.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=None, help="Local processes (default: all cores). Never changes the numbers.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run the simulations on a Dask cluster (tcp://host:8786).")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty fit directory.")
@click.option("--no-figures", is_flag=True, help="Skip the PNG/SVG figure.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary.")
@friendly
def fit(fit_file: str, out: Optional[Path], data: Optional[Path], cascade: Optional[str],
        until: Optional[float], prior_from: Optional[Path], workers: Optional[int],
        scheduler: Optional[str], overwrite: bool, no_figures: bool, quiet: bool) -> None:
    """Fit a scenario to an observed series (ABC-SMC) and forecast it.

    \b
    FIT_FILE names the base scenario, the data, the parameters and their priors, the
    budget (see scenarios/fit_weibo.yaml). Writes posterior.csv, predictive.csv,
    summary.json, fit.png/.svg and scenario.yaml (the model at the posterior median).
    \b
      rumorsim fit fit_weibo -o runs/fit_weibo
      rumorsim fit fit_weibo --cascade 3777_Ai8O8xZQl_2996975491 --until 60
    \b
    A population prior (empirical Bayes): fit each past cascade on its whole history
    under the plain priors, then the new one's first hours under what they say:
      rumorsim fit fit_weibo --cascade PAST --until 1440 --prior-from uniform -o past/PAST
      rumorsim fit fit_weibo --cascade NEW --until 120 --prior-from past/
    """
    from .catalog import find_scenario
    from .fit import run_fit
    from .fitfile import load_fit
    from .formatting import format_number as _num

    path = find_scenario(fit_file)
    _check_out_dir(out, overwrite)
    spec, base, observed = load_fit(path, data=data, cascade=cascade, until=until, prior=prior_from)
    result = run_fit(spec, base, observed, workers=workers, scheduler=scheduler,
                     progress=not quiet and sys.stderr.isatty())
    out = out if out is not None else _default_run_dir(f"{path.stem}-{observed.cascade}")
    written = result.write(out, overwrite=overwrite, figures=not no_figures)
    if not quiet:
        s = result.summary
        click.echo(f"\n{base.name} fitted to {observed.cascade} (data up to {observed.until:g} "
                   f"{observed.unit}; {s['budget']['abc_simulations']:,} simulations, "
                   f"{s['timings']['total_seconds']:.0f} s)\nposterior median [90 % interval]:")
        for name, p in s["parameters"].items():
            click.echo(f"  {name:<44} {p['median']:.3g}  [{p['low']:.3g} – {p['high']:.3g}]")
        f = s["forecast"]
        click.echo(f"forecast at {f['time']:g} {f['unit']}: {_num(f['median'])}  "
                   f"[{_num(f['low'])} – {_num(f['high'])}]"
                   + (f"  (observed {_num(f['observed'])})" if "observed" in f else ""))
    click.echo(f"\nwrote {written}")


@cli.command("animate")
@click.argument("scenario")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True,
              help="The animation: FILE.gif (Pillow) or FILE.mp4 (needs ffmpeg).")
@set_option
@click.option("--seed", "-s", type=click.IntRange(min=0), default=None, help="Random seed (default: the scenario's run.seed).")
@click.option("--trait", "-t", default=None, help="Trait that colours the agents (default: the first).")
@click.option("--layer", default=None, help="Network layer drawn (default: the one the trait spreads on).")
@click.option("--fps", type=click.IntRange(1, 60), default=8, show_default=True, help="Frames per second.")
@click.option("--frames", "max_frames", type=click.IntRange(2, 1000), default=90, show_default=True,
              help="At most this many frames (the report times, thinned evenly).")
@click.option("--meanfield", "meanfield", is_flag=False, flag_value="homogeneous", default=None,
              type=click.Choice(["homogeneous", "degree"]), help="Draw the mean-field curves dashed.")
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
@friendly
def animate_cmd(scenario: str, out: Path, overrides: Sequence[str], seed: Optional[int],
                trait: Optional[str], layer: Optional[str], fps: int, max_frames: int,
                meanfield: Optional[str], overwrite: bool) -> None:
    """Animate one run of SCENARIO: the network and the curves side by side.

    \b
    For small graphs (up to 2,000 agents), e.g.
      rumorsim animate classic/sir --set population.agents=300 -o sir.gif
    """
    from .animate import check_output, write_animation
    from .api import find_scenario, load, meanfield_of, run as run_scenario
    from .errors import ScenarioError, did_you_mean
    from .plots import MAX_SNAPSHOT_AGENTS

    check_output(out, overwrite=overwrite)
    sc = load(find_scenario(scenario), overrides)
    if trait is not None and trait not in sc.traits:
        raise ScenarioError(f"there is no trait `{trait}`", file=sc.source, field="--trait",
                            expected=f"one of {', '.join(sc.traits)}",
                            suggestion=did_you_mean(trait, sc.traits))
    if sc.population.agents > MAX_SNAPSHOT_AGENTS:
        raise OutputError(
            f"animations draw at most {MAX_SNAPSHOT_AGENTS:,} agents; this scenario has "
            f"{sc.population.agents:,}", suggestion="Add --set population.agents=300")
    if not any(o.strip().startswith("time.report_every") for o in overrides):
        # frames are report times: a fine grid (the still tail is cut, the rest thinned)
        from .scenario import override

        sc = override(sc, {"time.report_every": max(sc.time.dt, sc.time.until / 400)})
    res = run_scenario(sc, replicates=1, seed=seed, workers=1, command=_command_line())
    mf = meanfield_of(res, method=meanfield) if meanfield else None
    written = write_animation(res, out, trait=trait, layer=layer, fps=fps, max_frames=max_frames,
                              meanfield=mf, overwrite=overwrite)
    click.echo(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")


@cli.command("app")
@click.argument("scenario", required=False)
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 lets other machines in the room connect).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@friendly
def app_cmd(scenario: Optional[str], port: int, host: str, open_browser: bool) -> None:
    """Classroom web app: a live network, play/step/reset, sliders, the band and the theory.

    SCENARIO (optional) is shown first: a file or a shipped name; the page's picker
    offers the classroom and classic scenarios. Needs: pip install "rumorsim[app]".
    """
    from .app import serve

    serve(scenario, host=host, port=port, open_browser=open_browser)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="rumorsim")


if __name__ == "__main__":  # pragma: no cover
    main()
