"""Sweep files: YAML in, a frozen, validated :class:`SweepSpec` out.

A sweep file names a base scenario and the parameters to vary, by the dotted paths
that ``--set`` takes::

    name: SIR - infection against recovery
    base: classic/sir              # shipped name, or a path relative to this file
    design: grid                   # grid | lhs | sobol | morris
    samples: 64                    # lhs: points; sobol: base samples N (a power of two,
                                   # N x (D + 2) points); morris: trajectories (N x (D + 1))
    replicates: 8                  # per point
    seed: 1
    common_random_numbers: true    # default: every point shares the replicate streams
    common:                        # optional: applied to the base before anything else
      population.agents: 2000
    parameters:
      transitions.infection.rate: {values: [0.1, 0.2, 0.4]}      # grid: listed values
      transitions.recovery.rate: {low: 0.5, high: 2.0, steps: 4} # grid: evenly spaced
      # other designs take a range {low, high}; add `scale: log` for a log-uniform
      # range (log-spaced steps on a grid) and `integer: true` to round to whole numbers
    outcomes: [final_r, peak_i]    # optional: default is every outcome of the base
    contour: {outcome: final_r, level: 1000}   # optional: a line on 2-D heatmaps

Everything is checked before anything runs or is written: unknown keys and designs,
paths the base scenario does not have (each parameter is applied to the base at its
low and high ends, and every grid value, through the scenario loader's own override
code), ``low >= high``, a Sobol ``samples`` that is not a power of two, a parameter
that is not a number. Errors name the sweep file, the line and the field, as the
scenario loader's do.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from .errors import ScenarioError, did_you_mean
from .scenario import Scenario

PathLike = Union[str, Path]

DESIGNS = ("grid", "lhs", "sobol", "morris")

_KEYS = {
    "name": "a title for the sweep",
    "description": "free text",
    "base": "the base scenario: a shipped name or a path relative to this file",
    "design": "one of grid, lhs, sobol, morris",
    "samples": "lhs: points; sobol: base samples N (a power of two); morris: trajectories",
    "replicates": "replicates per point",
    "seed": "the sweep's seed (a whole number >= 0)",
    "common_random_numbers": "true (default): every point uses the same replicate streams",
    "common": "a map of dotted paths applied to the base scenario first",
    "parameters": "a map: dotted path -> {values: [...]} or {low, high[, steps, scale, integer]}",
    "outcomes": "which outcomes of the base scenario to record (default: all)",
    "morris_levels": "morris: grid levels (default 4)",
    "contour": "{outcome, level}: a contour line on 2-D heatmaps",
}
_PARAM_KEYS = {
    "values": "a list of numbers (grid only)",
    "low": "the lower end of the range",
    "high": "the upper end of the range",
    "steps": "grid: how many evenly spaced values from low to high",
    "scale": "linear (default) or log",
    "integer": "round values to whole numbers",
    "label": "a name for figures",
}


@dataclass(frozen=True)
class Parameter:
    """One swept parameter: a dotted path and its values (grid) or range."""

    path: str
    values: Optional[Tuple[float, ...]] = None
    low: Optional[float] = None
    high: Optional[float] = None
    steps: Optional[int] = None
    scale: str = "linear"
    integer: bool = False
    label: Optional[str] = None
    line: Optional[int] = None

    def grid_values(self) -> Tuple[float, ...]:
        """The values a grid takes: as listed, or ``steps`` from low to high."""
        if self.values is not None:
            return self.values
        import numpy as np

        if self.scale == "log":
            xs = np.geomspace(self.low, self.high, self.steps)
        else:
            xs = np.linspace(self.low, self.high, self.steps)
        return tuple(self.cast(float(x)) for x in xs)

    def cast(self, x: float) -> float:
        """A sampled value as the scenario gets it (rounded if ``integer``)."""
        return float(round(x)) if self.integer else float(x)

    @property
    def bounds(self) -> Tuple[float, float]:
        """The range SALib samples: (low, high), in log space for ``scale: log``."""
        if self.scale == "log":
            return (math.log(self.low), math.log(self.high))
        return (self.low, self.high)

    def from_unit(self, u: float) -> float:
        """Map a sample in the sampler's space (see ``bounds``) to the parameter's value."""
        return self.cast(math.exp(u) if self.scale == "log" else u)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: what to vary, how to sample it, how many replicates.

    ``base`` is the base scenario with ``common`` applied, already validated.
    """

    name: str
    source: Optional[str]
    base_path: str
    base: Scenario
    design: str
    parameters: Tuple[Parameter, ...]
    replicates: int
    seed: int
    common_random_numbers: bool = True
    samples: Optional[int] = None
    outcomes: Tuple[str, ...] = ()
    common: Tuple[Tuple[str, Any], ...] = ()
    morris_levels: int = 4
    contour_outcome: Optional[str] = None
    contour_level: Optional[float] = None
    description: str = ""
    text: str = field(default="", repr=False)

    @property
    def paths(self) -> Tuple[str, ...]:
        return tuple(p.path for p in self.parameters)

    def to_dict(self) -> Dict[str, Any]:
        """The resolved sweep as plain data (written to ``sweep.yaml``)."""
        params: Dict[str, Any] = {}
        for p in self.parameters:
            d: Dict[str, Any] = {}
            if p.values is not None:
                d["values"] = list(p.values)
            else:
                d.update(low=p.low, high=p.high)
                if p.steps is not None:
                    d["steps"] = p.steps
            if p.scale != "linear":
                d["scale"] = p.scale
            if p.integer:
                d["integer"] = True
            if p.label:
                d["label"] = p.label
            params[p.path] = d
        out: Dict[str, Any] = {
            "name": self.name, "base": self.base_path, "design": self.design,
            "replicates": self.replicates, "seed": self.seed,
            "common_random_numbers": self.common_random_numbers,
        }
        if self.samples is not None:
            out["samples"] = self.samples
        if self.design == "morris":
            out["morris_levels"] = self.morris_levels
        if self.common:
            out["common"] = {k: v for k, v in self.common}
        out["parameters"] = params
        out["outcomes"] = list(self.outcomes)
        if self.contour_outcome is not None:
            out["contour"] = {"outcome": self.contour_outcome, "level": self.contour_level}
        return out

    def fingerprint(self) -> str:
        """A hash of everything that decides the numbers (the sweep and the resolved base).

        A directory made by a sweep with another fingerprint is not resumed.
        """
        from .scenario import scenario_yaml

        d = self.to_dict()
        d.pop("name", None)
        d.pop("contour", None)  # figures only
        blob = json.dumps(d, sort_keys=True, default=str) + "\n" + scenario_yaml(self.base)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


# ------------------------------------------------------------------ loading


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _base_value(sc: Scenario, path: str) -> Tuple[bool, Any]:
    """(found, value) of a dotted path in the resolved base scenario (named list items too)."""
    node: Any = sc.model_dump(mode="json", by_alias=True)
    for part in path.split("."):
        if isinstance(node, list):
            names = [x.get("name") if isinstance(x, dict) else None for x in node]
            if part in names:
                node = node[names.index(part)]
            elif part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
                node = node[int(part)]
            else:
                return False, None
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False, None
    return True, node


def is_sweep_file(path: PathLike) -> bool:
    """Whether ``path`` looks like a sweep file (a mapping with ``base`` and ``parameters``)."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "base" in data and "parameters" in data


def load_sweep(path: PathLike, overrides: Tuple[str, ...] | List[str] = ()) -> SweepSpec:
    """Load and validate a sweep file.

    Parameters
    ----------
    path : the sweep YAML file.
    overrides : ``dotted.path=value`` strings (``--set``) applied to the base scenario
        after the file's ``common`` map.

    Raises
    ------
    ScenarioError
        With the sweep file, the line and the field of the first problem.

    Examples
    --------
    >>> spec = load_sweep("scenarios/company_dilemma_sweep.yaml")     # doctest: +SKIP
    >>> spec.design, spec.paths                                        # doctest: +SKIP
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError("no such sweep file", file=str(p),
                            suggestion="Give the path of a sweep YAML file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file: {exc}", file=str(p)) from None
    return parse_sweep(text, str(p), overrides)


def parse_sweep(text: str, source: str = "<sweep>",
                overrides: Tuple[str, ...] | List[str] = ()) -> SweepSpec:
    """Parse and validate a sweep given as YAML text (see :func:`load_sweep`)."""
    from .catalog import find_scenario
    from .scenario import _compose, load_scenario, override, scenario_from_data
    from .scenario import yaml_value as _yaml_value

    tree = _compose(text, source)
    data = tree.data
    here = Path(source).parent if source != "<sweep>" else Path.cwd()

    def err(path: Tuple[Any, ...], message: str, **kw: Any) -> ScenarioError:
        f = ".".join(str(x) for x in path) if path else None
        return ScenarioError(message, file=source, line=tree.line(path), field=f, **kw)

    for key in data:
        if key not in _KEYS:
            raise err((key,), f"unknown key `{key}` in a sweep file",
                      expected=f"one of {', '.join(_KEYS)}",
                      suggestion=did_you_mean(str(key), _KEYS) or "Remove it or check the spelling")
    for key in ("base", "parameters"):
        if key not in data:
            raise ScenarioError(f"a sweep file needs `{key}`", file=source, line=1, field=key,
                                expected=_KEYS[key])

    design = data.get("design", "grid")
    if design not in DESIGNS:
        raise err(("design",), f"unknown design `{design}`", found=design,
                  expected=f"one of {', '.join(DESIGNS)}",
                  suggestion=did_you_mean(str(design), DESIGNS))

    def whole(key: str, minimum: int, default: Optional[int]) -> Optional[int]:
        v = data.get(key, default)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise err((key,), f"`{key}` must be a whole number >= {minimum}", found=v)
        return int(v)

    replicates = whole("replicates", 1, 8)
    seed = whole("seed", 0, 0)
    samples = whole("samples", 1, None)
    levels = whole("morris_levels", 2, 4)
    if design != "grid" and samples is None:
        raise ScenarioError(f"the `{design}` design needs `samples`", file=source, line=tree.line(("design",)),
                            field="samples", expected=_KEYS["samples"])
    if design == "sobol" and samples & (samples - 1):
        lo = 1 << (samples.bit_length() - 1)
        raise err(("samples",), "a Sobol design needs `samples` to be a power of two "
                  "(the Sobol sequence's balance properties hold only then)", found=samples,
                  expected="1, 2, 4, 8, ... (N base samples give N x (D + 2) points)",
                  suggestion=f"Use {lo} or {lo * 2}")
    if design == "grid" and samples is not None:
        raise err(("samples",), "a grid takes no `samples`: its points are the product of the "
                  "parameters' values", suggestion="Remove `samples`, or use design: lhs")
    crn = data.get("common_random_numbers", True)
    if not isinstance(crn, bool):
        raise err(("common_random_numbers",), "`common_random_numbers` must be true or false", found=crn)

    # --- the base scenario, with `common` and --set applied
    base_ref = data["base"]
    if not isinstance(base_ref, str) or not base_ref.strip():
        raise err(("base",), "`base` must be a scenario file or a shipped scenario's name", found=base_ref)
    base_path = (here / base_ref).resolve()
    if not base_path.is_file():
        try:
            base_path = find_scenario(base_ref)
        except ScenarioError:
            raise err(("base",), f"the base scenario `{base_ref}` does not exist",
                      expected=f"a scenario file relative to {here}, or a shipped name such as classic/sir",
                      suggestion="`rumorsim scenarios` lists the shipped ones") from None
    try:
        base = load_scenario(base_path)
    except ScenarioError as exc:
        exc.message = f"the base scenario of {source} is not valid: {exc.message}"
        raise
    common_node = data.get("common") or {}
    if not isinstance(common_node, dict):
        raise err(("common",), "`common` must be a map of dotted paths to values", found=common_node)
    common = tuple((str(k), v) for k, v in common_node.items())
    try:
        base = override(base, [f"{k}={_yaml_value(v)}" for k, v in common])
    except ScenarioError as exc:
        raise err(("common",), f"a `common` change does not apply to the base: {exc.message}",
                  expected=exc.expected, suggestion=exc.suggestion) from None
    if overrides:
        base = override(base, list(overrides))

    # --- parameters
    pnode = data["parameters"]
    if not isinstance(pnode, dict) or not pnode:
        raise err(("parameters",), "`parameters` must be a non-empty map: dotted path -> values or range",
                  expected="e.g. {transitions.infection.rate: {low: 0.1, high: 0.4}}")
    params: List[Parameter] = []
    for path, spec in pnode.items():
        where = ("parameters", path)
        if not isinstance(path, str) or any(not s for s in path.split(".")):
            raise err(where, f"`{path}` is not a dotted path", expected="e.g. transitions.infection.rate")
        if not isinstance(spec, dict):
            raise err(where, f"parameter `{path}` needs a map", found=spec,
                      expected="{values: [...]} (grid) or {low: ..., high: ...}")
        for k in spec:
            if k not in _PARAM_KEYS:
                raise err(where + (k,), f"unknown key `{k}` for a parameter",
                          expected=f"one of {', '.join(_PARAM_KEYS)}",
                          suggestion=did_you_mean(str(k), _PARAM_KEYS))
        scale = spec.get("scale", "linear")
        if scale not in ("linear", "log"):
            raise err(where + ("scale",), f"unknown scale `{scale}`", expected="linear or log")
        integer = spec.get("integer", False)
        if not isinstance(integer, bool):
            raise err(where + ("integer",), "`integer` must be true or false", found=integer)
        label = spec.get("label")
        values = low = high = steps = None
        if "values" in spec:
            if design != "grid":
                raise err(where + ("values",), f"a `{design}` design samples a range, not listed values",
                          expected="{low: ..., high: ...}", suggestion="Use design: grid, or give low and high")
            if any(k in spec for k in ("low", "high", "steps")):
                raise err(where, "give `values` or a range (`low`, `high`), not both")
            vs = spec["values"]
            if not isinstance(vs, list) or not vs:
                raise err(where + ("values",), "`values` must be a non-empty list of numbers", found=vs)
            for i, v in enumerate(vs):
                if not _is_number(v):
                    raise err(where + ("values", i), f"parameter `{path}` is not a number here", found=v,
                              expected="a number (a sweep varies numbers; use a what-if file for other changes)")
            if len(set(vs)) != len(vs):
                raise err(where + ("values",), "`values` lists a value twice", found=vs)
            values = tuple(float(round(v)) if integer else float(v) for v in vs)
        else:
            for k in ("low", "high"):
                if k not in spec:
                    raise err(where, f"parameter `{path}` needs `{k}`",
                              expected="{low: ..., high: ...}" + (" or {values: [...]}" if design == "grid" else ""))
                if not _is_number(spec[k]):
                    raise err(where + (k,), f"`{k}` is not a number", found=spec[k], expected="a number")
            low, high = float(spec["low"]), float(spec["high"])
            if low >= high:
                raise err(where + ("low",), f"`low` ({low:g}) must be below `high` ({high:g})",
                          found={"low": low, "high": high})
            if scale == "log" and low <= 0:
                raise err(where + ("low",), "a log scale needs low > 0", found=low)
            if design == "grid":
                steps = spec.get("steps")
                if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
                    raise err(where + ("steps",), "a grid range needs `steps`, a whole number >= 2",
                              found=steps, suggestion="Or list the values with `values: [...]`")
            elif "steps" in spec:
                raise err(where + ("steps",), f"a `{design}` design samples the range; `steps` is for grids")
        params.append(Parameter(path=path, values=values, low=low, high=high, steps=steps, scale=scale,
                                integer=integer, label=str(label) if label is not None else None,
                                line=tree.line(where)))

    # Every parameter must be a number in the base and accept its extreme values (applied
    # to the base's plain data as a sweep's points are: no YAML round trip per probe).
    base_data = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    for prm in params:
        where = ("parameters", prm.path)
        found, current = _base_value(base, prm.path)
        if found and current is not None and not _is_number(current):
            raise err(where, f"`{prm.path}` is not a number in the base scenario", found=current,
                      expected="the path of a numeric value (a rate, a time, a count, a share)")
        probe = prm.grid_values() if design == "grid" else (prm.cast(prm.low), prm.cast(prm.high))
        for v in probe:
            try:
                scenario_from_data(base_data, base.source or "<scenario>",
                                   [f"{prm.path}={_yaml_value(_plain(v))}"])
            except ScenarioError as exc:
                raise err(where, f"the base scenario does not accept {prm.path} = {v:g}: {exc.message}",
                          expected=exc.expected, suggestion=exc.suggestion) from None
    if len({p.path for p in params}) != len(params):
        raise err(("parameters",), "a parameter is listed twice")

    # --- outcomes
    known = _outcome_names(base)
    onode = data.get("outcomes")
    if onode is None:
        outcomes = tuple(known)
    else:
        if not isinstance(onode, list) or not onode or not all(isinstance(o, str) for o in onode):
            raise err(("outcomes",), "`outcomes` must be a list of outcome names", found=onode)
        for i, o in enumerate(onode):
            if o not in known:
                raise err(("outcomes", i), f"the base scenario has no outcome `{o}`",
                          expected=f"one of {', '.join(known)}", suggestion=did_you_mean(o, known))
        outcomes = tuple(onode)
    clash = set(outcomes) & set(p.path for p in params) | set(outcomes) & {"point", "replicate", "seed"}
    if clash:
        raise err(("outcomes",), f"an outcome is named like a column already taken: `{sorted(clash)[0]}`")

    contour_outcome = contour_level = None
    cnode = data.get("contour")
    if cnode is not None:
        if not isinstance(cnode, dict) or set(cnode) - {"outcome", "level"} or "level" not in cnode:
            raise err(("contour",), "`contour` must be {outcome: NAME, level: NUMBER}", found=cnode)
        if not _is_number(cnode["level"]):
            raise err(("contour", "level"), "the contour level is not a number", found=cnode["level"])
        contour_outcome = cnode.get("outcome", outcomes[0])
        if contour_outcome not in outcomes:
            raise err(("contour", "outcome"), f"`{contour_outcome}` is not one of the sweep's outcomes",
                      expected=f"one of {', '.join(outcomes)}")
        contour_level = float(cnode["level"])

    name = data.get("name") or Path(source).stem
    return SweepSpec(
        name=str(name), source=source if source != "<sweep>" else None, base_path=str(base_path),
        base=base, design=design, parameters=tuple(params), replicates=replicates, seed=seed,
        common_random_numbers=crn, samples=samples, outcomes=outcomes, common=common,
        morris_levels=levels, contour_outcome=contour_outcome, contour_level=contour_level,
        description=" ".join(str(data.get("description", "")).split()), text=text,
    )


def _plain(v: float) -> Union[int, float]:
    """A whole float as an int, so integer fields of the scenario accept it."""
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


def _outcome_names(sc: Scenario) -> List[str]:
    """The outcomes a run of ``sc`` reports (its own, or the per-state defaults)."""
    if sc.outcomes:
        return list(sc.outcomes)
    names = []
    for trait, states in sc.traits.items():
        for s in states:
            names += [f"final_{trait}_{s}", f"peak_{trait}_{s}"]
    return names
