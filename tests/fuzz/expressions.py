"""Shape-directed random expressions: scalars, vectors and matrices built from the variables in scope.

Every expression is built for a target shape that is known when the program is generated, so the
generated code never raises a NumPy shape error. Functions with a restricted domain get their
argument wrapped into it (``wrap``), and fast-growing ones get a squashed argument, so values stay
finite and moderate.
"""
from __future__ import annotations

from dataclasses import dataclass

from .functions import GROW, POSITIVE, REAL, UNIT, elementwise, rounding
from .scope import Scope, Var

LEAF_P = 0.25        # chance that an expression stops at a leaf even when depth allows more
POWERS = ("2", "3", "0.5", "1.5", "-1.0", "-0.5", "2.0")


@dataclass
class Helper:
    """A generated module-level function the current function may call."""

    name: str
    params: tuple          # one shape per parameter
    rets: tuple            # the shapes it returns: one for a single value, two for a tuple


def _absent(item) -> bool:
    return item is None or item is False or (isinstance(item, list) and not item)


def paren(text: str) -> str:
    return text if text.isidentifier() else f"({text})"


class ExprGen:
    """Random expressions of a requested shape; `self.rng` is a random.Random."""

    def __init__(self, rng, dims: list, flat: int | None):
        self.rng, self.dims, self.flat = rng, dims, flat
        self.helpers: list = []
        self.subroutines: list = []   # helpers whose first parameter is an array they write into
        self.function_takers: list = []   # helpers `ap0(fn, p)` that call the function they are given

    # ----- small utilities -----------------------------------------------------------------
    def pick(self, weighted):
        """An item of [(weight, item), ...]; zero weights and items None, False or [] are skipped."""
        items = [(w, item) for w, item in weighted if w > 0 and not _absent(item)]
        total = sum(w for w, _ in items)
        x = self.rng.uniform(0, total)
        for w, item in items:
            x -= w
            if x <= 0:
                return item
        return items[-1][1]

    def choose(self, variables: list):
        """A variable, parameters (the differentiated inputs) three times as likely as locals."""
        return self.pick([(3 if v.param else 1, v) for v in variables])

    def const(self, lo=-1.5, hi=1.5) -> str:
        value = self.rng.uniform(lo, hi)
        return f"{value:.2f}" if abs(value) >= 0.05 else "0.25"

    def vector_lengths(self) -> list:
        return self.dims + ([self.flat] if self.flat else [])

    def regular(self, shape) -> bool:
        """Shapes built from the program's dims get full expressions; odd pieces (length 1) get leaves."""
        return all(n in self.vector_lengths() for n in shape)

    # ----- entry point ---------------------------------------------------------------------
    def expr(self, sc: Scope, shape: tuple, depth: int) -> str:
        if depth <= 0 or self.rng.random() < LEAF_P or not self.regular(shape):
            return self.leaf(sc, shape)
        producers = (self.SCALAR, self.VECTOR, self.MATRIX)[len(shape)]
        for _ in range(10):
            make = self.pick(producers)
            out = make(self, sc, shape, depth - 1)
            if out is not None:
                return out
        return self.leaf(sc, shape)

    def leaf(self, sc, shape) -> str:
        return (self.scalar_leaf, self.vector_leaf, self.matrix_leaf)[len(shape)](sc, shape)

    # ----- leaves --------------------------------------------------------------------------
    def scalar_leaf(self, sc, shape=()) -> str:
        scalars, arrays = sc.floats(()), [v for v in sc.floats() if v.shape]
        return self.pick([
            (4, scalars and (lambda: self.choose(scalars).name)),
            (2, arrays and (lambda: self.element_of(sc, self.choose(arrays)))),
            (1, self.const),
        ])()

    def element_of(self, sc, var) -> str:
        return self.element(sc, var.name, var.shape)

    def element(self, sc, base: str, shape: tuple) -> str:
        """A float element of the array `base` of shape `shape`."""
        if len(shape) == 1:
            return f"{paren(base)}[{self.index(sc, shape[0])}]"
        i, j = self.index(sc, shape[0]), self.index(sc, shape[1])
        return f"{paren(base)}[{i}][{j}]" if self.rng.random() < 0.15 else f"{paren(base)}[{i}, {j}]"

    def vector_leaf(self, sc, shape) -> str:
        n = shape[0]
        same = sc.floats(shape)
        rows = [v for v in sc.floats() if len(v.shape) == 2 and v.shape[1] == n]
        cols = [v for v in sc.floats() if len(v.shape) == 2 and v.shape[0] == n]
        longer = [v for v in sc.floats() if len(v.shape) == 1 and v.shape[0] >= n]
        vectors = [v for v in sc.floats() if len(v.shape) == 1]
        return self.pick([
            (5, same and (lambda: self.choose(same).name)),
            (0.6, vectors and (lambda: self.gather(self.choose(vectors), n))),
            (2, rows and (lambda: self.row(sc, self.choose(rows)))),
            (1.5, cols and (lambda: self.column(sc, self.choose(cols)))),
            (1.5, longer and (lambda: self.vector_slice(sc, self.choose(longer), n))),
            (0.5, lambda: f"np.ones({n}) * {self.scalar_leaf(sc)}"),
            (0.5, lambda: f"np.linspace(0.5, 1.5, {n}) * {self.scalar_leaf(sc)}"),
            (0.1, lambda: f"np.full({n}, {self.scalar_leaf(sc)})"),
        ])()

    def gather(self, var, n: int) -> str:
        """n elements of a vector picked by an integer array, repeats and negative indices allowed."""
        return f"{var.name}[{self.index_array(var.shape[0], n)}]"

    def index_array(self, length: int, n: int) -> str:
        picks = [self.rng.randint(-length, length - 1) for _ in range(n)]
        if n > 1 and self.rng.random() < 0.5:
            picks[-1] = picks[0]   # a repeated element: its adjoint adds up, its writes keep the last
        return f"np.array([{', '.join(map(str, picks))}])"

    def row(self, sc, var) -> str:
        i = self.index(sc, var.shape[0])
        return f"{var.name}[{i}, :]" if self.rng.random() < 0.3 else f"{var.name}[{i}]"

    def column(self, sc, var) -> str:
        return f"{var.name}[:, {self.index(sc, var.shape[1])}]"

    def vector_slice(self, sc, var, n: int) -> str:
        length = var.shape[0]
        ints = [v for v in sc.ints() if v.lo >= 0 and v.hi + n <= length]
        if ints and self.rng.random() < 0.4:
            i = self.rng.choice(ints).name
            return f"{var.name}[{i}:{i} + {n}]"
        if length == n and self.rng.random() < 0.3:
            return f"{var.name}[::-1]"
        start = self.rng.randint(0, length - n)
        if start == 0:
            return f"{var.name}[:{n}]"
        if start + n == length and self.rng.random() < 0.5:
            return f"{var.name}[{start}:]" if self.rng.random() < 0.5 else f"{var.name}[-{n}:]"
        return f"{var.name}[{start}:{start + n}]"

    def matrix_leaf(self, sc, shape) -> str:
        r, c = shape
        same = sc.floats(shape)
        flipped = sc.floats((c, r))
        same_columns = [v for v in sc.floats() if len(v.shape) == 2 and v.shape[1] == c]
        bigger = [v for v in sc.floats() if len(v.shape) == 2 and v.shape[0] >= r and v.shape[1] >= c
                  and v.shape != shape]
        return self.pick([
            (5, same and (lambda: self.choose(same).name)),
            (2, flipped and (lambda: f"{self.choose(flipped).name}.T")),
            (1, bigger and (lambda: self.matrix_slice(self.choose(bigger), r, c))),
            (0.4, same_columns and (lambda: self.gather(self.choose(same_columns), r))),
            (0.5, lambda: f"np.ones(({r}, {c})) * {self.scalar_leaf(sc)}"),
            (0.5, lambda: f"np.outer({self.vector_leaf(sc, (r,))}, {self.vector_leaf(sc, (c,))})"),
        ])()

    def matrix_slice(self, var, r, c) -> str:
        a = self.rng.randint(0, var.shape[0] - r)
        b = self.rng.randint(0, var.shape[1] - c)
        rows = ":" if r == var.shape[0] else f"{a}:{a + r}"
        cols = ":" if c == var.shape[1] else f"{b}:{b + c}"
        return f"{var.name}[{rows}, {cols}]" if cols != ":" else f"{var.name}[{rows}]"

    # ----- indices and conditions ----------------------------------------------------------
    def index(self, sc, n: int) -> str:
        """An int expression that is a valid index into a length-n axis wherever it is evaluated."""
        options = []
        for v in sc.ints():
            if v.lo >= 0 and v.hi < n:
                options += [(4, v.name), (0.7, f"-1 - {v.name}"), (0.7, f"{n - 1} - {v.name}")]
                if v.hi + 1 < n:
                    options.append((1, f"{v.name} + 1"))
            if 1 <= v.lo and v.hi - 1 < n:
                options.append((2, f"{v.name} - 1"))
            if v.lo >= 0 and v.hi >= n:
                options.append((1, f"{v.name} % {n}"))
        options.append((3 if not options else 1, str(self.rng.randint(-n, n - 1))))
        return self.pick(options)

    def cond(self, sc, depth: int = 1) -> str:
        ints = sc.ints()
        form = self.pick([(5, "float"), (2 if ints else 0, "int"), (1, "bool")])
        if form == "bool":
            a, b = self.cond(sc, depth), self.cond(sc, depth)
            return self.pick([(2, f"({a}) and ({b})"), (2, f"({a}) or ({b})"), (1, f"not ({a})")])
        if form == "int":
            i = self.rng.choice(ints)
            c = self.rng.randint(i.lo, max(i.lo, i.hi))
            return self.pick([(1, f"{i.name} % 2 == 0"), (1, f"{i.name} > {c}"), (1, f"{i.name} == {c}"),
                              (1, f"{i.name} != {c}"), (1, f"{i.name} <= {c}")])
        left = self.expr(sc, (), depth)
        right = self.const(-1.0, 1.0) if self.rng.random() < 0.6 else self.expr(sc, (), depth)
        return f"{left} {self.rng.choice(['<', '>', '<=', '>='])} {right}"

    def array_cond(self, sc, shape, depth) -> str:
        right = self.const(-0.8, 0.8) if self.rng.random() < 0.5 else self.expr(sc, shape, depth)
        return f"{self.expr(sc, shape, depth)} {self.rng.choice(['<', '>'])} {right}"

    # ----- domains -------------------------------------------------------------------------
    def wrap(self, domain, text: str) -> str:
        """`text` mapped into a function's domain: GROW, or a (lo, hi) range."""
        if domain == REAL:
            return text
        if domain == GROW:
            return self.rng.choice([f"np.tanh({text})", f"np.sin({text})", f"1.5 * np.cos({text})",
                                    f"np.arctan({text})"])
        if domain == POSITIVE:
            return self.rng.choice([f"1.0 + np.square({text})", f"np.exp(np.sin({text}))", f"1.5 + np.cos({text})",
                                    f"2.0 + np.tanh({text})", f"1.0 + {paren(text)} ** 2"])
        if domain == UNIT:
            return self.rng.choice([f"0.9 * np.tanh({text})", f"0.8 * np.sin({text})"])
        lo, hi = domain   # any other range: its middle, plus a squashed swing that stays inside
        middle, swing = (lo + hi) / 2, 0.9 * (hi - lo) / 2
        return f"{middle:.3g} + {swing:.3g} * np.tanh({text})"

    def positive(self, sc, shape, depth) -> str:
        return self.wrap(POSITIVE, self.expr(sc, shape, depth))

    # ----- producers for every shape -------------------------------------------------------
    def operand_shapes(self, shape) -> tuple:
        options = [(4, (shape, shape))]
        if shape:
            options += [(1, (shape, ())), (1, ((), shape))]
        if len(shape) == 2:
            options += [(1, (shape, shape[1:])), (0.5, (shape[1:], shape))]
        return self.pick(options)

    def binop(self, sc, shape, d):
        op = self.pick([(3, "+"), (3, "-"), (3, "*"), (1.5, "/"), (1, "**"), (0.15, "%"), (0.15, "//")])
        sa, sb = self.operand_shapes(shape) if op != "**" else (shape, shape)
        a, b = self.expr(sc, sa, d), self.expr(sc, sb, d)
        if op == "/":
            return f"({a} / ({self.wrap(POSITIVE, b)}))"
        if op == "**":
            return self.power(sc, sa, sb, a, b, d)
        if op in ("%", "//"):
            left = self.wrap(POSITIVE, a) if op == "%" else a
            return f"({left} {op} ({self.wrap(POSITIVE, b)}))"
        return f"({a} {op} {b})"

    def power(self, sc, sa, sb, a, b, d):
        """a ** b with a positive base (or a small integer power); a and b have the result's shape."""
        return self.pick([
            (2, f"(({self.wrap(POSITIVE, a)}) ** {self.rng.choice(POWERS)})"),
            (1, f"({paren(a)} ** {self.rng.choice(['2', '3'])})"),
            (1, f"(({self.wrap(POSITIVE, a)}) ** np.tanh({b}))"),
            (0.3, f"(2.0 ** np.sin({b}))"),
        ])

    def unary(self, sc, shape, d):
        sign = "-" if self.rng.random() < 0.8 else "+"
        return f"({sign}{paren(self.expr(sc, shape, d))})"

    def elementwise(self, sc, shape, d):
        scalar_only = not shape and self.rng.random() < 0.5   # math.* and builtins fit scalars only
        fn = self.rng.choice([f for f in elementwise() if (f.arrays or not shape) and not (scalar_only and f.arrays)])
        args = [self.wrap(fn.domains[0], self.expr(sc, shape, d))]
        for domain in fn.domains[1:]:   # later arguments sometimes broadcast a scalar
            args.append(self.wrap(domain, self.expr(sc, shape if self.rng.random() < 0.8 else (), d)))
        return f"{fn.spelling}({', '.join(args)})"

    def inactive(self, sc, shape, d):
        fn = self.rng.choice([f for f in rounding() if f.arrays or not shape])
        return f"(0.25 * {fn.spelling}({self.expr(sc, shape, d)}))"

    def if_expression(self, sc, shape, d):
        return f"({self.expr(sc, shape, d)} if {self.cond(sc, d)} else {self.expr(sc, shape, d)})"

    def where(self, sc, shape, d):
        if not shape:
            return None
        numbers = self.rng.random() < 0.15   # both branches numbers: the condition alone gives the shape
        a = self.expr(sc, () if numbers else shape, d)
        b = self.expr(sc, shape if self.rng.random() < 0.8 and not numbers else (), d)
        return f"np.where({self.array_cond(sc, shape, d)}, {a}, {b})"

    def einsum(self, sc, shape, d):
        """np.einsum with written subscripts: contractions, a transpose, a trace, three operands."""
        k = self.rng.choice(self.dims)
        if not shape:
            n = self.rng.choice(self.dims)
            return self.pick([
                (2, lambda: f'np.einsum("i,i", {self.expr(sc, (n,), d)}, {self.expr(sc, (n,), d)})'),
                (1, lambda: f'np.einsum("ij,ij->", {self.expr(sc, (n, k), d)}, {self.expr(sc, (n, k), d)})'),
                (1, lambda: f'np.einsum("ii", {self.expr(sc, (n, n), d)})'),
            ])()
        if len(shape) == 1:
            n = shape[0]
            return self.pick([
                (2, lambda: f'np.einsum("ij,j->i", {self.expr(sc, (n, k), d)}, {self.expr(sc, (k,), d)})'),
                (1, lambda: f'np.einsum("ji,j->i", {self.expr(sc, (k, n), d)}, {self.expr(sc, (k,), d)})'),
                (0.5, lambda: f'np.einsum("ii->i", {self.expr(sc, (n, n), d)})'),
            ])()
        r, c = shape
        return self.pick([
            (2, lambda: f'np.einsum("ik,kj->ij", {self.expr(sc, (r, k), d)}, {self.expr(sc, (k, c), d)})'),
            (1, lambda: f'np.einsum("ji", {self.expr(sc, (c, r), d)})'),
            (1, lambda: f'np.einsum("i,j,j->ij", {self.expr(sc, (r,), d)}, {self.expr(sc, (c,), d)}, {self.expr(sc, (c,), d)})'),
        ])()

    def columns(self, sc, shape, d):
        """Vectors as the columns of a matrix: np.column_stack or np.stack(axis=1)."""
        r, c = shape
        if c > 4:
            return None
        pieces = ", ".join(self.expr(sc, (r,), d) for _ in range(c))
        return f"np.column_stack(({pieces}))" if self.rng.random() < 0.5 else f"np.stack(({pieces}), axis=1)"

    def triangle(self, sc, shape, d):
        return f"{self.rng.choice(['np.tril', 'np.triu'])}({self.expr(sc, shape, d)})"

    def tiled(self, sc, shape, d):
        n = shape[0]
        if n % 2 or n // 2 not in self.vector_lengths():
            return None
        return f"np.tile({self.expr(sc, (n // 2,), d)}, 2)"

    def tiled_rows(self, sc, shape, d):
        """np.tile of a matrix: stacked twice down or across."""
        r, c = shape
        if r % 2 == 0 and self.rng.random() < 0.5:
            return f"np.tile({self.expr(sc, (r // 2, c), d)}, (2, 1))"
        if c % 2 == 0:
            return f"np.tile({self.expr(sc, (r, c // 2), d)}, (1, 2))"
        return None

    def interpolated(self, sc, shape, d):
        """np.interp through written breakpoints (some points fall outside them: NumPy clamps)."""
        k = self.rng.choice([n for n in self.vector_lengths() if n >= 2] or [None])
        if k is None:
            return None
        low = self.rng.choice(["-1.0", "-0.5", "0.0"])
        return f"np.interp({self.expr(sc, shape, d)}, np.linspace({low}, 1.5, {k}), {self.expr(sc, (k,), d)})"

    def squeezed(self, sc, shape, d):
        """np.squeeze of a one-wide axis: of a column, a row, or of np.atleast_3d of a matrix."""
        if len(shape) == 2:
            return f"np.squeeze(np.atleast_3d({self.expr(sc, shape, d)}), axis=2)"
        n = shape[0]
        if self.rng.random() < 0.5:
            return f"np.squeeze({paren(self.expr(sc, (n, 2), d))}[:, 1:], axis=1)"
        return f"{paren(self.expr(sc, (2, n), d))}[:1].squeeze(axis=0)"

    def function_argument(self, sc, shape, d):
        """`ap0(np.tanh, p)` or `ap0(h1, p)`: a helper called with a function."""
        if not self.function_takers:
            return None
        own = [h.name for h in self.helpers if h.params == (shape,) and h.rets == (shape,)]
        fn = self.rng.choice(["np.tanh", "np.sin", "np.arctan", "np.cos"] + own * 2)
        return f"{self.rng.choice(self.function_takers)}({fn}, {self.expr(sc, shape, d)})"

    def helper_call(self, sc, shape, d):
        fitting = [h for h in self.helpers if h.rets == (shape,)]
        if not fitting:
            return None
        helper = self.rng.choice(fitting)
        return f"{helper.name}({self.call_args(sc, helper, d)})"

    def call_args(self, sc, helper, d) -> str:
        return ", ".join(self.expr(sc, p, d) for p in helper.params)

    # ----- scalar producers ----------------------------------------------------------------
    def reduction(self, sc, shape, d):
        src = self.rng.choice([(n,) for n in self.vector_lengths()] + [(r, c) for r in self.dims for c in self.dims])
        kind = self.pick([(3, "sum"), (2, "mean"), (1.5, "max"), (1.5, "min"), (1, "prod")])
        arg = self.expr(sc, src, d)
        if kind == "prod":
            arg = f"1.0 + 0.5 * np.tanh({arg})"
        if self.rng.random() < 0.3:
            return f"{paren(arg)}.{kind}()"
        return f"np.{kind}({arg})"

    def inner(self, sc, shape, d):
        n = self.rng.choice(self.vector_lengths())
        a, b = self.expr(sc, (n,), d), self.expr(sc, (n,), d)
        return self.pick([(2, f"np.dot({a}, {b})"), (2, f"({a} @ {b})"), (1, f"{paren(a)}.dot({b})"),
                          (0.5, f"np.matmul({a}, {b})")])

    def read_element(self, sc, shape, d):
        arrays = [v for v in sc.floats() if v.shape]
        if arrays and self.rng.random() < 0.7:
            return self.element_of(sc, self.choose(arrays))
        src = self.rng.choice([(n,) for n in self.dims] + [(r, c) for r in self.dims for c in self.dims])
        return self.element(sc, self.expr(sc, src, d), src)

    def from_int(self, sc, shape, d):
        ints = sc.ints()
        if not ints:
            return None
        i = self.rng.choice(ints).name
        return self.rng.choice([f"(0.1 * {i})", f"float({i})", f"({i} * {paren(self.expr(sc, (), d))})"])

    # ----- vector producers ----------------------------------------------------------------
    def matvec(self, sc, shape, d):
        n, k = shape[0], self.rng.choice(self.dims)
        if self.rng.random() < 0.6:
            m, v = self.expr(sc, (n, k), d), self.expr(sc, (k,), d)
            return self.pick([(2, f"({m} @ {v})"), (2, f"np.dot({m}, {v})"), (1, f"{paren(m)}.dot({v})"),
                              (0.5, f"np.matmul({m}, {v})")])
        v, m = self.expr(sc, (k,), d), self.expr(sc, (k, n), d)
        return self.rng.choice([f"({v} @ {m})", f"np.dot({v}, {m})"])

    def axis_reduction(self, sc, shape, d):
        n, k = shape[0], self.rng.choice(self.dims)
        axis = self.rng.randint(0, 1)
        src = self.expr(sc, (n, k) if axis == 1 else (k, n), d)
        kind = self.pick([(3, "sum"), (2, "mean"), (1, "max"), (1, "min"), (0.7, "prod"), (0.5, "var"), (0.5, "std"),
                          (0.5, "linalg.norm"), (0.5, "logsumexp")])
        if kind == "prod":
            src = f"1.0 + 0.5 * np.tanh({src})"
        if kind in ("std", "linalg.norm"):   # their derivatives are infinite where the spread or norm is 0
            src = f"{paren(src)} + np.array([{', '.join(str(0.3 * j) for j in range(k if axis == 1 else n))}])" \
                if axis == 1 else f"{paren(src)} + np.linspace(0.0, 1.0, {k * n}).reshape(({k}, {n}))"
        if kind == "logsumexp":
            return f"scipy.special.logsumexp({src}, axis={axis})"
        if self.rng.random() < 0.3 and kind in ("sum", "mean", "max", "min", "prod"):
            return f"{paren(src)}.{kind}(axis={axis})"
        return f"np.{kind}({src}, axis={axis})"

    def rearranged(self, sc, shape, d):
        """A vector moved around: flipped, rolled, sorted, differenced, repeated or a diagonal."""
        n = shape[0]
        form = self.pick([(1, "flip"), (1, "roll"), (1, "sort"), (1, "diff"), (0.7, "repeat"), (0.7, "diag")])
        if form == "diff":
            return f"np.diff({self.expr(sc, (n + 1,), d)})"
        if form == "repeat":
            if n % 2:
                return None
            return f"np.repeat({self.expr(sc, (n // 2,), d)}, 2)"
        if form == "diag":
            return f"np.diag({self.expr(sc, (n, n), d)})"
        if form == "roll":
            return f"np.roll({self.expr(sc, shape, d)}, {self.rng.randint(-2, 2)})"
        return f"np.{form}({self.expr(sc, shape, d)})"

    def kept_dimension(self, sc, shape, d):
        """`m - np.max(m, axis=1, keepdims=True)`: a reduction broadcast back over its axis."""
        axis = self.rng.randint(0, 1)
        m = self.expr(sc, shape, d)
        kind = self.pick([(2, "max"), (1, "min"), (2, "sum"), (1, "mean")])
        return f"{paren(m)} - np.{kind}({m}, axis={axis}, keepdims=True)"

    def blocks(self, sc, shape, d):
        """np.hstack / np.vstack / np.concatenate(axis=1) of pieces that fit `shape`."""
        if len(shape) == 1:
            n = shape[0]
            if n < 2:
                return None
            a = self.rng.randint(1, n - 1)
            return f"np.hstack(({self.expr(sc, (a,), d)}, {self.expr(sc, (n - a,), d)}))"
        r, c = shape
        form = self.pick([(1 if r <= 4 else 0, "rows"), (1 if c >= 2 else 0, "columns"), (1 if r >= 2 else 0, "above")])
        if form == "rows":
            return f"np.vstack(({', '.join(self.expr(sc, (c,), d) for _ in range(r))}))"
        if form == "columns":
            a = self.rng.randint(1, c - 1)
            left, right = self.expr(sc, (r, a), d), self.expr(sc, (r, c - a), d)
            return self.rng.choice([f"np.hstack(({left}, {right}))", f"np.concatenate(({left}, {right}), axis=1)"])
        if form == "above":
            a = self.rng.randint(1, r - 1)
            if a == r - 1 and self.rng.random() < 0.5:   # a vector under a matrix: NumPy takes it as a row
                return f"np.vstack(({self.expr(sc, (a, c), d)}, {self.expr(sc, (c,), d)}))"
            return f"np.vstack(({self.expr(sc, (a, c), d)}, {self.expr(sc, (r - a, c), d)}))"
        return None

    def normalized_rows(self, sc, shape, d):
        """A softmax (or log-softmax) of a matrix along one axis."""
        kind = self.rng.choice(["softmax", "log_softmax"])
        return f"scipy.special.{kind}({self.expr(sc, shape, d)}, axis={self.rng.randint(0, 1)})"

    def matrix_literal(self, sc, shape, d):
        """`np.array([[a, b], [c, d]])`: a nested list literal of scalar expressions."""
        r, c = shape
        if r * c > 9:
            return None
        rows = ", ".join("[" + ", ".join(self.expr(sc, (), d) for _ in range(c)) + "]" for _ in range(r))
        return f"np.array([{rows}])"

    def cumsum(self, sc, shape, d):
        if len(shape) != 1:
            return None
        arg = self.expr(sc, shape, d)
        return f"{paren(arg)}.cumsum()" if self.rng.random() < 0.2 else f"np.cumsum({arg})"

    def concatenate(self, sc, shape, d):
        n = shape[0]
        if n < 2:
            return None
        cut = self.rng.randint(1, n - 1)
        parts = (shape[:0] + (cut,) + shape[1:], (n - cut,) + shape[1:])
        a, b = (self.piece(sc, p, d) for p in parts)
        return f"np.concatenate(({a}, {b}))" if self.rng.random() < 0.85 else f"np.concatenate([{a}, {b}])"

    def piece(self, sc, shape, d):
        """A piece of a concatenation; a short vector sometimes as a list literal, `[a, b]`."""
        if len(shape) == 1 and shape[0] <= 3 and self.rng.random() < 0.25:
            return f"[{', '.join(self.expr(sc, (), d) for _ in range(shape[0]))}]"
        return self.expr(sc, shape, d)

    def array_of_scalars(self, sc, shape, d):
        if shape[0] > 5:
            return None
        return f"np.array([{', '.join(self.expr(sc, (), d) for _ in range(shape[0]))}])"

    def of_a_sequence(self, sc, shape, d):
        """A list or tuple literal where numpy takes an array, or the builtins' max/min of several."""
        items = [self.expr(sc, (), d) for _ in range(self.rng.choice([2, 3]))]
        literal = f"[{', '.join(items)}]" if self.rng.random() < 0.5 else f"({', '.join(items)},)"
        form = self.pick([(2, "np.sum"), (1, "np.mean"), (1, "np.max"), (1.5, "max"), (1, "min"), (1, "np.dot")])
        if form == "np.dot":
            weights = ", ".join(self.const() for _ in items)
            return f"np.dot([{weights}], {literal})"
        if form in ("max", "min") and self.rng.random() < 0.4:
            return f"{form}({', '.join(items)})"
        return f"{form}({literal})"

    def comprehension(self, sc, shape, d):
        """A list comprehension or generator expression: a sum, max or mean of numbers made from
        each element of a vector or each index of a range, or an array of such numbers."""
        inner = sc.child()
        by_index = self.rng.random() < 0.35
        n = shape[0] if shape else self.rng.choice(self.vector_lengths())
        if shape and n > 6:
            return None
        if by_index:
            name = inner.add(Var(self.fresh("j"), is_int=True, lo=0, hi=n - 1)).name
            header = f"for {name} in range({n})"
        else:
            name = inner.add(Var(self.fresh("c"), ())).name
            header = f"for {name} in {self.expr(sc, (n,), d)}"
        item = self.expr(inner, (), d)
        if shape:
            return f"np.array([{item} {header}])"
        form = self.pick([(3, "sum(GEN)"), (1, "sum([GEN])"), (1, "max(GEN)"), (1, "min([GEN])"), (1, "np.mean([GEN])")])
        return form.replace("GEN", f"{item} {header}")

    def sequence_operand(self, sc, shape, d):
        """An array times a tuple of numbers, or an elementwise function of a list."""
        if shape[0] > 4:
            return None
        if self.rng.random() < 0.5:
            return f"({paren(self.expr(sc, shape, d))} * ({', '.join(self.const() for _ in range(shape[0]))},))"
        return f"np.tanh([{', '.join(self.expr(sc, (), d) for _ in range(shape[0]))}])"

    def flatten(self, sc, shape, d):
        n = shape[0]
        factors = [(r, n // r) for r in self.dims if n % r == 0 and n // r in self.dims]
        if not factors:
            return None
        m = self.expr(sc, self.rng.choice(factors), d)
        return self.rng.choice([f"{paren(m)}.reshape({n})", f"{paren(m)}.reshape(-1)", f"np.reshape({m}, ({n},))",
                                f"{paren(m)}.ravel()", f"np.ravel({m})", f"{paren(m)}.flatten()"])

    def part_of(self, sc, shape, d):
        """A row, column or slice of a bigger expression."""
        n = shape[0]
        k = self.rng.choice(self.dims)
        if self.rng.random() < 0.5:
            m = self.expr(sc, (k, n), d)
            return f"{paren(m)}[{self.index(sc, k)}]"
        if self.rng.random() < 0.5:
            m = self.expr(sc, (n, k), d)
            return f"{paren(m)}[:, {self.index(sc, k)}]"
        longer = [m for m in self.vector_lengths() if m > n]
        if not longer:
            return None
        m = self.rng.choice(longer)
        start = self.rng.randint(0, m - n)
        return f"{paren(self.expr(sc, (m,), d))}[{start}:{start + n}]"

    # ----- matrix producers ----------------------------------------------------------------
    def matmul(self, sc, shape, d):
        r, c = shape
        k = self.rng.choice(self.dims)
        a, b = self.expr(sc, (r, k), d), self.expr(sc, (k, c), d)
        return self.pick([(3, f"({a} @ {b})"), (2, f"np.dot({a}, {b})"), (1, f"np.matmul({a}, {b})"),
                          (1, f"{paren(a)}.dot({b})")])

    def transpose(self, sc, shape, d):
        inner = self.expr(sc, shape[::-1], d)
        return self.pick([(4, f"{paren(inner)}.T"), (2, f"np.transpose({inner})"), (1, f"{paren(inner)}.transpose()")])

    def outer(self, sc, shape, d):
        return f"np.outer({self.expr(sc, shape[:1], d)}, {self.expr(sc, shape[1:], d)})"

    def stack(self, sc, shape, d):
        r, c = shape
        if r > 4:
            return None
        return f"np.stack(({', '.join(self.expr(sc, (c,), d) for _ in range(r))}))"

    def reshape(self, sc, shape, d):
        r, c = shape
        source = self.rng.choice([(r * c,), (c, r)]) if r * c in self.vector_lengths() else (c, r)
        arg = self.expr(sc, source, d)
        return f"{paren(arg)}.reshape(({r}, {c}))" if self.rng.random() < 0.5 else f"np.reshape({arg}, ({r}, {c}))"

    SCALAR = [(3, binop), (1, unary), (4, elementwise), (0.8, inactive), (2.5, reduction), (1.5, inner),
              (2, read_element), (0.4, if_expression), (0.5, from_int), (1.5, helper_call), (0.3, einsum),
              (0.6, function_argument), (0.1, interpolated), (0.5, of_a_sequence), (0.4, comprehension)]
    VECTOR = [(3, binop), (0.5, unary), (3, elementwise), (0.3, inactive), (2, matvec), (1, axis_reduction),
              (1, cumsum), (1, where), (1, concatenate), (0.7, array_of_scalars), (3, flatten), (1, part_of),
              (0.3, if_expression), (1.5, helper_call), (1, rearranged), (0.4, blocks), (0.3, einsum),
              (0.2, tiled), (0.6, function_argument), (0.15, interpolated), (0.2, squeezed), (0.3, sequence_operand),
              (0.25, comprehension)]
    MATRIX = [(3, binop), (0.5, unary), (3, elementwise), (0.2, inactive), (2, matmul), (2, transpose),
              (1, outer), (0.7, stack), (1, reshape), (0.8, where), (0.3, concatenate), (0.2, if_expression),
              (1.5, helper_call), (0.6, kept_dimension), (0.4, normalized_rows), (0.4, matrix_literal),
              (0.5, blocks), (0.3, einsum), (0.3, columns), (0.2, triangle), (0.4, function_argument),
              (0.2, tiled_rows), (0.15, squeezed)]
