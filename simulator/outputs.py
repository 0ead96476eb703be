"""Writing outputs safely: JSON, files and whole directories, each replaced atomically.

Nothing a user can see is ever half-written: a file is written to a hidden temporary
sibling and renamed over its target (``os.replace`` is atomic on one file system); a
directory is filled in a hidden temporary sibling and renamed into place. An existing
non-empty directory is refused unless the caller says ``overwrite``, and even then only
one that holds Rumorsim output is replaced (never, say, a home directory given as
``-o ~`` by mistake).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Union

import numpy as np

from .errors import OutputError

PathLike = Union[str, os.PathLike]

#: Files whose presence marks a directory as Rumorsim output (safe to replace with --overwrite).
OUTPUT_MARKERS = ("summary.json", "raw.npz", "model_info.json", "provenance.json", "meanfield.csv")


# ----------------------------------------------------------------------------- JSON


def json_number(x: Any) -> Any:
    """A JSON-safe Python number (NaN and infinities become None)."""
    if isinstance(x, (np.integer, int)) and not isinstance(x, bool):
        return int(x)
    x = float(x)
    return x if np.isfinite(x) else None


def jsonable(obj: Any) -> Any:
    """Recursively turn numpy scalars/arrays, paths and datetimes into JSON types."""
    t = type(obj)
    # plain values first: a summary holds thousands, and is passed through here twice
    if t is str or t is int or obj is None:
        return obj
    if t is float:
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, float, np.integer, np.floating)):
        return json_number(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


@contextmanager
def replacing(path: PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a hidden temporary sibling of ``path`` to write; on success it is renamed
    over ``path`` (atomic), on failure removed. ``suffix`` keeps an extension that a
    writer looks at (``.gif``)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`replacing`)."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: PathLike, data: Any) -> Path:
    """Write ``data`` as JSON (numpy values converted, NaN as null), atomically, laid out
    by :func:`json_text`."""
    return write_text_atomic(path, json_text(data))


def json_text(data: Any) -> str:
    """``data`` as JSON text for people and programs: objects indented by two spaces, and
    a list of objects or lists (records: replicates, points) one compact record a line.

    Records are encoded by the json module's C encoder, which it uses only without
    ``indent``: a summary of 400 replicates is written ~10x faster than fully indented,
    and stays readable (a replicate a line) and valid JSON.

    Examples
    --------
    >>> print(json_text({"n": 2, "replicates": [{"r": 0, "x": [1, 2]}, {"r": 1, "x": []}]}))
    {
      "n": 2,
      "replicates": [
        {"r": 0, "x": [1, 2]},
        {"r": 1, "x": []}
      ]
    }
    <BLANKLINE>
    """
    try:  # already JSON-ready (a summary is): numpy values converted as they are met
        return _layout(data, "") + "\n"
    except ValueError:  # a float NaN or infinity somewhere: convert everything first
        return _layout(jsonable(data), "") + "\n"


def _layout(obj: Any, pad: str) -> str:
    inner = pad + "  "
    if isinstance(obj, dict) and obj:
        items = [f"{inner}{_compact(str(k))}: {_layout(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return "[\n" + ",\n".join(inner + _compact(v) for v in obj) + "\n" + pad + "]"
    return _compact(obj)


def _compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(", ", ": "),
                      default=jsonable)


# ------------------------------------------------------------------------ directories


def write_directory_atomically(target: PathLike, fill: Callable[[Path], None], *,
                               overwrite: bool = False, what: str = "output directory") -> Path:
    """Write a directory all at once: ``fill`` writes into a temporary sibling, which is
    then renamed into place, so an interrupted write leaves nothing half-written.

    Refuses an existing non-empty directory unless ``overwrite`` (and only replaces one
    that holds Rumorsim output). Raises OutputError for every file-system problem.
    """
    target = Path(target)
    check_output_dir(target, overwrite)
    parent = target.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the directory `{parent}`: {e.strerror or e}",
                          file=str(parent), suggestion="Choose another -o") from e
    tmp = parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        fill(tmp)
        _swap_into_place(tmp, target)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise OutputError(f"cannot write the {what} `{target}`: {e.strerror or e}",
                              file=str(target), suggestion="Check the disk space and "
                              "permissions, or choose another -o") from e
        raise
    return target


def check_output_dir(run_dir: Path, overwrite: bool) -> None:
    """Refuse (OutputError) a target that is a file, or a non-empty directory unless
    ``overwrite`` and it holds Rumorsim output. Nothing is touched."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise OutputError(f"`{run_dir}` exists and is a file, not a directory",
                          file=str(run_dir), suggestion="Choose another output directory with -o")
    if not run_dir.is_dir() or not any(run_dir.iterdir()):
        return
    if not overwrite:
        raise OutputError(
            "the output directory is not empty; nothing was written", file=str(run_dir),
            suggestion="Pass --overwrite to replace it, or choose another directory with -o",
        )
    here = Path.cwd().resolve()
    target = run_dir.resolve()
    if target == here or target in here.parents or not any(
            (run_dir / m).exists() for m in OUTPUT_MARKERS):
        raise OutputError(
            f"`{run_dir}` is not empty and does not look like a Rumorsim run directory "
            "(or contains the current directory); refusing to replace it", file=str(run_dir),
            suggestion="Choose a new or empty directory with -o",
        )


def _swap_into_place(tmp: Path, run_dir: Path) -> None:
    """Rename ``tmp`` to ``run_dir``; an existing (empty or old) run_dir is moved aside first."""
    if not run_dir.exists():
        os.replace(tmp, run_dir)
        return
    old = run_dir.absolute().parent / f".{run_dir.name}.old-{uuid.uuid4().hex[:8]}"
    os.replace(run_dir, old)
    try:
        os.replace(tmp, run_dir)
    except BaseException:
        os.replace(old, run_dir)  # put the previous run back
        raise
    shutil.rmtree(old, ignore_errors=True)
