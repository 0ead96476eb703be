"""Edge-list files: where they are, how large, and reading them into agent numbers.

One job: turning a text file of edges (optionally gzipped; blanks or commas between
columns; ``#``/``%`` comments; an optional header line; integer ids or names) into
interleaved agent numbers and weights. :mod:`rumorsim.network` turns those into a CSR
layer; :mod:`rumorsim.memory` sizes them from :func:`estimate_lines`; scenario
validation checks the file exists by :func:`resolve_path`, the builder's own rule.

Integer ids go through the compiled chunked parser of :mod:`rumorsim.generators`
(10^8 edges without networkx or pandas' tokenizer). It is imported inside the functions
that parse, so that validating a scenario (which only needs :func:`resolve_path`) or
reading a finished run never loads numba.
"""

from __future__ import annotations

import gzip
import math
import re
import zlib
from pathlib import Path
from typing import Iterator, Optional, Tuple, Union

import numpy as np

from .errors import NetworkError

#: Bytes of text handed to the compiled parser at a time.
EDGELIST_CHUNK_BYTES = 64 * 2**20


def _factorize(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes in order of first appearance, and the ids in that order.

    Integer ids spanning a range not much larger than the data use a compiled
    lookup table (one array access per id); others (wide ranges, names) use
    pandas' hash table.
    """
    import pandas as pd

    from . import generators as gen

    if ids.dtype.kind in "iu" and ids.size:
        lo, hi = int(ids.min()), int(ids.max())
        span = hi - lo + 1
        if span <= max(2 * ids.size, 2**20):  # table no bigger than the ids themselves
            return gen.factorize_dense(ids, lo, span)
    codes, uniques = pd.factorize(ids)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


class IdMap:
    """Node ids of relabelled edge lists -> agents, in order of first appearance."""

    def __init__(self, n_agents: int) -> None:
        self.n_agents = n_agents
        self.node_ids: Optional[np.ndarray] = None
        self.used = False
        self.files: list[str] = []

    def relabel(self, ids: np.ndarray) -> np.ndarray:
        import pandas as pd

        self.used = True
        codes, uniques = _factorize(ids)
        if self.node_ids is None:
            self.node_ids = uniques
            return codes.astype(np.int64, copy=False)
        pos = pd.Index(self.node_ids).get_indexer(uniques)
        new = pos < 0
        pos[new] = len(self.node_ids) + np.arange(int(new.sum()))
        if new.any():
            self.node_ids = np.concatenate([self.node_ids, uniques[new]])
        return pos[codes].astype(np.int64, copy=False)

    @property
    def n_nodes(self) -> int:
        return 0 if self.node_ids is None else len(self.node_ids)

    def check_complete(self) -> None:
        if self.n_nodes != self.n_agents:
            files = ", ".join(self.files)
            raise NetworkError(
                f"the edge lists ({files}) name {self.n_nodes} distinct nodes, "
                f"but the population has {self.n_agents} agents",
                field="population.agents", found=self.n_agents, expected=str(self.n_nodes),
                suggestion=f"Set `population.agents: {self.n_nodes}`",
            )


def resolve_path(path: Union[str, Path], base_dir: Optional[Path] = None) -> Path:
    """Where an edge-list file is: ``~`` expanded, a relative path taken from ``base_dir``
    (the scenario file's folder), else from the working directory.

    The one rule for validation, the memory estimate and the builder alike.

    Examples
    --------
    >>> resolve_path("data/edges.txt", Path("/scenarios")).as_posix()
    '/scenarios/data/edges.txt'
    """
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = (Path(base_dir) if base_dir is not None else Path.cwd()) / p
    return p


def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    # by content, not by name: a renamed .gz still opens, a plain .gz-named file too
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _blocks(path: Path) -> Iterator[bytes]:
    """The file's bytes in blocks that end at a line break (the last may not)."""
    with _open_text(path) as fh:
        carry = b""
        first = True
        while True:
            raw = fh.read(EDGELIST_CHUNK_BYTES)
            if first:
                first = False
                if raw.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark
                    raw = raw[3:]
            if not raw:
                if carry:
                    yield carry
                return
            data = carry + raw
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            carry = data[cut:]
            yield data[:cut]


def _parse_problem(code: int) -> str:
    """What a parser error code means, in words."""
    from . import generators as gen

    return {
        gen.PARSE_FEW_COLUMNS: "too few columns",
        gen.PARSE_MANY_COLUMNS: "too many columns",
        gen.PARSE_BAD_ID: "a node id that is not an integer",
        gen.PARSE_BAD_WEIGHT: "a weight that is not a number",
        gen.PARSE_NEGATIVE_WEIGHT: "a negative weight",
        gen.PARSE_ID_RANGE: "a node id outside 0..agents-1 (relabel: false)",
        gen.PARSE_ID_OVERFLOW: "a node id too large for a 64-bit integer",
    }.get(code, "an unreadable line")


class _ParseFailure(Exception):
    def __init__(self, code: int, line: int, text: str, token: str, first_data: bool) -> None:
        self.code, self.line, self.text, self.token, self.first_data = code, line, text, token, first_data


def _line_capacity(path: Path) -> int:
    """An upper bound (plain files) or a generous guess (gzip) of the line count."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    if not gz:
        return size // 4 + 2  # the shortest data line is "a b\n"
    guess = estimate_lines(path)
    return int(1.25 * guess) + 1024 if guess is not None else size + 1024


def _scan_integer(path: Path, weighted: bool, id_limit: int, skip_header: bool):
    """Read an edge list with integer ids through the compiled parser.

    Output goes into one buffer sized from the file (an upper bound for plain
    text): pages never written are never touched, so an overestimate costs address
    space only, and no per-chunk arrays have to be concatenated.
    """
    from . import generators as gen

    capacity = _line_capacity(path)
    ids = np.empty(2 * capacity, np.int64)
    wts = np.empty(capacity if weighted else 0, np.float64)
    lines_before = 0
    n_edges = 0
    skip = skip_header
    for block in _blocks(path):
        buf = np.frombuffer(block, np.uint8)
        n_lines = block.count(b"\n")
        need = n_edges + n_lines + 1
        if need > capacity:  # a gzip file compressed better than its head suggested
            capacity = max(2 * capacity, need)
            ids = np.concatenate([ids[: 2 * n_edges], np.empty(2 * capacity - 2 * n_edges, np.int64)])
            if weighted:
                wts = np.concatenate([wts[:n_edges], np.empty(capacity - n_edges)])
        e, err, line, a, b, ta, tb, skip = gen.parse_edge_chunk(
            buf, weighted, id_limit, skip, ids[2 * n_edges:], wts[n_edges:] if weighted else wts)
        if err != gen.PARSE_OK:
            text = block[a:b].decode("utf-8", "replace").rstrip("\r")
            token = block[ta:tb].decode("utf-8", "replace")
            raise _ParseFailure(err, lines_before + line + 1, text, token,
                                first_data=(n_edges + e == 0 and not skip_header))
        n_edges += e
        lines_before += n_lines
    return ids[: 2 * n_edges], (wts[:n_edges] if weighted else None)


_SPLIT = re.compile(r"[\s]*,[\s]*|[\s]+")


def _scan_strings(path: Path, weighted: bool):
    """Read an edge list whose node ids are names (slow path, plain Python)."""
    from . import generators as gen

    ids: list[str] = []
    wts: list[float] = []
    ncols = 3 if weighted else 2
    with _open_text(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            text = raw.decode("utf-8", "replace")
            if lineno == 1:
                text = text.lstrip("\ufeff")
            body = re.split(r"[#%]", text, maxsplit=1)[0].strip()
            if not body:
                continue
            cols = _SPLIT.split(body)
            if len(cols) != ncols:
                raise _ParseFailure(
                    gen.PARSE_FEW_COLUMNS if len(cols) < ncols else gen.PARSE_MANY_COLUMNS,
                    lineno, text.rstrip("\r\n"), "", False)
            ids.extend(cols[:2])
            if weighted:
                try:
                    w = float(cols[2])
                except ValueError:
                    raise _ParseFailure(gen.PARSE_BAD_WEIGHT, lineno, text.rstrip("\r\n"),
                                        cols[2], False) from None
                if not math.isfinite(w) or w < 0:
                    raise _ParseFailure(gen.PARSE_NEGATIVE_WEIGHT if w < 0 else
                                        gen.PARSE_BAD_WEIGHT, lineno, text.rstrip("\r\n"),
                                        cols[2], False)
                wts.append(w)
    return np.asarray(ids, dtype=object), (np.asarray(wts, np.float64) if weighted else None)


def read_edge_list(
    path: Path, *, weighted: bool = False, relabel: bool = True, n_agents: Optional[int] = None,
) -> tuple[np.ndarray, Optional[np.ndarray], str]:
    """Read an edge-list file into interleaved ids ``u0, v0, u1, v1, ...``.

    Integer ids go through the compiled chunked parser (10^8 edges without
    networkx or pandas' tokenizer). A first data line made only of words (no
    token reads as a number, e.g. ``source,target``) is a header and skipped. A
    file whose first two data lines both have non-integer ids is read with names
    as ids (``relabel: true`` only), in plain Python.

    Returns ``(ids, weights or None, mode)`` with mode "integer", "header" or "names".
    Raises :class:`_ParseFailure` for malformed lines (the caller adds context).
    """
    from . import generators as gen

    id_limit = -1 if relabel or n_agents is None else int(n_agents)
    try:
        ids, wts = _scan_integer(path, weighted, id_limit, False)
        return ids, wts, "integer"
    except _ParseFailure as fail:
        if not (fail.first_data and fail.code in (gen.PARSE_BAD_ID, gen.PARSE_BAD_WEIGHT)
                and _looks_like_header(fail.text)):
            raise
        first = fail
    try:
        ids, wts = _scan_integer(path, weighted, id_limit, True)
        return ids, wts, "header"
    except _ParseFailure as fail:
        # the second data line is not numeric either: ids are names
        if not (fail.code == gen.PARSE_BAD_ID and relabel and _is_second_data_line(path, fail.line)):
            raise
    if not relabel:
        raise first
    ids, wts = _scan_strings(path, weighted)
    return ids, wts, "names"


def _looks_like_header(text: str) -> bool:
    """A header names its columns: no token of it reads as a number."""
    body = re.split(r"[#%]", text, maxsplit=1)[0].strip()
    tokens = [t for t in _SPLIT.split(body) if t]
    for t in tokens:
        try:
            float(t)
            return False
        except ValueError:
            pass
    return bool(tokens)


def _is_second_data_line(path: Path, line: int) -> bool:
    count = 0
    with _open_text(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            body = re.split(rb"[#%]", raw, maxsplit=1)[0].strip()
            if body:
                count += 1
                if lineno == line:
                    return count == 2
                if count >= 2:
                    return False
    return False


def estimate_lines(path: Path) -> Optional[float]:
    """Estimated number of lines in a (possibly gzipped) edge list, from its size.

    The first 256 kB (compressed) are decompressed to learn the compression ratio
    and the mean line length; the file is never read in full.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(256 * 1024)
    except OSError:
        return None
    if size == 0:
        return 0.0
    if head[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(wbits=31)
        try:
            text = d.decompress(head, 64 * 2**20)
        except zlib.error:
            return None
        used = len(head) - len(d.unconsumed_tail) - len(d.unused_data)
        ratio = len(text) / max(used, 1)
        total_text = size * ratio
    else:
        text = head
        total_text = float(size)
    lines = text.count(b"\n")
    if lines == 0:
        return 1.0
    return total_text * lines / len(text)


def read_layer_edges(
    name: str,
    path: str,
    n: int,
    *,
    weighted: bool = False,
    relabel: bool = True,
    base_dir: Optional[Path] = None,
    source: Optional[str] = None,
    id_map: Optional[IdMap] = None,
) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray], Path]:
    """Read the edge list of layer ``name`` as agent numbers.

    Parameters
    ----------
    name : the layer (named in errors: ``network.layers.<name>.<field>``).
    path : the file as the scenario gives it (see :func:`resolve_path`).
    n : agents in the population.
    weighted : the file has a third column of weights.
    relabel : number nodes in order of first appearance (else ids must be 0..n-1).
    base_dir, source : the scenario's folder and file.
    id_map : node ids shared with earlier edge-list layers (else this file alone must
        name exactly ``n`` nodes).

    Returns
    -------
    (codes, weights, node_ids, resolved path)
        ``codes`` int64 interleaved ``u0, v0, u1, v1, ...`` in 0..n-1; ``node_ids`` the
        file's ids of agents 0.. (None without relabelling).

    Raises
    ------
    NetworkError
        A missing file, a malformed line (with its number and text), a node count that
        does not match the population.
    """
    from . import generators as gen

    spec_path = path
    path = resolve_path(spec_path, base_dir)
    field_path = f"network.layers.{name}.path"
    if not path.is_file():
        raise NetworkError(
            f"the edge list `{path}` does not exist" if not path.exists()
            else f"the edge list `{path}` is not a file",
            file=source, field=field_path, found=spec_path,
            expected="a path to an edge-list file, relative to the scenario's folder",
            suggestion=f"Check the path; it is read from `{path.parent}`",
        )
    expected_line = ("two node ids and a weight" if weighted else "two node ids") + \
        ", separated by blanks or a comma (`#` or `%` starts a comment)"
    try:
        ids, wts, _mode = read_edge_list(path, weighted=weighted, relabel=relabel,
                                        n_agents=n)
    except _ParseFailure as fail:
        what = _parse_problem(fail.code)
        hint = None
        if fail.code == gen.PARSE_MANY_COLUMNS and not weighted:
            hint = (f"If the third column is an edge weight, set "
                    f"`network.layers.{name}.weighted: true`")
        elif fail.code == gen.PARSE_FEW_COLUMNS and weighted:
            hint = f"If the file has no weights, set `network.layers.{name}.weighted: false`"
        elif fail.code == gen.PARSE_ID_RANGE:
            hint = (f"Node ids must be 0..{n - 1} with `relabel: false`; set "
                    f"`network.layers.{name}.relabel: true` to number nodes as they appear")
        elif fail.code == gen.PARSE_BAD_ID:
            hint = "Node ids must all be integers, or all be names (then the first line decides)"
        found = fail.text if len(fail.text) <= 120 else fail.text[:117] + "..."
        if fail.token and fail.code not in (gen.PARSE_FEW_COLUMNS, gen.PARSE_MANY_COLUMNS):
            found = f"{found}  <- `{fail.token}`"
        raise NetworkError(f"malformed edge list: {what}", file=str(path), line=fail.line,
                           found=found, expected=expected_line if fail.code != gen.PARSE_ID_RANGE
                           else f"node ids in 0..{n - 1}", suggestion=hint) from None
    if relabel:
        own = id_map is None
        mapper = IdMap(n) if own else id_map
        mapper.files.append(str(path))
        codes = mapper.relabel(ids)
        del ids
        if mapper.n_nodes > n or (own and mapper.n_nodes != n):
            raise NetworkError(
                f"the edge list has {mapper.n_nodes} nodes"
                + ("" if own else " (with the edge lists before it)")
                + f" but the population has {n} agents",
                file=str(path), field="population.agents", found=n,
                expected=f"{mapper.n_nodes} agents, one per node",
                suggestion=f"Set `population.agents: {mapper.n_nodes}`",
            )
        # a shared map may still grow; build_network sets the final ids afterwards
        node_ids = mapper.node_ids
    else:
        codes = ids
        del ids
        node_ids = None
    return codes, wts, (None if node_ids is None else np.asarray(node_ids)), path
