"""Shared fixtures: paths to the shipped scenarios and a writer for bad ones."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


#: The issue's SIR example, with a fixed header, so that tests can name exact lines
#: without depending on the comments of the shipped file.
SIR_TEXT = """name: SIR on an Erdős–Rényi graph
description: Susceptible–infected–recovered epidemic; final size follows bond percolation.
theory: >
  Bond percolation: with the exact per-step transmissibility T, the final size r of a
  major outbreak solves r = 1 - G0(1 - T u) with u = G1(1 - T u); on Erdős–Rényi
  graphs r = 1 - exp(-<k> T r) (r = 0.79681 at T = 0.2, <k> = 10).
  See scenarios/classic/sir.yaml for the full statement (this copy keeps
  its line numbers fixed for the error-message tests).
time: {dt: 0.05, until: 100, unit: day, report_every: 0.5}
population: {agents: 10000}
network:
  layers:
    contacts: {generator: erdos_renyi, mean_degree: 10}
traits:
  health: [S, I, R]            # the first state is everyone's initial state
seed:
  - {state: {health: I}, count: 10, strategy: random}
transitions:
  - name: infection
    from: {health: S}
    to: {health: I}
    rate: 0.25                 # per infected neighbour per day
    induced_by: {layer: contacts, state: {health: I}}
  - name: recovery
    from: {health: I}
    to: {health: R}
    rate: 1.0
"""


@pytest.fixture
def sir_text() -> str:
    return SIR_TEXT


@pytest.fixture
def write(tmp_path):
    """write(name, text) -> path of a file in a temporary folder."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write
