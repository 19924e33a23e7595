"""Random statements and function bodies: loops, branches, exits, array writes, helper calls.

Every loop runs a small, statically known number of times (1-6), every index is in range where
it is evaluated, and only arrays the function itself created (and never aliased) are written
into, so a generated function is valid Python that terminates and leaves its arguments alone.
A name is bound again only in the ways a scientist does it: an update of loop-carried state, a
work name reused for a value of another shape in the block that defined it, a vector shifted
(trimmed, then extended) and a trajectory grown by one element per iteration. A name defined
inside a block is not used after it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from .expressions import ExprGen, paren
from .scope import Scope, Var


@dataclass
class Ctx:
    """Where a statement is generated."""

    scope: Scope
    rets: tuple              # the shapes the function returns (one, or two for a tuple)
    loops: int = 0           # enclosing loops
    depth: int = 0           # enclosing blocks
    in_branch: bool = False  # directly inside an if-branch: an unguarded exit is fine here

    def child(self, loop=False, branch=False) -> Ctx:
        return replace(self, scope=self.scope.child(), loops=self.loops + loop, depth=self.depth + 1,
                       in_branch=branch)


def indent(lines: list) -> list:
    return ["    " + line for line in lines]


class BodyGen(ExprGen):
    """Statements and whole functions; `budget` bounds the statements of the current function."""

    def __init__(self, rng, dims, flat):
        super().__init__(rng, dims, flat)
        self.budget = 0
        self.names = itertools.count()

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.names)}"

    def expr_depth(self) -> int:
        return self.rng.randint(1, 3)

    def random_shape(self, weights=(4, 3, 1.5)) -> tuple:
        return self.pick([(weights[0], ()),
                          (weights[1], (self.rng.choice(self.vector_lengths()),)),
                          (weights[2], (self.rng.choice(self.dims), self.rng.choice(self.dims)))])

    # ----- blocks --------------------------------------------------------------------------
    def block(self, ctx: Ctx, n: int) -> list:
        lines = []
        for k in range(n):
            if self.budget <= 0 and lines:
                break
            lines += self.statement(ctx, last=k == n - 1)
        return lines

    def statement(self, ctx: Ctx, last: bool) -> list:
        self.budget -= 1
        nest = ctx.depth < 3 and self.budget > 1
        loops = nest and ctx.loops < 3
        owned = bool(ctx.scope.owned())
        make = self.pick([
            (3, self.assign), (3 if self.updatable(ctx) else 0, self.update),
            (1.2 if ctx.depth < 2 else 0.3, self.create_array),
            (2.5 if owned else 0, self.write_element), ((0.3 if ctx.loops else 1.2) if owned else 0, self.write_slice),
            (2.2 if loops else 0, self.for_loop), (1 if loops else 0, self.while_loop),
            (2 if nest else 0, self.if_statement), (1.5 if self.helpers else 0, self.call_helper),
            (3 if self.subroutines_for(ctx) else 0, self.call_subroutine),
            (1.5 if last and (ctx.rets or ctx.loops) else 0, self.guarded_exit),
            (2 if last and ctx.in_branch and (ctx.rets or ctx.loops) else 0, self.bare_exit),
            (0.8 if self.reusable(ctx) else 0, self.reuse_name),
            (0.8 if self.shiftable(ctx) else 0, self.shift),
            (0.6 if nest and ctx.loops < 2 else 0, self.trajectory),
            (0.6 if nest and ctx.loops < 2 else 0, self.collect),
            (0.3, self.list_literal),
        ])
        return make(ctx)

    # ----- assignments ---------------------------------------------------------------------
    def assign(self, ctx: Ctx) -> list:
        shape = self.random_shape()
        value = self.expr(ctx.scope, shape, self.expr_depth())
        if shape and value.isidentifier():
            value = f"1.0 * {value}"   # a new array, never a second name for one
        name = ctx.scope.add(Var(self.fresh("t"), shape)).name
        return [f"{name} = {value}"]

    def updatable(self, ctx: Ctx) -> list:
        return [v for v in ctx.scope.floats() if not v.param]

    def update(self, ctx: Ctx) -> list:
        """Change a variable defined earlier (loop-carried state inside a loop); rarely rebind a parameter."""
        params = [v for v in ctx.scope.floats() if v.param]
        rebind_param = params and self.rng.random() < 0.08
        var = self.rng.choice(params if rebind_param else self.updatable(ctx))
        shape = var.shape if not var.shape or self.rng.random() < 0.7 else ()
        e = self.expr(ctx.scope, shape, self.expr_depth())
        rebind = [f"{var.name} = 0.5 * {var.name} + {e}", f"{var.name} = np.tanh({var.name} + {e})",
                  f"{var.name} = np.sin({var.name}) * {paren(e)}", f"{var.name} = {var.name} - 0.1 * {paren(e)}"]
        in_place = [f"{var.name} += {e}", f"{var.name} -= {e}", f"{var.name} *= np.cos({e})",
                    f"{var.name} /= 1.0 + np.square({e})"]
        if var.shape and not var.owned:   # augmented assignment would write into a shared array
            return [self.rng.choice(rebind)]
        return [self.rng.choice(rebind + in_place + in_place)]

    def reusable(self, ctx: Ctx) -> list:
        return [v for v in ctx.scope.own.values() if not (v.is_int or v.param or v.owned)]

    def reuse_name(self, ctx: Ctx) -> list:
        """Bind a name this block defined to a value of (often) another shape: a reused work name."""
        var = self.rng.choice(self.reusable(ctx))
        shape = self.random_shape()
        value = self.expr(ctx.scope, shape, self.expr_depth())
        if shape and value.isidentifier():
            value = f"1.0 * {value}"
        ctx.scope.add(Var(var.name, shape))
        return [f"{var.name} = {value}"]

    def shiftable(self, ctx: Ctx) -> list:
        return [v for v in self.updatable(ctx) if len(v.shape) == 1 and v.shape[0] >= 2]

    def shift(self, ctx: Ctx) -> list:
        """Drop a vector's first (or last) element and append a new one (a delay line), in one
        statement or in two, between which the name holds a shorter array."""
        var = self.rng.choice(self.shiftable(ctx))
        v, trimmed = var.name, self.rng.choice([f"{var.name}[1:]", f"{var.name}[:-1]"])
        if self.rng.random() < 0.4:
            e = self.expr(ctx.scope, (), self.expr_depth())
            return [f"{v} = np.concatenate(({trimmed}, np.array([{e}])))"]
        others = Scope()
        for other in ctx.scope.all():
            if other.name != v:
                others.add(other)
        e = self.expr(others, (), self.expr_depth())
        pieces = self.rng.choice([f"{v}, np.array([{e}])", f"np.array([{e}]), {v}"])
        return [f"{v} = {trimmed}", f"{v} = np.concatenate(({pieces}))"]

    def trajectory(self, ctx: Ctx) -> list:
        """A vector grown by one element per iteration from its last element or its mean."""
        n = self.trip_count(ctx)
        h = self.fresh("h")
        inner = ctx.child(loop=True)
        i = inner.scope.add(Var(self.fresh("i"), is_int=True, lo=0, hi=n - 1)).name
        e = self.expr(inner.scope, (), 2)
        last = self.rng.choice([f"{h}[-1]", f"np.mean({h})", f"np.sum({h} * {h})"])
        step = self.rng.choice([f"0.5 * {last} + {paren(e)}", f"np.sin({last}) * {paren(e)}", f"{last} - 0.1 * {paren(e)}"])
        lines = [f"{h} = np.array([{self.expr(ctx.scope, (), 2)}])", f"for {i} in range({n}):",
                 f"    {h} = np.concatenate(({h}, np.array([{step}])))"]
        ctx.scope.add(Var(h, (n + 1,)))
        return lines

    def collect(self, ctx: Ctx) -> list:
        """Numbers or vectors appended to a list in a loop, then read as an array."""
        n = self.trip_count(ctx)
        items, name = self.fresh("l"), self.fresh("t")
        inner = ctx.child(loop=True)
        i = inner.scope.add(Var(self.fresh("i"), is_int=True, lo=0, hi=n - 1)).name
        shape = self.rng.choice([(), (), (self.rng.choice(self.dims),)])
        value = self.expr(inner.scope, shape, 2)
        if shape and value.isidentifier():
            value = f"{value}.copy()"
        ctx.scope.add(Var(name, (n,) + shape))
        return [f"{items} = []", f"for {i} in range({n}):", f"    {items}.append({value})",
                f"{name} = np.array({items})"]

    def list_literal(self, ctx: Ctx) -> list:
        """A short list of scalar expressions, one element read and the whole as an array."""
        items, name = self.fresh("l"), self.fresh("t")
        n = self.rng.randint(2, 4)
        elements = ", ".join(self.expr(ctx.scope, (), 2) for _ in range(n))
        ctx.scope.add(Var(name, (n,)))
        return [f"{items} = [{elements}]", f"{name} = {items}[{self.rng.randint(0, n - 1)}] * np.array({items})"]

    def create_array(self, ctx: Ctx) -> list:
        shape = self.random_shape((0, 3, 2))
        sc = ctx.scope
        same = sc.floats(shape)
        like = self.rng.choice(same).name if same else None
        spelled = str(shape[0]) if len(shape) == 1 else f"({shape[0]}, {shape[1]})"
        name = self.fresh("w")
        elements = ", ".join(self.expr(sc, (), 1) for _ in range(shape[0])) if len(shape) == 1 else ""
        value = self.pick([
            (3, f"np.zeros({spelled})"), (0.7, f"np.ones({spelled})"), (1, like and f"np.zeros_like({like})"),
            (2, like and f"{like}.copy()"), (1, like and f"np.copy({like})"),
            (1, f"{paren(self.expr(sc, shape, 2))}.copy()"),
            (0.7, len(shape) == 1 and shape[0] <= 5 and f"np.array([{elements}])"),
            (0.4, f"np.full({spelled}, {self.const()})"),
            (1.5, "empty"), (1, like and "empty_like"),
        ])
        if value in ("empty", "empty_like"):
            allocation = f"np.empty({spelled})" if value == "empty" else f"np.empty_like({like})"
            lines = self.fill(ctx, name, shape, allocation)
        else:
            lines = [f"{name} = {value}"]
        sc.add(Var(name, shape, owned=True))
        return lines

    def fill(self, ctx: Ctx, name: str, shape: tuple, allocation: str) -> list:
        """An np.empty array and the loop that writes every element of it before anything reads it."""
        inner = ctx.child(loop=True)
        i = inner.scope.add(Var(self.fresh("i"), is_int=True, lo=0, hi=shape[0] - 1)).name
        head = [f"{name} = {allocation}", f"for {i} in range({self.rng.choice([f'len({name})', f'{name}.shape[0]'])}):"]
        if len(shape) == 1:
            return head + indent([f"{name}[{i}] = {self.expr(inner.scope, (), 2)}"])
        j = inner.scope.add(Var(self.fresh("j"), is_int=True, lo=0, hi=shape[1] - 1)).name
        body = [f"for {j} in range({name}.shape[1]):"] + indent([f"{name}[{i}, {j}] = {self.expr(inner.scope, (), 2)}"])
        return head + indent(body)

    # ----- writes into arrays the function created -----------------------------------------
    def write_element(self, ctx: Ctx) -> list:
        var = self.rng.choice(ctx.scope.owned())
        target = self.element(ctx.scope, var.name, var.shape)
        e = self.expr(ctx.scope, (), self.expr_depth())
        op = self.pick([(3, "="), (2, "+="), (0.7, "-="), (0.5, "*=")])
        return [f"{target} {op} {f'np.cos({e})' if op == '*=' else e}"]

    def write_slice(self, ctx: Ctx) -> list:
        var = self.rng.choice(ctx.scope.owned())
        target, shape = (self.vector_target if len(var.shape) == 1 else self.matrix_target)(ctx.scope, var)
        value_shape = shape if self.rng.random() < 0.8 else ()
        op = self.pick([(3, "="), (1, "+="), (0.5, "-=")])
        return [f"{target} {op} {self.expr(ctx.scope, value_shape, self.expr_depth())}"]

    def vector_target(self, sc, var) -> tuple:
        n = var.shape[0]
        ints = [v for v in sc.ints() if v.lo >= 0 and v.hi + 2 <= n]
        if ints and self.rng.random() < 0.3:
            i = self.rng.choice(ints).name
            return f"{var.name}[{i}:{i} + 2]", (2,)
        if self.rng.random() < 0.25:
            return f"{var.name}[:]", (n,)
        if self.rng.random() < 0.15:
            k = self.rng.randint(1, 3)
            return f"{var.name}[{self.index_array(n, k)}]", (k,)
        a = self.rng.randint(0, n - 1)
        b = self.rng.randint(a + 1, n)
        return f"{var.name}[{a}:{b}]", (b - a,)

    def matrix_target(self, sc, var) -> tuple:
        r, c = var.shape
        form = self.pick([(2, "row"), (1, "row:"), (1.5, "col"), (0.7, "rows")])
        if form == "row":
            return f"{var.name}[{self.index(sc, r)}]", (c,)
        if form == "row:":
            return f"{var.name}[{self.index(sc, r)}, :]", (c,)
        if form == "col":
            return f"{var.name}[:, {self.index(sc, c)}]", (r,)
        a = self.rng.randint(0, r - 1)
        b = self.rng.randint(a + 1, r)
        return f"{var.name}[{a}:{b}, :]", (b - a, c)

    # ----- control flow --------------------------------------------------------------------
    def trip_count(self, ctx: Ctx) -> int:
        return self.rng.randint(1, 6 if ctx.loops == 0 else 3)

    def for_loop(self, ctx: Ctx) -> list:
        inner = ctx.child(loop=True)
        header = self.pick([(4, self.range_header), (1.5, self.rows_header), (1, self.enumerate_header),
                            (0.7, self.slice_rows_header), (0.7, self.tuple_header)])(ctx, inner)
        body = self.block(inner, self.rng.randint(1, 3))
        return [header] + indent(body)

    def range_header(self, ctx: Ctx, inner: Ctx) -> str:
        sized = [(v, axis) for v in ctx.scope.floats() if v.shape for axis, size in enumerate(v.shape) if size <= 6]
        int_params = [v for v in ctx.scope.ints() if v.param]
        n = self.trip_count(ctx)
        form = self.pick([(3, "n"), (2 if sized else 0, "len"), (1, "start"), (1, "down"), (0.7, "step"),
                          (1 if int_params else 0, "param")])
        if form == "len":
            var, axis = self.rng.choice(sized)
            spelled = f"len({var.name})" if axis == 0 and self.rng.random() < 0.5 else f"{var.name}.shape[{axis}]"
            values, text = range(var.shape[axis]), f"range({spelled})"
        elif form == "param":
            p = self.rng.choice(int_params)
            values, text = range(p.lo), f"range({p.name})"
        elif form == "start":
            a = self.rng.randint(1, 2)
            values, text = range(a, a + n), f"range({a}, {a + n})"
        elif form == "down":
            values, text = range(n - 1, -1, -1), f"range({n - 1}, -1, -1)"
        elif form == "step":
            values, text = range(0, 2 * n, 2), f"range(0, {2 * n}, 2)"
        else:
            values, text = range(n), f"range({n})"
        i = inner.scope.add(Var(self.fresh("i"), is_int=True, lo=min(values), hi=max(values))).name
        return f"for {i} in {text}:"

    def iterable(self, ctx: Ctx):
        arrays = [v for v in ctx.scope.floats() if v.shape and v.shape[0] <= 6]
        return self.rng.choice(arrays) if arrays else None

    def rows_header(self, ctx: Ctx, inner: Ctx) -> str:
        var = self.iterable(ctx)
        if var is None:
            return self.range_header(ctx, inner)
        row = inner.scope.add(Var(self.fresh("r"), var.shape[1:])).name
        return f"for {row} in {var.name}:"

    def slice_rows_header(self, ctx: Ctx, inner: Ctx) -> str:
        """Rows of a slice (`for r in x[1:]`, `x[::-1]`): an expression evaluated once, first."""
        var = self.iterable(ctx)
        if var is None or var.shape[0] < 2:
            return self.range_header(ctx, inner)
        spelled = self.rng.choice(["[1:]", "[::-1]", "[:-1]"])
        row = inner.scope.add(Var(self.fresh("r"), var.shape[1:])).name
        return f"for {row} in {var.name}{spelled}:"

    def tuple_header(self, ctx: Ctx, inner: Ctx) -> str:
        """Items of a tuple written out (`for v in (a, b, 0.5):`), of one shape: unrolled by srcgrad."""
        var = self.iterable(ctx)
        shape = var.shape if var is not None and self.rng.random() < 0.6 else ()
        same = [v for v in ctx.scope.floats() if v.shape == shape]
        items = [v.name for v in self.rng.sample(same, min(len(same), self.rng.randint(1, 3)))]
        if not shape:
            items += [repr(round(self.rng.uniform(-1.5, 1.5), 2)) for _ in range(self.rng.randint(0 if items else 1, 2))]
        item = inner.scope.add(Var(self.fresh("v"), shape)).name
        return f"for {item} in ({', '.join(items)},):"

    def enumerate_header(self, ctx: Ctx, inner: Ctx) -> str:
        var = self.iterable(ctx)
        if var is None:
            return self.range_header(ctx, inner)
        i = inner.scope.add(Var(self.fresh("i"), is_int=True, lo=0, hi=var.shape[0] - 1)).name
        row = inner.scope.add(Var(self.fresh("r"), var.shape[1:])).name
        return f"for {i}, {row} in enumerate({var.name}):"

    def while_loop(self, ctx: Ctx) -> list:
        inner = ctx.child(loop=True)
        n = self.trip_count(ctx)
        k = inner.scope.add(Var(self.fresh("k"), is_int=True, lo=1, hi=n)).name
        form = self.pick([(3, "count"), (1.5, "and"), (1, "true")])
        body = self.block(inner, self.rng.randint(1, 3))
        if form == "true":
            return [f"{k} = 0", "while True:"] + indent([f"{k} += 1", f"if {k} > {n}:", "    break"] + body)
        test = f"{k} < {n}" if form == "count" else f"{k} < {n} and ({self.cond(ctx.scope)})"
        return [f"{k} = 0", f"while {test}:"] + indent([f"{k} += 1"] + body)

    def if_statement(self, ctx: Ctx) -> list:
        lines = [f"if {self.cond(ctx.scope)}:"] + self.branch(ctx)
        if self.rng.random() < 0.3:
            lines += [f"elif {self.cond(ctx.scope)}:"] + self.branch(ctx)
        if self.rng.random() < 0.5:
            lines += ["else:"] + self.branch(ctx)
        return lines

    def branch(self, ctx: Ctx) -> list:
        return indent(self.block(ctx.child(branch=True), self.rng.randint(1, 2)))

    def exit_line(self, ctx: Ctx) -> str:
        kind = self.pick([(2 if ctx.loops else 0, "break"), (1.5 if ctx.loops else 0, "continue"),
                          (1.5 if ctx.rets else 0, "return")])
        if kind != "return":
            return kind
        return "return " + ", ".join(self.expr(ctx.scope, shape, 2) for shape in ctx.rets)

    def guarded_exit(self, ctx: Ctx) -> list:
        inner = ctx.child(branch=True)
        before = self.update(inner) if self.updatable(inner) and self.rng.random() < 0.3 else []
        return [f"if {self.cond(ctx.scope)}:"] + indent(before + [self.exit_line(inner)])

    def bare_exit(self, ctx: Ctx) -> list:
        return [self.exit_line(ctx)]

    def call_helper(self, ctx: Ctx) -> list:
        helper = self.rng.choice(self.helpers)
        call = f"{helper.name}({self.call_args(ctx.scope, helper, 2)})"
        names = [ctx.scope.add(Var(self.fresh("u"), shape)).name for shape in helper.rets]
        return [f"{', '.join(names)} = {call}"]

    def subroutines_for(self, ctx: Ctx) -> list:
        """(subroutine, an array of this function's it may write into) pairs."""
        owned = ctx.scope.owned()
        return [(s, v) for s in self.subroutines for v in owned if v.shape == s.params[0] and not v.param]

    def call_subroutine(self, ctx: Ctx) -> list:
        """`s0(w, ...)`: a Fortran-style call that writes into `w`; sometimes its value is used too."""
        sub, out = self.rng.choice(self.subroutines_for(ctx))
        args = ", ".join([out.name] + [self.expr(ctx.scope, p, 2) for p in sub.params[1:]])
        if not sub.rets:
            return [f"{sub.name}({args})"]
        names = [ctx.scope.add(Var(self.fresh("u"), shape)).name for shape in sub.rets]
        return [f"{', '.join(names)} = {sub.name}({args})"]

    # ----- whole functions -----------------------------------------------------------------
    def function(self, name: str, params: list, rets: tuple, budget: int) -> str:
        """A function returning values of the shapes `rets`; with no `rets`, a subroutine that ends
        by writing into its first parameter (an array the caller owns)."""
        ctx = Ctx(Scope(), rets)
        for p in params:
            ctx.scope.add(p)
        self.budget = budget
        lines = self.prologue(ctx) + self.block(ctx, self.rng.randint(2, 5))
        if params and params[0].owned:
            lines += self.write_into(ctx, params[0])
        if rets:
            lines.append(self.final_return(ctx))
        return f"def {name}({', '.join(p.name for p in params)}):\n" + "\n".join(indent(lines))

    def write_into(self, ctx: Ctx, var) -> list:
        target = self.element(ctx.scope, var.name, var.shape)
        return [f"{target} {self.pick([(2, '='), (1, '+=')])} {self.expr(ctx.scope, (), self.expr_depth())}"]

    def prologue(self, ctx: Ctx) -> list:
        lines = []
        if self.rng.random() < 0.7:
            value = "0.0" if self.rng.random() < 0.6 else self.expr(ctx.scope, (), 2)
            lines.append(f"{ctx.scope.add(Var(self.fresh('s'), ())).name} = {value}")
        if self.rng.random() < 0.5:
            lines += self.create_array(ctx)
        return lines

    def final_return(self, ctx: Ctx) -> str:
        local = [v for v in ctx.scope.own.values() if not v.is_int and not v.param]
        self.rng.shuffle(local)
        parts = [self.combine(ctx.scope, local[k::len(ctx.rets)], shape) for k, shape in enumerate(ctx.rets)]
        return "return " + ", ".join(parts)

    def combine(self, sc: Scope, variables: list, shape: tuple) -> str:
        """A sum of `variables` (reduced or broadcast to `shape`) and one fresh expression of `shape`."""
        terms = [t for t in (self.as_shape(v, shape) for v in variables[:5]) if t]
        terms.append(self.expr(sc, shape, 2))
        return " + ".join(terms)

    def as_shape(self, var: Var, shape: tuple):
        if var.shape == shape or not var.shape:
            return var.name
        if not shape:
            return self.rng.choice([f"np.sum({var.name})", f"np.mean({var.name})", f"{var.name}.sum()"])
        if len(var.shape) == 2 and len(shape) == 1:
            if var.shape[0] == shape[0]:
                return f"np.sum({var.name}, axis=1)"
            if var.shape[1] == shape[0]:
                return f"{var.name}[0]" if self.rng.random() < 0.5 else f"np.mean({var.name}, axis=0)"
        if len(shape) == 2:
            if var.shape == shape[1:]:
                return var.name
            if var.shape == shape[::-1]:
                return f"{var.name}.T"
        return None
