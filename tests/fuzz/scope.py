"""Variables the generator can use at a point of a function: float values with static shapes, and ints."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Var:
    name: str
    shape: tuple = ()      # () float scalar, (n,) vector, (r, c) matrix; ignored for ints
    is_int: bool = False
    lo: int = 0            # an int's smallest and largest value where it is in scope
    hi: int = 0
    owned: bool = False    # an array this function created (never aliased): it may be written into
    param: bool = False


class Scope:
    """Names visible in a block: a block's own definitions are dropped when it ends."""

    def __init__(self, parent: Scope | None = None):
        self.parent, self.own = parent, {}

    def child(self) -> Scope:
        return Scope(self)

    def add(self, var: Var) -> Var:
        self.own[var.name] = var
        return var

    def all(self) -> list:
        outer = self.parent.all() if self.parent else []
        return outer + list(self.own.values())

    def floats(self, shape=None) -> list:
        return [v for v in self.all() if not v.is_int and (shape is None or v.shape == shape)]

    def ints(self) -> list:
        return [v for v in self.all() if v.is_int]

    def owned(self) -> list:
        return [v for v in self.all() if v.owned]

    def outer_floats(self) -> list:
        """Float variables defined outside this block (their updates here are loop-carried in a loop)."""
        return self.parent.floats() if self.parent else []
