"""Refuse calls of primitives that srcgrad implements for some argument ranks only, made with others.

A composite is plain Python written for the ranks NumPy documents for it: `np.cross` of 3-vectors
or rows, `np.tril` of a matrix. Called with another rank, the same Python would run and compute
something else (a[1] is a row of a matrix, not its second component); a structural rule's code
(np.linalg.det's, `@`'s) would raise inside the derivative. The record's `ranks` (or that of the
function a composite's call was specialized to: `srcgrad_ranks`) says, per operand, which ranks
are served; resolve marks such calls, and once the caller's kinds are known (runs per signature,
right after the first kinds) a call with an argument of another known rank is refused here, at
its line, naming the ranks that are served.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..errors import UnsupportedSyntaxError
from ..rules import registry

_MATMUL = registry.lookup("op:@")
_PRODUCTS = ("np.dot", "np.matmul", "`@`", "np.kron")


def refuse_unimplemented_ranks(tree, kinds: dict, location) -> None:
    """Raise UnsupportedSyntaxError at the first call whose argument has a rank its record does
    not serve: a call still in the tree (or `a @ b`), or one the inline pass replaced by its body,
    whose comment keeps the check (`srcgrad_rank_check`). Arguments of unknown rank pass."""
    for block in syntax.blocks(tree.body):
        for stmt in block:
            if getattr(stmt, "srcgrad_rank_check", None) is not None:
                ranked, atoms, call = stmt.srcgrad_rank_check
                _check(ranked, atoms, kinds, lambda: location(call))
            for node in syntax.nodes_in(_own_parts(stmt)):
                where = lambda: location(node) or location(stmt)  # noqa: E731  (only for an error)
                if isinstance(node, gast.Call) and getattr(node, "srcgrad_ranked", None) is not None:
                    _check(node.srcgrad_ranked, [atom_of(a) for a in node.args], kinds, where)
                elif isinstance(node, gast.BinOp) and isinstance(node.op, gast.MatMult):
                    _check(("`@`", _MATMUL.ranks), [atom_of(node.left), atom_of(node.right)], kinds, where)


def _own_parts(stmt) -> list:
    """The expressions of `stmt` itself, not of the statements nested in it."""
    if isinstance(stmt, (gast.If, gast.While)):
        return [stmt.test]
    if isinstance(stmt, gast.For):
        return [stmt.iter]
    return [stmt]


def _check(ranked: tuple, atoms: list, kinds: dict, where) -> None:
    """`where()` gives the call's place in the user's file, asked for only when it is refused."""
    name, ranks = ranked
    for position, (atom, served) in enumerate(zip(atoms, ranks)):
        rank = 0 if atom == 0 else None if atom is None else K.ndim(kinds.get(atom, K.UNKNOWN))
        if served is not None and rank is not None and rank not in served:
            advice = ("Pass an array of one of those ranks" + (" (a number times an array is written with `*`)."
                                                              if name in _PRODUCTS else ".")
                      if rank < min(served) else
                      "Call it on each of those (a loop over the rows or matrices), or write the computation out.")
            raise UnsupportedSyntaxError(
                f"{_spelled(name)} of a {_described(rank)} (argument {position + 1})", where(),
                f"srcgrad implements {name.strip('`')} for {' or '.join(_described(r, plural=True) for r in served)} "
                f"there. {advice}")


def atom_of(argument):
    """An argument as a rank check keeps it: a name's text, 0 for a written number, None for
    anything else (not checked)."""
    if isinstance(argument, gast.Constant):
        return 0
    return argument.id if isinstance(argument, gast.Name) else None


def _spelled(name: str) -> str:
    return name if name.startswith("`") else f"`{name}`"


def _described(rank: int, plural: bool = False) -> str:
    if plural:
        return {0: "numbers", 1: "vectors (1-D arrays)", 2: "matrices (2-D arrays)"}.get(rank, f"{rank}-D arrays")
    return {0: "number", 1: "vector (1-D array)", 2: "matrix (2-D array)"}.get(rank, f"{rank}-D array")


def rename_rank_checks(body: list, renames: dict) -> None:
    """The rank checks kept on the comments of inlined calls in `body`, in the names given them
    since (the body inlined again, a name split by kind)."""
    for block in syntax.blocks(body):
        for stmt in block:
            check = getattr(stmt, "srcgrad_rank_check", None)
            if check is not None:
                ranked, atoms, call = check
                stmt.srcgrad_rank_check = (ranked, [renames.get(a, a) if isinstance(a, str) else a for a in atoms], call)
