"""The README cannot drift: every output it shows is what the command prints now.

How it works. In README.md an HTML comment names the command whose output the fenced
block right below it shows::

    <!-- output-of: rumorsim validate classic/sir -->
    ```
    ok: ...
    ```

Options after a ``|``, separated by commas: ``slow`` marks a command that takes more
than a few seconds (the test is then marked slow); ``exit N`` says the command must exit
with code N (a user mistake: 2), and the block then shows what it writes to standard
error too. The test runs each command in a fresh temporary
folder that holds a link to the repository's ``scenarios/`` (so paths read as from the
repository's root, and run directories land in the temporary folder; a leading
``rumorsim`` is this interpreter's ``python -m rumorsim.cli``), drops lines that name
written files (``wrote ...``) and blank lines at either end, and compares the rest with
the block, line by line.
Besides, every ```python block is executed (in such a folder; keep them small),
every ``rumorsim ...`` line of a ```bash block must parse against the real command line
(so a renamed option is caught), every ``pip install ".[extra]"`` must name an extra
that pyproject.toml defines, and every repository path named in backticks must exist.

When an output changes on purpose, regenerate the blocks with one command and review
the diff::

    python tests/test_readme.py --update          # all blocks (runs the flagship: ~1 min)
    python tests/test_readme.py --update --fast   # only blocks not marked slow

The mechanism is generic: a new section (sweeps, the app, fitting) shows its output
by adding an ``output-of`` comment above its block and running ``--update``.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

_MARKER = re.compile(r"<!--\s*output-of:\s*(?P<cmd>.+?)\s*(?:\|\s*(?P<opts>[\w ,-]+?)\s*)?-->[ \t]*\n"
                     r"(?:[ \t]*\n)*(?P<fence>```[^\n]*\n)(?P<body>.*?)^```[ \t]*$",
                     re.S | re.M)
_FENCE = re.compile(r"^```(?P<lang>\w*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)


@dataclass(frozen=True)
class OutputBlock:
    """A fenced block that shows ``command``'s output, and where it sits in the README."""

    command: str
    slow: bool
    exit_code: int
    body: str
    start: int  # offsets of the body in the README text
    end: int

    @property
    def id(self) -> str:
        return self.command if len(self.command) <= 60 else self.command[:57] + "..."


def output_blocks(text: str) -> List[OutputBlock]:
    blocks = []
    for m in _MARKER.finditer(text):
        opts = {o.strip() for o in (m.group("opts") or "").split(",") if o.strip()}
        codes = [int(o.split()[1]) for o in opts if re.fullmatch(r"exit \d+", o)]
        unknown = {o for o in opts if o != "slow" and not re.fullmatch(r"exit \d+", o)}
        assert not unknown, f"unknown option(s) {sorted(unknown)} in `{m.group(0).splitlines()[0]}`"
        blocks.append(OutputBlock(m.group("cmd"), "slow" in opts, codes[0] if codes else 0,
                                  m.group("body"), m.start("body"), m.end("body")))
    return blocks


def fenced(text: str, lang: str) -> List[str]:
    return [m.group("body") for m in _FENCE.finditer(text) if m.group("lang") == lang]


def _argv(command: str) -> List[str]:
    words = shlex.split(command)
    if words and words[0] == "rumorsim":
        return [sys.executable, "-m", "rumorsim.cli", *words[1:]]
    return words


def user_folder(where: Path) -> Path:
    """A folder that looks like the repository's root to a README command."""
    (where / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    return where


@functools.lru_cache(maxsize=None)
def run_command(command: str, exit_code: int = 0) -> Tuple[str, Path]:
    """(what ``command`` prints, the folder it ran in), once per test session.

    With a non-zero ``exit_code`` expected, what it writes to standard error follows.
    """
    where = user_folder(Path(tempfile.mkdtemp(prefix="rumorsim-readme-")))
    atexit.register(shutil.rmtree, where, True)
    env = dict(os.environ, MPLBACKEND="Agg", COLUMNS="100")
    done = subprocess.run(_argv(command), cwd=where, capture_output=True, text=True, env=env,
                          timeout=1800)
    assert done.returncode == exit_code, (
        f"`{command}` exited with {done.returncode}, not {exit_code}:\n{done.stderr}")
    return (done.stdout + done.stderr if exit_code else done.stdout), where


def shown(output: str) -> str:
    """The part of an output a README shows: no `wrote <path>` lines, no blank ends."""
    lines = [ln.rstrip() for ln in output.splitlines() if not ln.startswith("wrote ")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def _params():
    return [pytest.param(b, id=b.id, marks=[pytest.mark.slow] if b.slow else [])
            for b in output_blocks(README.read_text(encoding="utf-8"))]


# -------------------------------------------------------------------------- tests


def test_the_readme_has_output_blocks():
    blocks = output_blocks(README.read_text(encoding="utf-8"))
    assert any(b.command.startswith("rumorsim run wechat_leak_2016") for b in blocks)


@pytest.mark.parametrize("block", _params())
def test_readme_output_is_what_the_command_prints(block: OutputBlock):
    output, _ = run_command(block.command, block.exit_code)
    assert shown(output) == block.body, (
        f"README.md shows an output of `{block.command}` that it no longer prints; "
        f"if the change is intended, run `python tests/test_readme.py --update`.\n"
        f"--- now:\n{shown(output)}--- README:\n{block.body}")


@pytest.mark.parametrize("index", range(len(fenced(README.read_text(encoding="utf-8"), "python"))))
def test_readme_python_snippet_runs(index: int, tmp_path, monkeypatch):
    code = fenced(README.read_text(encoding="utf-8"), "python")[index]
    monkeypatch.chdir(user_folder(tmp_path))
    exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "__readme__"})


def test_readme_command_lines_parse():
    """Each `rumorsim ...` line in a bash block names a real subcommand with real options."""
    import click

    from rumorsim.cli import cli

    seen = 0
    for body in fenced(README.read_text(encoding="utf-8"), "bash"):
        for line in body.splitlines():
            line = line.split(" #")[0].strip()
            for part in re.split(r"&&|\|", line):
                words = shlex.split(part.split(">")[0].strip()) if part.strip() else []
                if not words or words[0] != "rumorsim":
                    continue
                seen += 1
                args = words[1:]
                while args and args[0] in ("--debug",):  # options of the group itself
                    args = args[1:]
                if not args or args[0] in ("--help", "-h", "--version"):
                    continue
                cmd = cli.get_command(click.Context(cli), args[0])
                assert cmd is not None, f"README.md: `{part.strip()}`: no command `{args[0]}`"
                try:
                    cmd.make_context(args[0], args[1:]).close()
                except click.exceptions.Exit:
                    pass  # --help
                except click.UsageError as exc:
                    pytest.fail(f"README.md: `{part.strip()}` does not parse: {exc}")
    assert seen >= 5


def test_readme_paths_exist():
    """Every repository path the README names in backticks (`tests/test_sis.py`) exists."""
    text = README.read_text(encoding="utf-8")
    tops = ("scenarios/", "notebooks/", "tests/", "benchmarks/", "simulator/", ".ci/")
    named = {p for p in re.findall(r"`([\w.-]+/[\w./-]*)`", text) if p.startswith(tops)}
    assert len(named) >= 5
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"README.md names paths that do not exist: {missing}"


def test_readme_pip_extras_exist():
    from importlib.metadata import metadata

    extras = set(metadata("rumorsim").get_all("Provides-Extra") or [])
    text = README.read_text(encoding="utf-8")
    for found in re.findall(r"pip install [\"']?\.\[([\w,-]+)\]", text):
        for extra in found.split(","):
            assert extra in extras, f"README.md installs `.[{extra}]`, which pyproject.toml does not define"


# ------------------------------------------------------------------------ update


def update(fast: bool = False) -> int:
    """Rewrite README.md's output blocks with what the commands print now."""
    text = README.read_text(encoding="utf-8")
    changed = 0
    for block in reversed(output_blocks(text)):
        if fast and block.slow:
            continue
        print(f"running: {block.command}", file=sys.stderr)
        now = shown(run_command(block.command, block.exit_code)[0])
        if now != block.body:
            text = text[:block.start] + now + text[block.end:]
            changed += 1
    tmp = README.with_name(".README.md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, README)  # atomic
    print(f"{changed} block(s) changed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if "--update" not in sys.argv[1:]:
        sys.exit("usage: python tests/test_readme.py --update [--fast]")
    sys.exit(update(fast="--fast" in sys.argv[1:]))
