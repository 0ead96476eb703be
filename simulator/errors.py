"""One exception family for everything a user can get wrong.

Every error carries where it happened (file, line, field path) and what was expected,
so the CLI can print a one-paragraph message instead of a traceback.
"""

from __future__ import annotations

import difflib
from typing import Iterable, Optional


class RumorsimError(Exception):
    """Base class for errors caused by user input or the environment, not by bugs."""

    def __init__(
        self,
        message: str,
        *,
        file: Optional[str] = None,
        line: Optional[int] = None,
        field: Optional[str] = None,
        expected: Optional[str] = None,
        found: object = None,
        suggestion: Optional[str] = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.expected = expected
        self.found = found
        self.suggestion = suggestion
        super().__init__(self.format())

    def format(self) -> str:
        """The one-paragraph message the CLI prints."""
        where = ""
        if self.file:
            where = str(self.file)
            if self.line:
                where += f", line {self.line}"
        parts = []
        if where:
            parts.append(f"{where}:")
        if self.field:
            parts.append(f"field `{self.field}`:")
        parts.append(self.message.rstrip("."))
        text = " ".join(parts) + "."
        if self.found is not None:
            text += f" Found {self.found!r}."
        if self.expected:
            text += f" Expected {self.expected.rstrip('.')}."
        if self.suggestion:
            tip = self.suggestion.rstrip(".")
            text += f" {tip}" + ("" if tip.endswith(("?", "!")) else ".")
        return text

    def __str__(self) -> str:  # keep str() in sync if attributes were changed after init
        return self.format()


class ScenarioError(RumorsimError):
    """A scenario file (or an override of it) is malformed or inconsistent."""


class NetworkError(RumorsimError):
    """A network cannot be built: a missing or malformed edge list, impossible parameters."""


class MeanFieldError(RumorsimError):
    """A scenario has rules the mean-field equations cannot represent (or a bad method)."""


class MemoryBudgetError(RumorsimError):
    """A scenario would need more memory than this machine has."""


class OutputError(RumorsimError):
    """A run directory cannot be written (it exists and is not empty, or is not writable)."""


def did_you_mean(word: str, choices: Iterable[str]) -> Optional[str]:
    """Return 'Did you mean `x`?' for the closest valid choice, or None."""
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if close:
        return f"Did you mean `{close[0]}`?"
    return None
