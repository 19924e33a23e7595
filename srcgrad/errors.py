"""The exceptions srcgrad raises; every one derives from SrcgradError and says what to do instead."""
from __future__ import annotations

import os
import sys


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


class StaleSourceError(SrcgradError):
    """The function's source file no longer matches the code Python is running (edited, not reloaded)."""


class NoRuleError(SrcgradError):
    """A call to something that has neither a derivative rule nor Python source."""


class WrtError(SrcgradError):
    """`wrt` names an argument that cannot be differentiated (out of range, or not a float/array)."""


class DuplicateRuleError(SrcgradError):
    """A primitive was registered twice in the derivative-rule registry."""


class CompilationError(SrcgradError):
    """numba rejected the generated derivative code (usually an operation numba does not support)."""


class InternalError(SrcgradError):
    """A bug in srcgrad: a compiler pass failed, or generated code does not parse or compile.

    The message names the user's function (file:line), the pass that failed, and the
    SRCGRAD_DUMP_AFTER setting that reproduces it.
    """


class CacheError(SrcgradError):
    """Neither the cache directory nor a private temporary directory can hold generated code."""


class CacheWarning(UserWarning):
    """srcgrad is not using the configured cache directory; the message says why and what to do."""


def outside_srcgrad() -> int:
    """The stacklevel of the nearest caller outside the srcgrad package, so a warning points at the user's code."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level
