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
        tag = f" [{s['kind']}]" if s["kind"] in ("what-if", "fit") else ""
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
@friendly
def run(scenario: str, replicates: Optional[int], seed: Optional[int], workers: Optional[int],
        overrides: Sequence[str], out: Optional[Path], overwrite: bool, no_figures: bool,
        quiet: bool) -> None:
    """Run SCENARIO (a file or a shipped name) and write a run directory.

    A scenario that would not fit in memory is refused before anything is built.
    """
    from .api import find_scenario, load, run as run_scenario, write_run

    path = find_scenario(scenario)
    _check_out_dir(out, overwrite)
    sc = load(path, overrides)
    res = run_scenario(sc, replicates=replicates, seed=seed, workers=workers,
                       progress=not quiet and sys.stderr.isatty(), command=_command_line())
    out = out if out is not None else _default_run_dir(path.stem)
    written = write_run(res, out, overwrite=overwrite, figures=not no_figures)
    if not quiet:
        _print_summary(res)
    click.echo(f"\nwrote {written}")


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
@friendly
def plot(run_dir: Path) -> None:
    """Redraw the figures of a finished run directory (numba is never loaded)."""
    from .rundir import redraw_figures

    _require_run_dir(run_dir)
    for p in redraw_figures(run_dir):
        click.echo(f"wrote {p}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None, help="HTML file (default: RUN_DIR/report.html).")
@friendly
def report(run_dir: Path, out: Optional[Path]) -> None:
    """Write one self-contained HTML report of a run or comparison directory."""
    from .report import write_report

    _require_run_dir(run_dir)
    click.echo(f"wrote {write_report(run_dir, out=out)}")


def _require_run_dir(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise OutputError("no such run directory", file=str(run_dir),
                          suggestion="Give a folder written by `rumorsim run` or `rumorsim compare`")


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
@click.option("--workers", "-w", type=click.IntRange(min=1), default=None, help="Local processes (default: all cores). Never changes the numbers.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run the simulations on a Dask cluster (tcp://host:8786).")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty fit directory.")
@click.option("--no-figures", is_flag=True, help="Skip the PNG/SVG figure.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary.")
@friendly
def fit(fit_file: str, out: Optional[Path], data: Optional[Path], cascade: Optional[str],
        until: Optional[float], workers: Optional[int], scheduler: Optional[str],
        overwrite: bool, no_figures: bool, quiet: bool) -> None:
    """Fit a scenario to an observed series (ABC-SMC) and forecast it.

    \b
    FIT_FILE names the base scenario, the data, the parameters and their priors, the
    budget (see scenarios/fit_weibo.yaml). Writes posterior.csv, predictive.csv,
    summary.json, fit.png/.svg and scenario.yaml (the model at the posterior median).
    \b
      rumorsim fit fit_weibo -o runs/fit_weibo
      rumorsim fit fit_weibo --cascade 3777_Ai8O8xZQl_2996975491 --until 60
    """
    from .catalog import find_scenario
    from .fit import run_fit
    from .fitfile import load_fit
    from .formatting import format_number as _num

    path = find_scenario(fit_file)
    _check_out_dir(out, overwrite)
    spec, base, observed = load_fit(path, data=data, cascade=cascade, until=until)
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


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="rumorsim")


if __name__ == "__main__":  # pragma: no cover
    main()
