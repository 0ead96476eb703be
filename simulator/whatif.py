"""What-if comparisons: one baseline scenario, named variants, common random numbers.

A what-if file names a baseline scenario and variants of it; each variant is a map of
the dotted paths that ``--set`` takes to new values::

    name: WeChat leak - what if?
    baseline: wechat_leak_2016.yaml        # relative to this file
    replicates: 40                          # optional (default: the baseline's run.replicates)
    seed: 2016                              # optional (default: the baseline's run.seed)
    common:                                 # optional: applied to the baseline and every variant
      population.agents: 100000
    outcomes: [unbound_ever, peak_believers]   # optional: which outcomes to compare, in order
    variants:
      baseline: {}                          # an empty map is the baseline itself
      debunk_at_1h: {interventions.media_debunk.at: 1}
      servers_x10: {signals.page_capacity.value: 1.5e7}
      take_link_down_1h:                    # a value may be a whole new entry
        interventions.take_link_down: {kind: scale, transition: open_link, at: 1, factor: 0}

Every variant is the baseline with its overrides applied by the scenario loader's own
override code (:func:`rumorsim.scenario.override`, what ``rs.override`` is), so a path that does not exist or
a value that does not validate is an error naming the what-if file, the line of the
variant, the variant and the path - before anything runs.

Common random numbers: every variant is run with the *same* seed, so replicate ``i`` of
every variant uses the same child seed (``rumorsim.engine.replicate_seeds``) and, as
long as the network section is unchanged, the same network. The change a variant makes
is then measured replicate by replicate (``variant_i - baseline_i``): a variant
identical to the baseline differs by exactly 0, and the interval of a paired difference
is much narrower than the overlap of two independent intervals suggests.

The reference of the paired differences is the first variant with an empty map (the
baseline itself); if the file has none, one named ``baseline`` is put first.

This module plans and compares; running the variants is :func:`rumorsim.api.compare`'s
job (``rs.compare``), so that this module never imports the API back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from .catalog import find_scenario
from .errors import ScenarioError, did_you_mean
from .formatting import format_change, format_value
from .outputs import write_directory_atomically, write_json
from .results import BAND_PERCENTILES, Results, ensemble_band
from .rundir import draw_figures, write_run
from .scenario import (Overrides, Scenario, load_scenario, override, override_assignments,
                       yaml_value)
from .seeds import SeedLike, describe_seed, seed_record

PathLike = Union[str, os.PathLike]

#: Name given to the reference variant when a what-if file lists no empty variant.
BASELINE_NAME = "baseline"
#: Bumped when the layout of a comparison directory changes incompatibly.
COMPARE_FORMAT = "rumorsim-compare/1"
#: Variants drawn in the overlay figure unless the plan says which: beyond about six,
#: lines and legend entries can no longer be told apart.
OVERLAY_MAX = 6
#: Columns of :meth:`Comparison.table` (and ``compare.csv``), in order.
TABLE_COLUMNS = ("variant", "outcome", "label", "unit", "median", "low", "high",
                 "diff_median", "diff_low", "diff_high")

_KEYS = {
    "name": "a title for the comparison",
    "description": "free text",
    "baseline": "the baseline scenario file, relative to this file (or a shipped name)",
    "replicates": "replicates per variant (default: the baseline's run.replicates)",
    "seed": "the seed every variant shares (default: the baseline's run.seed)",
    "common": "a map of dotted paths applied to the baseline and every variant",
    "outcomes": "which of the baseline's outcomes to compare, in order",
    "overlay": "which variants figures/compare_overlay draws (default: the first six)",
    "variants": "a map: variant name -> map of dotted paths to values",
}


# --------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Variant:
    """One variant: its name, the overrides that make it, and the scenario they give.

    Attributes
    ----------
    name : the variant's name (a key of ``variants:``).
    changes : ``(dotted.path, value)`` pairs as written in the file.
    overrides : the same as ``dotted.path=value`` strings (what ``--set`` takes).
    scenario : the validated scenario of this variant.
    line : line of the variant in the what-if file (None when not from a file).
    """

    name: str
    changes: Tuple[Tuple[str, Any], ...]
    overrides: Tuple[str, ...]
    scenario: Scenario
    line: Optional[int] = None

    @property
    def is_baseline(self) -> bool:
        """True when the variant changes nothing."""
        return not self.changes


@dataclass(frozen=True)
class WhatIfPlan:
    """A validated what-if file: the baseline and its variants, ready to run.

    Attributes
    ----------
    name, description : from the file.
    source : the what-if file.
    baseline_path : the baseline scenario file.
    baseline : the baseline scenario (with ``common`` changes and ``--set`` overrides).
    variants : the variants, the reference (baseline) first.
    replicates, seed : from the file, or None to use the baseline's ``run`` section.
    outcomes : outcome names to compare (default: all of the baseline's).
    overlay : variants drawn in the overlay figure (default: the first
        :data:`OVERLAY_MAX`; more lines than that cannot be told apart).
    common : ``dotted.path=value`` strings applied to every variant (file ``common``
        then command-line overrides).
    """

    name: str
    description: str
    source: Optional[str]
    baseline_path: Path
    baseline: Scenario
    variants: Tuple[Variant, ...]
    replicates: Optional[int] = None
    seed: Optional[SeedLike] = None
    outcomes: Tuple[str, ...] = ()
    common: Tuple[str, ...] = ()
    overlay: Tuple[str, ...] = ()

    @property
    def reference(self) -> Variant:
        """The variant differences are measured against (the baseline itself)."""
        return self.variants[0]

    def variant(self, name: str) -> Variant:
        """The variant called ``name``."""
        for v in self.variants:
            if v.name == name:
                return v
        names = [v.name for v in self.variants]
        raise KeyError(f"no variant `{name}`; the variants are {', '.join(names)}")

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready description (what a comparison directory records)."""
        return {
            "name": self.name,
            "description": self.description,
            "file": self.source,
            "baseline": str(self.baseline_path),
            "common": list(self.common),
            "outcomes": list(self.outcomes),
            "overlay": list(self.overlay),
            "variants": {v.name: list(v.overrides) for v in self.variants},
        }


def is_whatif_file(path: Union[str, Path]) -> bool:
    """Whether a YAML file is a what-if plan (has `baseline:` and `variants:`)."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "variants" in data and "baseline" in data


def _changes(node: Any, where: str, err: Any) -> Tuple[Tuple[str, Any], ...]:
    """``(path, value)`` pairs of a variant (or ``common``) map."""
    if node is None:
        return ()
    if not isinstance(node, dict):
        raise err(f"`{where}` must be a map of dotted paths to values (or {{}} for the baseline)",
                  field=where, found=node, expected="e.g. {interventions.media_debunk.at: 1}")
    out = []
    for path, value in node.items():
        if not isinstance(path, str) or not path.strip() or any(not p for p in path.split(".")):
            raise err(f"`{path}` is not a dotted path", field=f"{where}.{path}",
                      expected="a path such as signals.page_capacity.value")
        out.append((path.strip(), value))
    return tuple(out)


def load_whatifs(path: PathLike, overrides: Overrides = None) -> WhatIfPlan:
    """Load and validate a what-if file.

    Parameters
    ----------
    path : the what-if YAML file.
    overrides : ``{dotted.path: value}`` or ``dotted.path=value`` strings (``--set``),
        applied to the baseline and every variant, after the file's ``common`` changes and before each variant's own.

    Returns
    -------
    WhatIfPlan
        Every variant already validated.

    Raises
    ------
    ScenarioError
        Unknown keys, a missing baseline, a bad variant (naming the file, the line, the
        variant and the path).

    Examples
    --------
    >>> plan = load_whatifs("scenarios/wechat_whatifs.yaml", ["population.agents=5000"])
    >>> plan.reference.name
    'baseline'
    """
    from .scenario import _compose

    p = Path(path)
    if not p.is_file():
        raise ScenarioError("no such what-if file", file=str(p),
                            suggestion="`rumorsim scenarios` lists the shipped ones")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file: {exc}", file=str(p)) from None
    tree = _compose(text, str(p))
    data = tree.data

    def err(message: str, *, field: Optional[str] = None, **kw: Any) -> ScenarioError:
        parts = tuple(field.split(".", 1)) if field else ()
        if len(parts) == 2 and parts[0] == "variants":
            name = parts[1].split(".", 1)[0]
            line = tree.line(("variants", name))
            rest = parts[1][len(name) + 1:]
            if rest:
                line = tree.lines.get(("variants", name, rest), line)
        else:
            line = tree.line(parts[:1]) if parts else None
        return ScenarioError(message, file=str(p), line=line, field=field, **kw)

    for key in data:
        if key not in _KEYS:
            raise err(f"unknown key `{key}` in a what-if file", field=str(key),
                      expected=f"one of {', '.join(_KEYS)}",
                      suggestion=did_you_mean(str(key), _KEYS) or "Remove it or check the spelling")
    for key in ("baseline", "variants"):
        if key not in data:
            raise ScenarioError(f"a what-if file needs `{key}`", file=str(p), line=1,
                                field=key, expected=_KEYS[key])
    base_ref = data["baseline"]
    if not isinstance(base_ref, str) or not base_ref.strip():
        raise err("`baseline` must be the path of a scenario file", field="baseline",
                  found=base_ref)
    for key in ("replicates", "seed"):
        v = data.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < (1 if key == "replicates" else 0)):
            raise err(f"`{key}` must be a whole number >= {1 if key == 'replicates' else 0}",
                      field=key, found=v)
    outcomes = data.get("outcomes") or []
    if not isinstance(outcomes, list) or not all(isinstance(o, str) for o in outcomes):
        raise err("`outcomes` must be a list of outcome names", field="outcomes", found=outcomes)
    overlay = data.get("overlay") or []
    if not isinstance(overlay, list) or not all(isinstance(o, str) for o in overlay):
        raise err("`overlay` must be a list of variant names", field="overlay", found=overlay)
    variants_node = data["variants"]
    if not isinstance(variants_node, dict) or not variants_node:
        raise err("`variants` must be a non-empty map: variant name -> map of changes",
                  field="variants", found=variants_node if not isinstance(variants_node, dict) else None,
                  expected="e.g. {baseline: {}, debunk_at_1h: {interventions.media_debunk.at: 1}}")

    # The baseline: relative to this file first, then a shipped scenario by name.
    base_path = (p.parent / base_ref).resolve()
    if not base_path.is_file():
        try:
            base_path = find_scenario(base_ref)
        except ScenarioError:
            raise err(f"the baseline scenario `{base_ref}` does not exist", field="baseline",
                      expected=f"a scenario file relative to {p.parent}",
                      suggestion="Check the path; it is read relative to the what-if file") from None
    try:
        raw_base = load_scenario(base_path)
    except ScenarioError as exc:
        exc.message = f"the baseline of {p} is not valid: {exc.message}"
        raise
    return _assemble(
        raw_base, Path(base_path), data.get("common"), variants_node, outcomes,
        tuple(override_assignments(overrides)),
        err, name=data.get("name"), description=data.get("description"), source=str(p),
        replicates=data.get("replicates"), seed=data.get("seed"), overlay=overlay,
        line_of=lambda name: tree.line(("variants", name)),
    )


def make_plan(
    baseline: Union[Scenario, PathLike],
    variants: Mapping[str, Optional[Mapping[str, Any]]],
    *,
    name: Optional[str] = None,
    description: str = "",
    replicates: Optional[int] = None,
    seed: Optional[SeedLike] = None,
    outcomes: Sequence[str] = (),
    common: Optional[Mapping[str, Any]] = None,
    overrides: Overrides = None,
    overlay: Sequence[str] = (),
) -> WhatIfPlan:
    """A what-if plan built in Python (a notebook) instead of read from a file.

    Parameters
    ----------
    baseline : a Scenario, a scenario file or a shipped scenario's name.
    variants : ``{variant name: {dotted.path: value}}``; ``{}`` is the baseline itself.
    name, description, replicates, seed, outcomes, common, overlay : as in a what-if file.
    overrides : ``{dotted.path: value}`` or ``dotted.path=value`` strings, applied to the
        baseline and every variant.

    Examples
    --------
    >>> plan = make_plan("wechat_leak_2016", {"baseline": {},
    ...                  "debunk_at_1h": {"interventions.media_debunk.at": 1}},
    ...                  common={"population.agents": 5000})
    >>> [v.name for v in plan.variants]
    ['baseline', 'debunk_at_1h']
    """
    def err(message: str, *, field: Optional[str] = None, **kw: Any) -> ScenarioError:
        return ScenarioError(message, file="what-if plan", field=field, **kw)

    if isinstance(baseline, Scenario):
        base, base_path = baseline, Path(baseline.source or "<scenario>")
    else:
        base_path = find_scenario(baseline)
        base = load_scenario(base_path)
    if not isinstance(variants, Mapping) or not variants:
        raise err("`variants` must be a non-empty map: variant name -> map of changes",
                  field="variants")
    return _assemble(base, base_path, dict(common) if common else None,
                     {str(k): (dict(v) if v else {}) for k, v in variants.items()},
                     list(outcomes), tuple(override_assignments(overrides)), err, name=name,
                     description=description, source=None, replicates=replicates, seed=seed,
                     overlay=list(overlay))


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def _assemble(raw_base: Scenario, base_path: Path, common_node: Any, variants_node: Dict[str, Any],
              outcomes: List[str], overrides: Tuple[str, ...], err: Any, *, name: Any,
              description: Any, source: Optional[str], replicates: Optional[int],
              seed: Optional[SeedLike], overlay: Sequence[str] = (),
              line_of: Any = lambda name: None) -> WhatIfPlan:
    """Validate the variants against the baseline and build the plan (file or Python)."""
    common = _changes(common_node, "common", err)
    common_overrides = tuple(f"{k}={yaml_value(v)}" for k, v in common) + tuple(overrides)
    baseline = _with_changes(raw_base, common_overrides, err, "common")

    variants: List[Variant] = []
    for vname, node in variants_node.items():
        vname = str(vname)
        if not _SAFE_NAME.match(vname):
            raise err(f"the variant name `{vname}` cannot be a folder name",
                      field=f"variants.{vname}",
                      expected="letters, digits, `_`, `-`, `.`, starting with a letter or digit",
                      suggestion="For example debunk_at_1h")
        changes = _changes(node, f"variants.{vname}", err)
        ovs = tuple(f"{k}={yaml_value(v)}" for k, v in changes)
        sc = _with_changes(baseline, ovs, err, f"variants.{vname}", changes)
        variants.append(Variant(vname, changes, ovs, sc, line_of(vname)))
    ref = next((k for k, v in enumerate(variants) if v.is_baseline), None)
    if ref is None:
        if any(v.name == BASELINE_NAME for v in variants):
            raise err(f"the variant `{BASELINE_NAME}` changes something, and no variant is "
                      "the baseline itself", field=f"variants.{BASELINE_NAME}",
                      suggestion=f"Add an empty variant ({{}}) or rename `{BASELINE_NAME}`")
        variants.insert(0, Variant(BASELINE_NAME, (), (), baseline, None))
    else:
        variants.insert(0, variants.pop(ref))

    known = list(baseline.outcomes)
    for o in outcomes:
        if known and o not in known:
            raise err(f"the baseline has no outcome `{o}`", field="outcomes",
                      expected=f"one of {', '.join(known)}", suggestion=did_you_mean(o, known))
    names = [v.name for v in variants]
    for o in overlay:
        if o not in names:
            raise err(f"`overlay` names `{o}`, which is not a variant", field="overlay",
                      expected=f"one of {', '.join(names)}", suggestion=did_you_mean(o, names))
    return WhatIfPlan(
        name=str(name or f"What-ifs on {baseline.name}"),
        description=" ".join(str(description or "").split()),
        source=source,
        baseline_path=Path(base_path),
        baseline=baseline,
        variants=tuple(variants),
        replicates=replicates,
        seed=seed,
        outcomes=tuple(outcomes),
        common=common_overrides,
        overlay=tuple(overlay),
    )


def _with_changes(base: Scenario, overrides: Sequence[str], err: Any, where: str,
                  changes: Sequence[Tuple[str, Any]] = ()) -> Scenario:
    """``base`` with overrides applied; a failure becomes an error about ``where``."""
    if not overrides:
        return base
    try:
        return override(base, list(overrides))
    except ScenarioError as exc:
        # Which change failed: the one the loader names (``--set <assignment>``), else
        # the one whose path starts the failing field.
        culprit = None
        if exc.file and str(exc.file).startswith("--set "):
            culprit = str(exc.file)[len("--set "):].split("=", 1)[0]
        path = culprit or (changes[0][0] if len(changes) == 1 else None)
        what = where.replace("variants.", "variant `", 1) + "`" if where.startswith("variants.") else f"`{where}`"
        message = f"{what}: `{path}`: {exc.message}" if path else f"{what}: {exc.message}"
        if exc.field and exc.field != path:
            message += f" (scenario field `{exc.field}`)"
        raise err(message, field=f"{where}.{path}" if path else where,
                  expected=exc.expected, found=exc.found, suggestion=exc.suggestion) from None


# ---------------------------------------------------------------------- running


def network_key(scenario: Scenario) -> str:
    """Variants with equal keys build the same network (same seed): a runner builds it
    once and passes it to the others."""
    return json.dumps([scenario.network.model_dump(mode="json"), scenario.population.agents,
                       str(scenario.base_dir)], sort_keys=True)


def resolve_replicates_and_seed(plan: WhatIfPlan, replicates: Optional[int],
                                seed: Optional[SeedLike]) -> Tuple[int, SeedLike]:
    """Replicates per variant and the shared seed: the arguments, else the plan's, else
    the baseline's ``run`` section."""
    reps = int(replicates if replicates is not None else
               plan.replicates if plan.replicates is not None else plan.baseline.run.replicates)
    if reps < 1:
        raise ScenarioError("need at least one replicate per variant", field="replicates", found=reps)
    if seed is None:
        seed = plan.seed if plan.seed is not None else plan.baseline.run.seed
    return reps, seed


# ------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """The results of every variant of a what-if plan, and their paired comparison.

    Attributes
    ----------
    plan : the plan that was run.
    results : ``{variant name: Results}``, the reference (baseline) first.
    replicates, seed : what every variant was run with.
    wall_seconds : time for all the runs.
    """

    plan: WhatIfPlan
    results: Dict[str, Results]
    replicates: int
    seed: SeedLike
    wall_seconds: float = 0.0
    _table: Optional[pd.DataFrame] = field(default=None, repr=False)

    @property
    def reference(self) -> str:
        """Name of the variant differences are measured against."""
        return next(iter(self.results))

    @property
    def outcome_names(self) -> List[str]:
        """Outcomes compared: the plan's ``outcomes``, else all of the baseline's."""
        base = self.results[self.reference]
        return list(self.plan.outcomes) or list(base.outcome_specs())

    def values(self) -> pd.DataFrame:
        """``variant,replicate,outcome,value``: every outcome of every replicate."""
        frames = []
        for name, res in self.results.items():
            df = res.outcome_values()
            df.insert(0, "variant", name)
            frames.append(df[df["outcome"].isin(self.outcome_names)])
        return pd.concat(frames, ignore_index=True)

    def _per_replicate(self, res: Results) -> Dict[str, np.ndarray]:
        vals = res.outcome_values()
        out = {}
        for o in self.outcome_names:
            v = vals.loc[vals["outcome"] == o].sort_values("replicate")["value"].to_numpy(float)
            out[o] = v if len(v) else np.full(res.n_replicates, np.nan)
        return out

    def table(self) -> pd.DataFrame:
        """The comparison as a tidy table, one row per variant and outcome.

        Columns: ``variant, outcome, label, unit, median, low, high, diff_median,
        diff_low, diff_high``. ``median/low/high`` are the 50th/5th/95th percentiles of
        the variant's replicates; ``diff_*`` the same percentiles of the paired
        differences ``variant_i - baseline_i`` over replicates ``i`` (common random
        numbers), so the baseline's own row has differences of exactly 0.
        """
        if self._table is not None:
            return self._table.copy()
        base = self.results[self.reference]
        specs = base.outcome_specs()
        ref = self._per_replicate(base)
        rows = []
        for name, res in self.results.items():
            mine = self._per_replicate(res)
            for o in self.outcome_names:
                spec = specs[o]
                med, lo, hi = (float(x) for x in ensemble_band(mine[o]))
                diff = mine[o] - ref[o]
                dmed, dlo, dhi = (float(x) for x in ensemble_band(diff))
                rows.append({
                    "variant": name, "outcome": o, "label": spec.label or o,
                    "unit": base.outcome_unit(spec),
                    "median": med, "low": lo, "high": hi,
                    "diff_median": dmed, "diff_low": dlo, "diff_high": dhi,
                })
        self._table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
        return self._table.copy()

    def markdown(self) -> str:
        """The comparison as a Markdown table a PR team can paste.

        One block of rows per outcome; real-people numbers (``3.2 M``), hours, shares
        in %; the 90 % interval across replicates; the change against the baseline with
        its own 90 % interval (paired, replicate by replicate).
        """
        tab = self.table()
        base = self.results[self.reference]
        tu = base.scenario.time.unit

        def value(x: float, unit: str) -> str:
            return format_value(x, unit, time_unit=tu)

        def change_of(x: float, unit: str) -> str:
            return format_change(x, unit, time_unit=tu)

        lo_p, _, hi_p = BAND_PERCENTILES
        lines = [
            f"## {self.plan.name}",
            "",
            f"Baseline: {base.scenario.name}. {self.replicates} replicates per variant, seed "
            f"{describe_seed(self.seed)}, common random numbers; "
            + (f"{base.n_agents:,} agents standing for {value(base.scenario.population.represents or base.n_agents, 'people')} people. "
               if base.scaled else f"{base.n_agents:,} agents. ")
            + f"Median and 90 % interval ({lo_p:g}th–{hi_p:g}th percentile of replicates); "
            "the change is paired: each replicate against the baseline replicate with the "
            "same random numbers.",
            "",
            "| Outcome | Variant | Median | 90 % interval | Change vs " + self.reference + " (90 % interval) |",
            "|---|---|--:|--:|--:|",
        ]
        for o in self.outcome_names:
            g = tab[tab["outcome"] == o]
            first = True
            for r in g.itertuples(index=False):
                label = f"**{r.label}**" + (f" ({r.unit})" if r.unit and r.unit not in ("people", "share") else "")
                if r.variant == self.reference:
                    change = "—"
                else:
                    change = (f"{change_of(r.diff_median, r.unit)} "
                              f"({change_of(r.diff_low, r.unit)} to {change_of(r.diff_high, r.unit)})")
                lines.append(
                    f"| {label if first else ''} | {r.variant} | {value(r.median, r.unit)} | "
                    f"{value(r.low, r.unit)} – {value(r.high, r.unit)} | {change} |")
                first = False
        lines += ["", "Variants:", ""]
        for v in self.plan.variants:
            what = "; ".join(f"`{o}`" for o in v.overrides) or "the baseline scenario as is"
            lines.append(f"- **{v.name}**: {what}")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ figures

    @property
    def overlay_names(self) -> List[str]:
        """Variants the overlay figure draws: the plan's ``overlay`` (the baseline
        always first), else the first :data:`OVERLAY_MAX`."""
        chosen = list(self.plan.overlay) or list(self.results)[:OVERLAY_MAX]
        return [self.reference] + [n for n in chosen if n != self.reference and n in self.results]

    def plot_overlay(self) -> Any:
        """Median curves of the overlay variants over the baseline's dashboard (a Figure)."""
        from .plots import plot_variants

        return plot_variants({n: self.results[n] for n in self.overlay_names})

    def plot_outcomes(self) -> Any:
        """Each outcome per variant and its paired change against the baseline (a Figure)."""
        from .plots import plot_outcome_comparison

        return plot_outcome_comparison(self.table())

    # ------------------------------------------------------------------ writing

    def write(self, out_dir: PathLike, overwrite: bool = False, *, figures: bool = True,
              variant_figures: bool = False) -> Path:
        """Write the comparison directory atomically and return its path.

        Layout: the baseline's run directory at the top (so ``rumorsim report`` reads it
        as a run, with the what-if table added), ``compare.csv`` (:meth:`table`),
        ``compare.md`` (:meth:`markdown`), ``compare_values.csv`` (every replicate),
        ``whatifs.json`` (the plan: variants and their overrides), ``provenance.json``
        (the baseline's, plus the comparison's), ``variants/<name>/`` (one run
        directory per variant) and ``figures/compare_overlay`` and
        ``figures/compare_outcomes`` (PNG and SVG).

        Everything goes into a hidden temporary sibling first, renamed into place at the
        end; a non-empty ``out_dir`` is refused unless ``overwrite`` (and then only if
        it holds Rumorsim output).

        Parameters
        ----------
        out_dir : the comparison directory.
        overwrite : replace an existing Rumorsim output directory.
        figures : draw the baseline's figures and the two comparison figures.
        variant_figures : also draw every variant's own figures (slow: seconds per
            variant; ``rumorsim plot DIR/variants/NAME`` draws them later).

        Raises
        ------
        OutputError
        """
        from .plots import save_figure

        out = Path(out_dir)

        def fill(tmp: Path) -> None:
            vdir = tmp / "variants"
            for name, res in self.results.items():
                write_run(res, vdir / name, figures=figures and variant_figures)
            # The baseline at the top: the report reads the directory as its run.
            shutil.copytree(vdir / self.reference, tmp, dirs_exist_ok=True)
            if figures and not variant_figures:
                draw_figures(self.results[self.reference], tmp / "figures")
            table = self.table()
            table.to_csv(tmp / "compare.csv", index=False)
            self.values().to_csv(tmp / "compare_values.csv", index=False)
            (tmp / "compare.md").write_text(self.markdown(), encoding="utf-8")
            write_json(tmp / "whatifs.json", {"format": COMPARE_FORMAT, **self.plan.to_dict()})
            prov_path = tmp / "provenance.json"
            prov = json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.is_file() else {}
            prov["comparison"] = {
                "format": COMPARE_FORMAT,
                "whatif_file": self.plan.source,
                "baseline_file": str(self.plan.baseline_path),
                "reference_variant": self.reference,
                "variants": list(self.results),
                "replicates_per_variant": self.replicates,
                "seed": seed_record(self.seed),
                "common_random_numbers": "replicate i of every variant uses child i of the seed",
                "wall_seconds": round(self.wall_seconds, 3),
            }
            write_json(prov_path, prov)
            if figures:
                fig_dir = tmp / "figures"
                fig_dir.mkdir(exist_ok=True)
                save_figure(self.plot_overlay(), fig_dir / "compare_overlay")
                save_figure(self.plot_outcomes(), fig_dir / "compare_outcomes")

        return write_directory_atomically(out, fill, overwrite=overwrite,
                                          what="comparison directory")

    def __repr__(self) -> str:
        return (f"<Comparison {self.plan.name!r}: {len(self.results)} variants x "
                f"{self.replicates} replicates, seed {describe_seed(self.seed)}>")
