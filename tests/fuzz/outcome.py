"""What checking one program found: failures, refusals, and the signatures that group them into classes."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .program import Program

# A program's class is its most telling failure: errors first, then wrong values, then derivatives.
PRIORITY = ["timeout", "crash", "error", "structure", "mutates arguments", "value", "finite differences",
            "dot product", "python vs numba"]


@dataclass
class Finding:
    """One failed check, or one refusal (check == "refused")."""

    check: str
    api: str = ""
    backend: str = ""
    detail: str = ""
    error: str = ""      # exception class name, for errors and refusals

    @property
    def signature(self) -> str:
        head = f"{self.check} [{self.api}]" if self.api else self.check
        return f"{head} {self.error}: {message_key(self.detail)}" if self.error else head

    @property
    def refusal_key(self) -> str:
        """A refusal's message without the API, so one construct refused by several APIs counts once."""
        return f"{self.error}: {message_key(self.detail)}"

    def describe(self) -> str:
        where = ", ".join(x for x in (self.api, self.backend) if x)
        return f"{self.check} ({where}){': ' + self.error if self.error else ''}\n{self.detail}"


@dataclass
class Outcome:
    program: Program
    status: str                      # "agreed", "refused", "failed" or "discarded"
    failures: list = field(default_factory=list)
    refusals: list = field(default_factory=list)
    smooth: bool = True              # False: finite differences were skipped (a kink near the sample)
    reason: str = ""                 # why the program was discarded
    seconds: float = 0.0
    attempts: int = 1                # generation attempts, discarded ones included
    on_cuda: str = ""                # target="cuda" (the prange program's kernels): "ran", "refused" or "" (not tried)

    @property
    def primary(self) -> Finding | None:
        if not self.failures:
            return None
        return min(self.failures, key=lambda f: PRIORITY.index(f.check) if f.check in PRIORITY else len(PRIORITY))


def status_of(failures: list, refusals: list) -> str:
    """A refusal on target="cuda" does not make a program refused: most programs compute with whole
    arrays outside their loops, which the host of a kernel cannot (reported apart, as on_cuda)."""
    return "failed" if failures else "refused" if any(r.backend != "cuda" for r in refusals) else "agreed"


_LOCATION = re.compile(r"^\S+:\d+(:\d+)?$")


def message_key(text: str) -> str:
    """The telling part of an error message, with names, numbers and paths made generic."""
    return _generic(_telling_line(text))[:140]


def _telling_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    numba_reason = re.search(r"numba's reason:\n(.*)", text, re.S)
    if numba_reason:   # CompilationError: what numba could not type, not the generic first line
        lines = [ln.strip() for ln in numba_reason.group(1).splitlines()
                 if ln.strip() and not ln.strip().startswith(("Failed in", "- Resolution failure"))]
        if lines and lines[0].startswith("No implementation"):
            lines = [" ".join(lines[:2])]   # ... found for signature: >>> the call numba could not type
        return "numba: " + (lines[0] if lines else "")
    failed_pass = re.search(r"failed in its `(\w+)` pass", text)
    cause = re.search(r"^Cause: (.*)$", text, re.M)
    if failed_pass and cause:   # InternalError from a compiler pass: the pass and the cause tell it apart
        return f"`{failed_pass.group(1)}` pass: " + re.split(r": [A-Z]\w+\(", cause.group(1))[0]
    raised = re.search(r"the derivative of \S+ raised (.*?), which ", text, re.S)
    if raised:
        return "generated code raised " + raised.group(1).splitlines()[0]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not _LOCATION.match(ln) and ln != "^" and not ln.startswith("File ")]
    return next((ln for ln in useful if "srcgrad" in ln or "Error" in ln), useful[0] if useful else "")


def _generic(line: str) -> str:
    line = re.sub(r" at 0x[0-9a-f]+", "", line)
    line = re.sub(r"'[A-Za-z_]\w*'", "'<name>'", line)   # generated variable names differ per program
    line = re.sub(r"(/[\w.\-]+)+\.py(:\d+)?", "<file>", line)
    line = re.sub(r"fuzz_prog_[0-9a-f]+|srcgrad_gen_[0-9a-f]+", "<module>", line)
    line = re.sub(r"\b([A-Za-z_]+?)_?\d+\b", r"\1#", line)
    return re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "N", line)
