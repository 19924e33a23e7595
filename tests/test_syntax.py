"""The fast tree queries in syntax.py agree with the library definitions they replace."""
import ast
import gc
from pathlib import Path

import gast

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
from srcgrad import syntax
from srcgrad.pipeline import collector_paused

CORPUS_SOURCE = (Path(__file__).parent / "corpus.py").read_text()


class _Substitution(gast.NodeTransformer):
    """substitute as it was first written: a copy, then loaded names replaced."""

    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, n):
        if isinstance(n.ctx, gast.Load) and n.id in self.mapping:
            return syntax.clone(self.mapping[n.id])
        return n


def _walked(tree):
    """ast.walk's nodes, in its order, but the expression contexts (Load, Store), which the fast
    queries leave out."""
    return [n for n in ast.walk(tree) if not isinstance(n, gast.expr_context)]


def test_walk_yields_what_ast_walk_yields_in_its_order():
    tree = gast.parse(CORPUS_SOURCE)
    assert [id(n) for n in syntax.walk(tree)] == [id(n) for n in _walked(tree)]


def test_nodes_in_finds_every_node():
    tree = gast.parse(CORPUS_SOURCE)
    assert sorted(map(id, syntax.nodes_in(tree))) == sorted(map(id, _walked(tree)))
    statements = tree.body[5:9]
    assert sorted(map(id, syntax.nodes_in(statements))) == sorted(id(n) for s in statements for n in _walked(s))


def test_substitute_matches_a_copy_then_a_node_transformer():
    tree = gast.parse(CORPUS_SOURCE)
    replacement = gast.parse("np.sin(q) + x[i, 1:]").body[0].value
    for node in (n for n in syntax.walk(tree) if isinstance(n, (gast.expr, gast.stmt))):
        names = sorted(syntax.names_in(node))
        mapping = {name: replacement for name in names[::2]}
        expected = _Substitution(mapping).visit(syntax.clone(node))
        assert gast.dump(syntax.substitute(node, mapping), include_attributes=True) == \
            gast.dump(expected, include_attributes=True)


def test_collector_paused_nests_and_restores_the_state_it_found():
    assert gc.isenabled()
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()   # off before: left off
    finally:
        gc.enable()
