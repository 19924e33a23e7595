"""Refuse calls of primitives that srcgrad implements for some argument ranks only, made with others.

A composite is plain Python written for the ranks NumPy documents for it: `np.cross` of 3-vectors,
`np.tril` of a matrix. Called with another rank, the same Python would run and compute something
else (a[1] is a row of a matrix, not its second component). The record's `ranks` says, per
operand, which ranks the implementation serves; once the caller's kinds are known, a call with an
argument of another known rank is refused here, naming the call and the ranks that are served.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..errors import UnsupportedSyntaxError


def refuse_unimplemented_ranks(tree, kinds: dict, location) -> None:
    """Raise UnsupportedSyntaxError at the first call whose argument has a rank its record does
    not serve: a call still in the tree, or one the inline pass replaced by its body, whose
    comment keeps the check (`srcgrad_rank_check`). Arguments of unknown rank pass."""
    for node in syntax.nodes_in(tree):
        if isinstance(node, gast.Call) and getattr(node, "srcgrad_ranked", None) is not None:
            _check(node.srcgrad_ranked, [atom_of(a) for a in node.args], node, kinds, location)
        elif getattr(node, "srcgrad_rank_check", None) is not None:
            _check(*node.srcgrad_rank_check, kinds, location)


def _check(ranked: tuple, atoms: list, call, kinds: dict, location) -> None:
    name, ranks = ranked
    for position, (atom, served) in enumerate(zip(atoms, ranks)):
        rank = 0 if atom == 0 else None if atom is None else K.ndim(kinds.get(atom, K.UNKNOWN))
        if served is not None and rank is not None and rank not in served:
            raise UnsupportedSyntaxError(
                f"`{name}` of a {_described(rank)} (argument {position + 1})", location(call),
                f"srcgrad implements {name} for {' or '.join(_described(r, plural=True) for r in served)} there. "
                "Call it on each of those (a loop over the rows or matrices), or write the computation out.")


def atom_of(argument):
    """An argument as a rank check keeps it: a name's text, 0 for a written number, None for
    anything else (not checked)."""
    if isinstance(argument, gast.Constant):
        return 0
    return argument.id if isinstance(argument, gast.Name) else None


def _described(rank: int, plural: bool = False) -> str:
    if plural:
        return {0: "numbers", 1: "vectors (1-D arrays)", 2: "matrices (2-D arrays)"}.get(rank, f"{rank}-D arrays")
    return {0: "number", 1: "vector (1-D array)", 2: "matrix (2-D array)"}.get(rank, f"{rank}-D array")
