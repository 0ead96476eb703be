"""What a compiled model tells results, plots and reports: plain data, no kernel.

:class:`ModelInfo` describes the states, events, signals and report times of a compiled
scenario. It lives apart from :mod:`rumorsim.model` (which imports the compiled kernel)
so that reading, plotting and reporting a finished run never loads numba.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class InterventionMarker:
    """An intervention as plots and reports show it."""

    name: str
    label: str
    kind: str
    at: float
    until: Optional[float]


@dataclass(frozen=True)
class ModelInfo:
    """What the results and plots need to know about a compiled model (no kernel arrays).

    Attributes
    ----------
    traits : ordered ``(trait, (state, ...))`` pairs.
    joint_states : int array (n_joint, n_traits): the state index of each trait for
        each joint state code.
    event_names : transitions by name, then one event per broadcast/seed intervention
        (its name); ``fired`` arrays are indexed by these.
    event_kinds : "transition" or "intervention" for each event.
    signal_names, signal_labels, signal_units : per signal, in evaluation order.
    signal_alert_above : the alert level per signal, NaN where none.
    interventions : markers for plots.
    report_times : the reporting grid, scenario time units (includes 0 and the end).
    """

    traits: Tuple[Tuple[str, Tuple[str, ...]], ...]
    joint_states: np.ndarray
    event_names: Tuple[str, ...]
    event_kinds: Tuple[str, ...]
    signal_names: Tuple[str, ...]
    signal_labels: Tuple[str, ...]
    signal_units: Tuple[str, ...]
    signal_alert_above: np.ndarray
    interventions: Tuple[InterventionMarker, ...]
    report_times: np.ndarray

    def matching_joint_states(self, condition: Dict[str, object]) -> np.ndarray:
        """Boolean mask over joint states for a ``{trait: state or [states]}`` condition."""
        mask = np.ones(len(self.joint_states), dtype=bool)
        names = [t for t, _ in self.traits]
        for trait, wanted in condition.items():
            k = names.index(trait)
            states = self.traits[k][1]
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            idx = [states.index(w) for w in wanted]
            mask &= np.isin(self.joint_states[:, k], idx)
        return mask
