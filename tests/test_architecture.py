"""The package's shape: imports flow one way, the kernel stays plain, reading a run stays light.

These read the source with :mod:`ast` (every import statement, including those inside
functions and under ``TYPE_CHECKING``: a cycle there is still two modules that each
need the other), so they fail on the commit that adds a cycle, not on the day it bites.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simulator"
#: The compiled layer: numpy, numba (and numba's llvmlite) and the standard library only.
KERNEL_MODULES = {"kernel", "kernel_cascade", "rng", "prefetch", "generators", "pages"}
KERNEL_THIRD_PARTY = {"numpy", "numba", "llvmlite"}


def _modules() -> Dict[str, Path]:
    return {p.stem: p for p in sorted(PACKAGE.glob("*.py"))}


def _imports(path: Path, modules: Set[str]) -> tuple[Set[str], Set[str]]:
    """(package modules, outside top-level packages) that ``path`` imports anywhere."""
    inside: Set[str] = set()
    outside: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                if top == "rumorsim":
                    inside.add(rest.split(".")[0] or "__init__")
                else:
                    outside.add(top)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                top, _, rest = (node.module or "").partition(".")
                if top != "rumorsim":
                    outside.add(top)
                    continue
                base = rest.split(".")[0]
            else:
                base = (node.module or "").split(".")[0]
            if base:
                inside.add(base)
            else:  # `from . import x`: x is a module or a name of the package's __init__
                for alias in node.names:
                    inside.add(alias.name if alias.name in modules else "__init__")
    inside.discard(path.stem)
    return inside, outside


def _graph() -> Dict[str, Set[str]]:
    mods = _modules()
    return {name: _imports(path, set(mods))[0] for name, path in mods.items()}


def _find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    state: Dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: List[str] = []

    def visit(u: str) -> Optional[List[str]]:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state:
                found = visit(v)
                if found:
                    return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state:
            found = visit(u)
            if found:
                return found
    return None


def test_the_cycle_finder_sees_a_cycle():
    """The check itself can fail: a two-module loop and a longer one are found."""
    assert _find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_import_scanner_sees_imports_inside_functions(tmp_path: Path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from .results import Results\n    from . import plots\n"
                   "    import rumorsim.rundir\n", encoding="utf-8")
    inside, _ = _imports(src, {"results", "plots", "rundir"})
    assert inside == {"results", "plots", "rundir"}


def test_the_package_import_graph_has_no_cycle():
    graph = _graph()
    assert {"edgelist", "rundir", "modelinfo", "formatting", "outputs"} <= set(graph)
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_modules_that_used_to_import_each_other_no_longer_do():
    graph = _graph()
    assert "network" not in graph["memory"] or "memory" not in graph["network"]
    assert "memory" not in graph["network"]      # the API owns the memory check
    assert "plots" not in graph["results"] and "rundir" not in graph["results"]
    assert "model" not in graph["results"]       # results is numba-free
    assert "api" not in graph["whatif"]          # the API runs what-ifs, not the other way


def test_kernel_modules_import_only_numpy_numba_and_the_standard_library():
    mods = _modules()
    for name in sorted(KERNEL_MODULES & set(mods)):
        inside, outside = _imports(mods[name], set(mods))
        assert inside <= KERNEL_MODULES, f"{name} imports {sorted(inside - KERNEL_MODULES)}"
        bad = {m for m in outside - KERNEL_THIRD_PARTY - {"__future__"}
               if m not in sys.stdlib_module_names}
        assert not bad, f"{name} imports {sorted(bad)}"


_SIMULATOR_IMPORT = re.compile(r"^\s*(import\s+simulator\b|from\s+simulator(\.\w+)*\s+import\b)",
                               re.MULTILINE)


def test_nothing_imports_the_source_folder_name():
    """The package is `rumorsim`; `simulator` is only the folder it is built from."""
    offenders = []
    for folder in ("simulator", "tests", "benchmarks"):
        for p in (ROOT / folder).rglob("*.py"):
            if _SIMULATOR_IMPORT.search(p.read_text(encoding="utf-8")):
                offenders.append(str(p.relative_to(ROOT)))
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        if _SIMULATOR_IMPORT.search(code):
            offenders.append(str(nb.relative_to(ROOT)))
    assert not offenders


def test_every_public_name_resolves():
    import rumorsim as rs

    for name in rs.__all__:
        assert getattr(rs, name) is not None, name


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    import rumorsim as rs

    sc = rs.load("classic/sir", {"population.agents": 200, "time.until": 5})
    return rs.write_run(rs.run(sc, replicates=2, seed=3, workers=1),
                        tmp_path_factory.mktemp("runs") / "sir", figures=False)


def test_plotting_and_reporting_a_finished_run_never_loads_numba(finished_run: Path):
    """`rumorsim plot DIR`, `rumorsim report DIR` and `rumorsim validate`, run in a fresh
    interpreter, leave numba and the kernel out of ``sys.modules`` (so they start in
    well under a second)."""
    code = (
        "import sys\n"
        "from rumorsim.cli import cli\n"
        "for args in (['plot', sys.argv[1]], ['report', sys.argv[1]], ['validate', 'classic/sir']):\n"
        "    try:\n"
        "        cli.main(args=args, prog_name='rumorsim')\n"
        "    except SystemExit as e:\n"
        "        assert not e.code, e.code\n"
        "import rumorsim as rs\n"
        "rs.read_run(sys.argv[1]).outcome_table()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'numba'\n"
        "                or m in ('rumorsim.kernel', 'rumorsim.model', 'rumorsim.engine'))\n"
        "print('LOADED', loaded)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(finished_run)],
                          capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout, proc.stdout
    assert (finished_run / "report.html").is_file()
    assert (finished_run / "figures" / "traits.png").is_file()
