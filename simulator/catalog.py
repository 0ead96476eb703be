"""The shipped scenarios: where they are and how to find one by name.

``find_scenario("wechat_leak_2016")`` and ``find_scenario("classic/sir")`` work from a
source checkout (``scenarios/``) and from an installed wheel (``rumorsim.scenarios``);
a path that exists is returned as given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Union

from .errors import ScenarioError, did_you_mean

_HERE = Path(__file__).resolve().parent


def scenario_dirs() -> List[Path]:
    """Folders searched for shipped scenarios (the working tree's first)."""
    dirs = [Path.cwd() / "scenarios", _HERE.parent / "scenarios", _HERE / "scenarios"]
    try:  # installed wheel: rumorsim.scenarios is a data package
        import importlib.resources as ir

        dirs.append(Path(str(ir.files("rumorsim.scenarios"))))
    except (ModuleNotFoundError, TypeError):
        pass
    seen, out = set(), []
    for d in dirs:
        if d.is_dir() and d.resolve() not in seen:
            seen.add(d.resolve())
            out.append(d)
    return out


def list_scenarios() -> List[Dict[str, str]]:
    """Shipped scenarios: ``name`` (what ``find_scenario`` accepts), ``path``, ``title``,
    ``description`` and ``kind`` (``scenario``, ``what-if``, ``sweep`` or ``fit``)."""
    import yaml

    found: Dict[str, Dict[str, str]] = {}
    for d in scenario_dirs():
        for p in sorted(d.rglob("*.yaml")):
            name = p.relative_to(d).with_suffix("").as_posix()
            if name in found or "data/" in name:
                continue
            try:
                data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError:
                continue
            if not isinstance(data, dict):
                continue
            kind = ("what-if" if "variants" in data else
                    "sweep" if "parameters" in data and "base" in data else
                    "fit" if "observe" in data else "scenario")
            desc = " ".join(str(data.get("description", "")).split())
            found[name] = {"name": name, "path": str(p), "title": str(data.get("name", name)),
                           "description": desc, "kind": kind}
    return list(found.values())


def find_scenario(name_or_path: Union[str, Path]) -> Path:
    """A path as given if it exists, else a shipped scenario by name (``classic/sir``)."""
    p = Path(name_or_path)
    if p.exists():
        return p
    key = str(name_or_path).removesuffix(".yaml").removeprefix("scenarios/")
    for s in list_scenarios():
        if s["name"] == key or s["name"].split("/")[-1] == key:
            return Path(s["path"])
    names = [s["name"] for s in list_scenarios()]
    raise ScenarioError(
        "no such scenario file or shipped scenario", file=str(name_or_path),
        suggestion=did_you_mean(key, names) or "`rumorsim scenarios` lists the shipped ones",
    )
