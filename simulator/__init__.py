"""Rumorsim: a simulator of viral spread and rumors on social networks.

>>> import rumorsim as rs
>>> sc = rs.load("classic/sir", overrides={"population.agents": 2000})  # doctest: +SKIP
>>> res = rs.run(sc, replicates=10, seed=1)                             # doctest: +SKIP
>>> rs.write_run(res, "runs/sir")                                       # doctest: +SKIP
>>> rs.read_run("runs/sir").outcome_table()                             # doctest: +SKIP

The public API lives at the top of the package. Its names are imported on first use
(PEP 562), so that reading, plotting or reporting a finished run never loads numba or the
compiled kernel: ``import rumorsim`` itself costs next to nothing.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version as _version
from typing import Any, Dict, List

try:
    __version__ = _version("rumorsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0+source"

#: Public name -> the module that defines it.
_PUBLIC: Dict[str, str] = {
    # scenarios
    "load": "api",
    "override": "scenario",
    "find_scenario": "catalog",
    "list_scenarios": "catalog",
    "scenario_yaml": "scenario",
    "Scenario": "scenario",
    # running
    "run": "api",
    "build": "api",
    "estimate_memory": "api",
    "agent_history": "api",
    # fitting (pyABC: pip install "rumorsim[fit]")
    "load_fit": "fitfile",
    "run_fit": "fit",
    "fit_file": "fit",
    "FitResult": "fit",
    # what-ifs
    "compare": "api",
    "make_plan": "whatif",
    "load_whatifs": "whatif",
    # sweeps
    "load_sweep": "sweepfile",
    "run_sweep": "sweep",
    "run_points": "sweep",
    "read_sweep": "sweepdir",
    "Comparison": "whatif",
    # theory
    "solve_meanfield": "meanfield",
    # results and run directories (numba-free: reading a run never loads the kernel)
    "Results": "results",
    "read_run": "rundir",
    "write_run": "rundir",
    # errors
    "RumorsimError": "errors",
    "ScenarioError": "errors",
    "MemoryBudgetError": "errors",
    "OutputError": "errors",
    "MeanFieldError": "errors",
}

__all__: List[str] = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'rumorsim' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_PUBLIC))
