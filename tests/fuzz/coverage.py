"""Which constructs a generated program contains, read back from its source (not from the generator)."""
from __future__ import annotations

import ast

from .functions import spellings

CONTROL = ["for range", "for over rows", "for enumerate", "for over a slice", "for over a tuple", "while", "while True", "nested loop", "break",
           "continue", "early return", "return in loop", "if", "elif", "else", "conditional expression",
           "and/or/not"]
DATA = ["augmented assign", "loop-carried variable", "index read", "slice read", "element write", "slice write",
        "augmented element write", "augmented slice write", "parameter rebound", "helper call",
        "subroutine call", "name bound again", "rebound to a slice of itself", "grown in a loop",
        "helper calls helper", "helper with loop", "function as argument", "tuple unpack", "tuple return", "helper tuple return",
        "sequence literal as an array", "comprehension", "scalar arg", "vector arg", "matrix arg", "int arg", "several wrt"]
# functions the generator passes a list or tuple literal where numpy takes an array (not a shape)
_TAKE_ARRAYS = {"np.sum", "np.mean", "np.max", "max", "min", "np.dot", "np.tanh"}
OPERATORS = ["+", "-", "*", "/", "**", "%", "//", "@", "unary -", "unary +"]
ARRAYS = ["np.zeros", "np.ones", "np.empty", "np.zeros_like", "np.empty_like", "np.full", "np.array", "np.linspace",
          "np.copy", ".copy()", "np.sum", "np.sum(axis=)", "np.mean", "np.mean(axis=)", "np.prod", "np.max", "np.min",
          ".sum()", ".mean()", ".max()", ".min()", ".prod()", ".sum(axis=)", ".mean(axis=)", "np.dot", ".dot()",
          "np.matmul", "np.outer", ".T", "np.transpose", ".transpose()", "transpose of expression", "np.reshape",
          ".reshape()", "np.ravel", ".ravel()", ".flatten()", "np.concatenate", "np.stack", "np.where",
          "np.cumsum", ".cumsum()", "len", ".shape", "np.flip", "np.roll", "np.sort", "np.diff", "np.repeat",
          "np.diag", "np.max(axis=)", "np.min(axis=)", "np.prod(axis=)", "keepdims=", "index array",
          "np.var(axis=)", "np.std(axis=)", "np.linalg.norm(axis=)", "scipy.special.logsumexp(axis=)",
          "scipy.special.softmax(axis=)", "scipy.special.log_softmax(axis=)", "list literal", ".append()",
          "matrix literal", "np.hstack", "np.vstack", "np.concatenate(axis=)",
          "literal piece", "np.einsum", "np.column_stack", "np.stack(axis=)", "np.tril", "np.triu", "np.tile",
          "np.interp", "np.squeeze", ".squeeze()", "np.atleast_3d"]


def groups() -> dict:
    """Construct names by group; the elementwise ones are whatever srcgrad's registry holds."""
    return {"control flow": CONTROL, "data flow": DATA, "operators": OPERATORS, "array functions": ARRAYS,
            "elementwise functions": spellings()}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.Mod: "%",
           ast.FloorDiv: "//", ast.MatMult: "@"}
_TRANSPOSES = {"np.transpose", ".transpose()", ".T"}


def constructs(program) -> set:
    """The names (from groups()) of the constructs in `program`."""
    tree = ast.parse(program.source)
    found = set()
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    helpers = {fn.name for fn in functions if fn.name != program.func}
    for fn in functions:
        _FunctionVisitor(found, helpers, fn.name != program.func).visit_function(fn)
    kinds = {len(p.shape) if p.int_value is None else "int" for p in program.params}
    found |= {name for key, name in [(0, "scalar arg"), (1, "vector arg"), (2, "matrix arg"), ("int", "int arg")]
              if key in kinds}
    if len(program.wrt_tuple) > 1:
        found.add("several wrt")
    return found


def _dotted(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base in ("np", "math", "scipy", "scipy.special", "np.linalg") else None
    return None


def _has_slice(index) -> bool:
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return any(isinstance(p, ast.Slice) for p in parts)


class _FunctionVisitor(ast.NodeVisitor):
    """Adds construct names for one function; tracks loop nesting and names defined so far."""

    def __init__(self, found: set, helpers: set, is_helper: bool):
        self.found, self.helpers, self.is_helper = found, helpers, is_helper
        self.loops = 0
        self.defined: set = set()
        self.params: set = set()

    def visit_function(self, fn: ast.FunctionDef):
        self.params = {a.arg for a in fn.args.args}
        self.defined = set(self.params)
        if any(isinstance(n, ast.Return) and n is not fn.body[-1] for n in ast.walk(fn)):
            self.found.add("early return")
        for stmt in fn.body:
            self.visit(stmt)
        if self.is_helper and any(isinstance(n, (ast.For, ast.While)) for n in ast.walk(fn)):
            self.found.add("helper with loop")

    # ----- statements ----------------------------------------------------------------------
    def visit_For(self, node):
        call = _dotted(node.iter.func) if isinstance(node.iter, ast.Call) else None
        if isinstance(node.iter, ast.Tuple):
            self.found.add("for over a tuple")
        elif isinstance(node.iter, ast.Subscript):
            self.found.add("for over a slice")
        else:
            self.found.add({"range": "for range", "enumerate": "for enumerate"}.get(call, "for over rows"))
        self.visit(node.iter)
        self._loop(node)

    def visit_While(self, node):
        is_true = isinstance(node.test, ast.Constant) and node.test.value is True
        self.found.add("while True" if is_true else "while")
        self.visit(node.test)
        self._loop(node)

    def _loop(self, node):
        if self.loops:
            self.found.add("nested loop")
        stored = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        written = {_base(t) for n in ast.walk(node) if isinstance(n, (ast.Assign, ast.AugAssign))
                   for t in _targets(n) if isinstance(t, ast.Subscript)}
        if (stored | written) & self.defined:
            self.found.add("loop-carried variable")
        self.loops += 1
        for stmt in node.body:
            self.visit(stmt)
        self.loops -= 1
        self.defined |= stored

    def visit_If(self, node):
        self.found.add("if")
        if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
            self.found.add("elif")
        elif node.orelse:
            self.found.add("else")
        self.generic_visit(node)

    def visit_Break(self, node):
        self.found.add("break")

    def visit_Continue(self, node):
        self.found.add("continue")

    def visit_Return(self, node):
        if self.loops:
            self.found.add("return in loop")
        if isinstance(node.value, ast.Tuple):
            self.found.add("helper tuple return" if self.is_helper else "tuple return")
        self.generic_visit(node)

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Call) and _dotted(node.value.func) in self.helpers:
            self.found.add("subroutine call")
        self.generic_visit(node)

    def visit_Assign(self, node):
        for target in node.targets:
            if isinstance(target, ast.Tuple):
                self.found.add("tuple unpack")
            if isinstance(target, ast.Subscript):
                self.found.add("slice write" if _has_slice(target.slice) else "element write")
            if isinstance(target, ast.Name) and target.id in self.params:
                self.found.add("parameter rebound")
            if isinstance(target, ast.Name):
                self._rebinding(target.id, node.value)
            if isinstance(node.value, ast.List) and node.value.elts:
                self.found.add("list literal")
        self.generic_visit(node)
        self.defined |= {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}

    def _rebinding(self, name: str, value) -> None:
        read = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
        if name in self.defined and name not in read and name not in self.params:
            self.found.add("name bound again")
        if isinstance(value, ast.Subscript) and _base(value) == name and _has_slice(value.slice):
            self.found.add("rebound to a slice of itself")
        if self.loops and isinstance(value, ast.Call) and _dotted(value.func) == "np.concatenate" and name in read:
            self.found.add("grown in a loop")

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Subscript):
            self.found.add("augmented slice write" if _has_slice(node.target.slice) else "augmented element write")
        else:
            self.found.add("augmented assign")
        self.generic_visit(node)

    # ----- expressions ---------------------------------------------------------------------
    def visit_ListComp(self, node):
        self.found.add("comprehension")
        self.generic_visit(node)

    visit_GeneratorExp = visit_ListComp

    def visit_Call(self, node):
        name = _dotted(node.func)
        if name in self.helpers and any(_dotted(a) in self.helpers or (_dotted(a) or "").startswith("np.")
                                        for a in node.args):
            self.found.add("function as argument")
        if name in _TAKE_ARRAYS and any(isinstance(a, (ast.List, ast.Tuple)) for a in node.args):
            self.found.add("sequence literal as an array")   # np.sum([a, b]), max((a, b))
        if name in self.helpers:
            self.found.add("helper calls helper" if self.is_helper else "helper call")
        elif name is not None:
            self.found.add(name)
        elif isinstance(node.func, ast.Attribute):
            name = f".{node.func.attr}()"
            self.found.add(name)
        if name and any(k.arg == "axis" for k in node.keywords):
            self.found.add(name.replace("()", "") + "(axis=)")
        if any(k.arg == "keepdims" for k in node.keywords):
            self.found.add("keepdims=")
        if name == "np.concatenate" and node.args and isinstance(node.args[0], (ast.Tuple, ast.List)) \
                and any(isinstance(e, ast.List) for e in node.args[0].elts):
            self.found.add("literal piece")
        if name in _TRANSPOSES and not isinstance(_operand(node), ast.Name):
            self.found.add("transpose of expression")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in ("T", "shape"):
            self.found.add("." + node.attr)
            if node.attr == "T" and not isinstance(node.value, ast.Name):
                self.found.add("transpose of expression")
        self.generic_visit(node)

    def visit_List(self, node):
        if any(isinstance(e, ast.List) for e in node.elts):
            self.found.add("matrix literal")
        self.generic_visit(node)

    def visit_Subscript(self, node):
        if isinstance(node.ctx, ast.Load):
            self.found.add("slice read" if _has_slice(node.slice) else "index read")
        if isinstance(node.slice, ast.Call) and _dotted(node.slice.func) == "np.array":
            self.found.add("index array")
        self.generic_visit(node)

    def visit_BinOp(self, node):
        self.found.add(_BINOPS.get(type(node.op), "?"))
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        self.found.add({ast.USub: "unary -", ast.UAdd: "unary +", ast.Not: "and/or/not"}.get(type(node.op), "?"))
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        self.found.add("and/or/not")
        self.generic_visit(node)

    def visit_IfExp(self, node):
        self.found.add("conditional expression")
        self.generic_visit(node)


def _operand(call: ast.Call):
    """The array a transpose call works on: its first argument, or the object of a method call."""
    if isinstance(call.func, ast.Attribute) and _dotted(call.func) is None:
        return call.func.value
    return call.args[0] if call.args else None


def _targets(node) -> list:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _base(node) -> str | None:
    while isinstance(node, ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
