"""What to run on each program: the backends and srcgrad APIs."""
from __future__ import annotations

from dataclasses import dataclass

APIS = ("jvp", "vjp", "value_and_grad", "grad")
SCALAR_ONLY = ("value_and_grad", "grad")


@dataclass(frozen=True)
class Plan:
    """Backends and APIs to run; `python_only` APIs skip numba (each numba compile costs seconds)."""

    backends: tuple = ("python", "numba")
    apis: tuple = APIS
    python_only: tuple = ("grad",)

    def apis_for(self, backend: str) -> tuple:
        return tuple(a for a in self.apis if backend == "python" or a not in self.python_only)
