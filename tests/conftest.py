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


@pytest.fixture
def sir_text() -> str:
    return (SCENARIOS / "classic" / "sir.yaml").read_text(encoding="utf-8")


@pytest.fixture
def write(tmp_path):
    """write(name, text) -> path of a file in a temporary folder."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write
