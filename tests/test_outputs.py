"""JSON as run directories write it: valid, the same data, a record per line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rumorsim.outputs import json_text, jsonable, write_json


def test_json_text_is_the_data_with_numpy_values_converted_and_nan_as_null():
    data = {
        "n": np.int64(3),
        "share": np.float64(0.25),
        "missing": float("nan"),            # a NaN takes the full conversion first
        "when": Path("/runs/a"),
        "replicates": [{"r": 0, "peak": np.float64(np.inf), "seed": np.arange(3, dtype=np.uint64)},
                       {"r": 1, "peak": 2.5, "seed": [4, 5, 6]}],
        "nested": {"deep": {"values": np.array([1.0, np.nan])}},
    }
    text = json_text(data)
    assert json.loads(text) == jsonable(data)
    back = json.loads(text)
    assert back["missing"] is None and back["nested"]["deep"]["values"] == [1.0, None]


def test_records_are_one_a_line_and_objects_are_indented(tmp_path):
    """A summary of many replicates stays readable: a replicate a line."""
    reps = [{"replicate": i, "steps_run": 10 + i, "traits": {"h": {"I": {"peak": 1.5 * i}}}}
            for i in range(50)]
    path = write_json(tmp_path / "summary.json",
                      {"format": "x", "ensemble": {"a": 1}, "replicates": reps})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(path.read_text(encoding="utf-8"))["replicates"] == reps
    assert sum(line.lstrip().startswith('{"replicate": ') for line in lines) == 50
    assert '  "ensemble": {' in lines and '    "a": 1' in lines
