"""The exceptions srcgrad raises; every one derives from SrcgradError and says what to do instead."""
from __future__ import annotations


class SrcgradError(Exception):
    """Base class of every error srcgrad raises."""


class SourceLocation:
    """file:line:col plus the quoted source line, for error messages."""

    def __init__(self, filename: str, line: int, col: int, text: str):
        self.filename, self.line, self.col, self.text = filename, line, col, text

    def __str__(self) -> str:
        caret = " " * (self.col + 4) + "^"
        return f"{self.filename}:{self.line}:{self.col + 1}\n    {self.text.rstrip()}\n{caret}"


class UnsupportedSyntaxError(SrcgradError):
    """A construct srcgrad cannot differentiate; the message names it, where it is, and the alternative."""

    def __init__(self, construct: str, location: SourceLocation | None, advice: str):
        self.construct, self.location, self.advice = construct, location, advice
        where = f"{location}\n" if location else ""
        super().__init__(f"{where}srcgrad cannot differentiate {construct}. {advice}")


class MissingSourceError(SrcgradError):
    """The function's Python source is not available (builtin, C extension, exec'd or REPL code)."""


class NoRuleError(SrcgradError):
    """A call to something that has neither a derivative rule nor Python source."""


class WrtError(SrcgradError):
    """`wrt` names an argument that cannot be differentiated (out of range, or not a float/array)."""


class DuplicateRuleError(SrcgradError):
    """A primitive was registered twice in the derivative-rule registry."""


class CompilationError(SrcgradError):
    """numba rejected the generated derivative code (usually an operation numba does not support)."""
