"""What-if comparisons: one baseline scenario, named variants, common random numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Union


def is_whatif_file(path: Union[str, Path]) -> bool:
    """Whether a YAML file is a what-if plan (has `baseline:` and `variants:`)."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "variants" in data and "baseline" in data
