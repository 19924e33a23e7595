"""Reverse mode: a forward sweep that records what the reverse sweep needs, then the adjoint code.

The scheme, chosen to match what a careful person writes by hand:
- Straight-line code keeps every value it needs in a local: a statement that overwrites a value an
  earlier adjoint still reads first copies it (`x_saved = x`), and the reverse sweep restores it.
- A loop records, per iteration, only its checkpoint: the loop-carried values the iteration's
  adjoint needs (Lorenz: the state x, y, z). The reverse sweep walks the iterations backwards,
  restores the checkpoint, recomputes the iteration's intermediates, and runs its adjoint. A loop
  whose adjoint needs nothing carried (Rosenbrock) records nothing at all.
- Element writes into arrays that are read again are undone: inside loops through a write log
  (index and old value), in straight-line code through a saved local.
- Loop trip counts are recorded for while loops and loops that break.
Checkpoints of loops in straight-line code go to preallocated arrays (the trip count is known
before the loop starts); those of loops replayed inside other loops go to lists, reused across
iterations. Dead-code elimination then removes whatever only the primal value needed.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.dataflow import bound_names, eliminate_dead_code, mutated_arrays, upward_exposed
from ..errors import UnsupportedSyntaxError
from .adjoints import Adjoints
from .common import by_origin
from ..rules.template import simplify
from .peephole import drop_unneeded_saves, fold_first_contributions


# Results worth storing rather than recomputing in the replay (a push and pop cost ~2 ns).
_EXPENSIVE = {"exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "asin", "acos", "atan",
              "arcsin", "arccos", "arctan", "atan2", "arctan2", "sinh", "cosh", "tanh", "pow", "power", "cbrt", "hypot"}


def _is_loop_exit(stmt) -> bool:
    return getattr(stmt, "srcgrad_loop_exit", False)


def _tape(stmt):
    stmt.srcgrad_tape = True
    return stmt


class _LoopPlan:
    """What one loop records per iteration, and how its reverse sweep counts iterations."""

    def __init__(self, loop, checkpoint: list, logged: list, has_exit: bool):
        self.loop, self.checkpoint, self.logged, self.has_exit = loop, checkpoint, logged, has_exit

    @property
    def is_for(self) -> bool:
        return isinstance(self.loop, gast.For)

    @property
    def range_args(self) -> list:
        return list(self.loop.iter.args)

    @property
    def unit_step(self) -> bool:
        args = self.range_args
        return len(args) < 3 or (isinstance(args[2], gast.Constant) and args[2].value == 1)

    @property
    def start(self):
        args = self.range_args
        return args[0] if len(args) > 1 else syntax.const(0)

    @property
    def stop(self):
        args = self.range_args
        return args[1] if len(args) > 1 else args[0]

    @property
    def step(self):
        args = self.range_args
        return args[2] if len(args) > 2 else syntax.const(1)


class ReverseTransform:
    """Builds `vjp_f(*args, out_bar) -> (value, grads)` (or just grads) for one ANF function."""

    def __init__(self, fn, wrt, active, kinds, names, callee, with_value: bool = True, location=None):
        self.fn, self.wrt, self.active, self.kinds, self.names = fn, wrt, active, kinds, names
        self.with_value = with_value
        self.adj = Adjoints(active, kinds, names, callee, location or (lambda node: None))
        self.params = syntax.param_names(fn)
        self.primal_vars = set(self.params) | syntax.stored_names(fn.body)
        self.read_arrays = self._arrays_read(fn.body[:-1])
        self.mutated = mutated_arrays(fn)
        self.hoisted: list = []
        self._logging: set = set()   # arrays whose writes the loop being emitted must log
        self._storing: dict = {}     # statement id -> tape its value is pushed to
        self._replaying: dict = {}   # statement id -> tape its value is read back from
        self._saved: dict = {}
        self._plans: dict = {}
        self._reads: dict = {}
        self._saves: dict = {}
        self._tapes: dict = {}
        self.home_of = self._home_blocks()

    # ----- the function ----------------------------------------------------------------------
    def run(self, function_name: str) -> gast.FunctionDef:
        body = self.fn.body
        ret, main = body[-1], body[:-1]
        if not isinstance(ret, gast.Return):
            raise UnsupportedSyntaxError("a function that does not end in return", None, "Return the value.")
        forward = self.forward_block(main, region=True, top=True)
        reverse = self.reverse_block(main, home="function")
        out_bar = self.names.fresh("out_bar")
        returned = list(ret.value.elts) if isinstance(ret.value, gast.Tuple) else [ret.value]
        seed = []
        for k, atom in enumerate(returned):
            cotangent = syntax.name(out_bar) if len(returned) == 1 and not isinstance(ret.value, gast.Tuple) \
                else syntax.subscript(syntax.name(out_bar), syntax.const(k))
            seed += self.adj.accumulate(atom, cotangent)
        value_name = self.names.fresh("value")
        capture = [syntax.assign(value_name, self._captured(ret.value))] if self.with_value else []
        grads = syntax.tuple_([self._grad_of(self.params[w]) for w in self.wrt])
        result = syntax.tuple_([syntax.name(value_name), grads]) if self.with_value else grads
        inits = []
        inits, reverse = self._split_inits(reverse)
        code = (self.hoisted + forward + capture + [syntax.comment("reverse sweep")]
                + inits + seed + reverse + [syntax.return_(result)])
        code = eliminate_dead_code(code, set(), essential=lambda s: getattr(s, "srcgrad_tape", False))
        code = fold_first_contributions(drop_unneeded_saves(code))
        return syntax.function(function_name, self.params + [out_bar], code)

    def _split_inits(self, reverse):
        """The adjoint initializations that open the reverse sweep, and the rest."""
        k = 0
        while k < len(reverse) and isinstance(reverse[k], gast.Assign) and self._is_adjoint_init(reverse[k]):
            k += 1
        return reverse[:k], reverse[k:]

    def _is_adjoint_init(self, stmt):
        target = stmt.targets[0]
        return isinstance(target, gast.Name) and target.id in self.adj.bars.values()

    def _captured(self, value):
        atoms = value.elts if isinstance(value, gast.Tuple) else [value]
        mutated = mutated_arrays(self.fn)
        copied = [syntax.call("np.copy", a) if isinstance(a, gast.Name) and a.id in mutated else a for a in atoms]
        return syntax.tuple_(copied) if isinstance(value, gast.Tuple) else copied[0]

    def _grad_of(self, param):
        if self.adj.is_tuple(param):
            return syntax.tuple_([syntax.name(n) for n in self.adj.element_adjoints(param)])
        return syntax.name(self.adj.adjoint(param))

    # ----- analyses --------------------------------------------------------------------------
    def _arrays_read(self, stmts) -> set[str]:
        """Variables whose values are read somewhere (writing x[i] = v alone does not read x)."""
        read = set()
        for stmt in stmts:
            for node in gast.walk(stmt):
                if isinstance(node, gast.Assign):
                    target = node.targets[0]
                    read |= syntax.loaded_names(node.value)
                    if isinstance(target, gast.Subscript):
                        read |= syntax.loaded_names(target.slice)
                elif isinstance(node, (gast.If, gast.While)):
                    read |= syntax.loaded_names(node.test)
        return read

    def _home_blocks(self) -> dict:
        """Each active variable's home: the innermost block (function body, loop body or branch)
        holding every mention of it. Its adjoint starts at zero where that block's reverse starts."""
        paths: dict = {}

        def visit(stmts, path):
            for stmt in stmts:
                mentioned = syntax.names_in(stmt) if not isinstance(stmt, (gast.If, gast.For, gast.While)) \
                    else syntax.names_in(stmt.test if not isinstance(stmt, gast.For) else [stmt.target, stmt.iter])
                for var in mentioned & self.active:
                    paths.setdefault(var, []).append(path)
                for block in syntax.child_blocks(stmt):
                    visit(block, path + (id(block),))

        visit(self.fn.body, ("function",))
        homes = {p: "function" for p in self.params}
        for var, var_paths in paths.items():
            if var in homes:
                continue
            common = var_paths[0]
            for path in var_paths[1:]:
                n = 0
                while n < min(len(common), len(path)) and common[n] == path[n]:
                    n += 1
                common = common[:n]
            homes[var] = common[-1]
        return homes

    def inits_for(self, home) -> list:
        names = sorted(v for v, h in self.home_of.items() if h == home and v in self.active)
        return [s for var in names for s in self.adj.init(var)]

    def adjoint_reads(self, stmt) -> set[str]:
        """Primal variables the reverse code of `stmt` reads before writing them."""
        if id(stmt) not in self._reads:
            code = self.reverse_stmt(stmt, {})
            self._reads[id(stmt)] = upward_exposed(code) & self.primal_vars
        return self._reads[id(stmt)]

    def saves(self, stmts) -> dict:
        """For each statement, the variables to copy before it runs: values earlier adjoints still need."""
        key = tuple(id(s) for s in stmts)
        if key in self._saves:
            return self._saves[key]
        needed, result = set(), {}
        for stmt in stmts:
            own = self.adjoint_reads(stmt)
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
                clobbered = set()
            elif isinstance(stmt, gast.Assign):
                clobbered = bound_names(stmt) & (needed | (own & syntax.loaded_names(stmt.value)))
            else:
                clobbered = (bound_names(stmt) & needed) - mutated_arrays(stmt)
            result[id(stmt)] = sorted(clobbered)
            needed |= own
        self._saves[key] = result
        return result

    def saved_name(self, stmt, var: str, suffix: str = "saved") -> str:
        key = (id(stmt), var, suffix)
        if key not in self._saved:
            self._saved[key] = self.names.fresh(f"{var}_{suffix}")
        return self._saved[key]

    # ----- forward sweep ---------------------------------------------------------------------
    def forward_block(self, stmts, region: bool, top: bool = False) -> list:
        """Primal code. `region`: its adjoint follows directly (the function body, or a replayed
        iteration): save clobbered values locally and checkpoint child loops. Otherwise the block
        is a loop body run ahead of time: log element writes for the loop to undo."""
        saves = self.saves(stmts) if region else {}
        out = []
        for stmt in stmts:
            if region and _is_loop_exit(stmt):
                continue
            out += [syntax.assign(self.saved_name(stmt, v), syntax.name(v)) for v in saves.get(id(stmt), [])]
            out += self.forward_stmt(stmt, region, top)
        return out

    def forward_stmt(self, stmt, region: bool, top: bool) -> list:
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
            return self._forward_element_write(stmt, region)
        if isinstance(stmt, gast.If):
            return [syntax.if_(syntax.clone(stmt.test), self.forward_block(stmt.body, region, top),
                               self.forward_block(stmt.orelse, region, top))]
        if syntax.is_loop(stmt):
            return self._checkpointed_loop(stmt, top) if region else [self._plain_loop(stmt)]
        if id(stmt) in self._replaying and self._replaying[id(stmt)] is not None:
            tape = self._replaying[id(stmt)]
            return [_tape(syntax.assign(stmt.targets[0].id, self._tape_read(*tape)))]
        if id(stmt) in self._storing:
            return [self._primal_copy(stmt), self._tape_write(*self._storing[id(stmt)], stmt.targets[0])]
        return [self._primal_copy(stmt)]

    def _primal_copy(self, stmt):
        """The statement as the primal runs it: calls to user functions go to their generated copies,
        and a slice of an array that is written later is copied, so the reverse sweep sees the old values."""
        copy = syntax.clone(stmt)
        if isinstance(copy, gast.Assign) and isinstance(copy.value, gast.Subscript) and self._is_view(copy.value):
            copy.value = syntax.call("np.copy", copy.value)
        for node in gast.walk(copy):
            if isinstance(node, gast.Call) and getattr(node, "srcgrad_user", None) is not None:
                node.func = syntax.name(self.adj.callee(node, []))
        return copy

    def _is_view(self, subscript) -> bool:
        array = syntax.base_name(subscript)
        if not isinstance(subscript.value, gast.Name) or array not in self.mutated:
            return False
        parts = _index_parts(subscript)
        return any(isinstance(p, gast.Slice) for p in parts) or K.ndim(self.kinds.get(array)) != len(parts)

    def _plain_loop(self, loop):
        copy = syntax.clone(loop)
        copy.body = self.forward_block(loop.body, region=False) or [gast.Pass()]
        return copy

    def _forward_element_write(self, stmt, region: bool) -> list:
        target = stmt.targets[0]
        array = syntax.base_name(target)
        if array not in self.read_arrays:
            return [syntax.clone(stmt)]
        old = syntax.subscript(syntax.name(array), syntax.clone(target.slice))
        if not _is_element_write(target, self.kinds):
            old = syntax.call("np.copy", old)
        if region:
            return [syntax.assign(self.saved_name(stmt, array, "old"), old), syntax.clone(stmt)]
        if array not in self._logging:
            return [syntax.clone(stmt)]
        if any(isinstance(p, gast.Slice) for p in _index_parts(target)):
            raise UnsupportedSyntaxError("a slice assignment inside a loop, in reverse mode", self.adj.location(stmt),
                                         "Write the elements one by one in an inner loop.")
        values, indices = self._write_log(array)
        log = [_tape(gast.Expr(value=syntax.call(gast.Attribute(value=syntax.name(indices), attr="append", ctx=gast.Load()),
                                                  syntax.clone(p)))) for p in _index_parts(target)]
        log.append(_tape(gast.Expr(value=syntax.call(gast.Attribute(value=syntax.name(values), attr="append", ctx=gast.Load()), old))))
        return log + [syntax.clone(stmt)]

    def _write_log(self, array: str):
        if ("log", array) not in self._tapes:
            values, indices = self.names.fresh(f"{array}_log"), self.names.fresh(f"{array}_log_index")
            self.hoisted += [_tape(syntax.assign(values, gast.List(elts=[], ctx=gast.Load()))),
                             _tape(syntax.assign(indices, gast.List(elts=[], ctx=gast.Load())))]
            self._tapes[("log", array)] = (values, indices)
        return self._tapes[("log", array)]

    # ----- loops -----------------------------------------------------------------------------
    def plan(self, loop) -> _LoopPlan:
        if id(loop) in self._plans:
            return self._plans[id(loop)]
        body = loop.body
        has_exit = bool(body) and _is_loop_exit(body[-1])
        logged = sorted((mutated_arrays(loop) & self.read_arrays) - _fresh_in_body(body))
        adjoint = self.reverse_block(body)
        stored = self._expensive_values(body, upward_exposed(adjoint), nested=not self._is_top(loop))
        outer, self._replaying = self._replaying, {**self._replaying, **{id(s): None for s, _ in stored}}
        replay = self.forward_block(body, region=True)
        self._replaying = outer
        keep = {id(n) for s in adjoint for n in gast.walk(s)}
        code = eliminate_dead_code(replay + adjoint, set(), essential=lambda s: id(s) in keep or getattr(s, "srcgrad_tape", False))
        index = {loop.target.id} if isinstance(loop, gast.For) else set()
        carried = (upward_exposed(code) & bound_names(loop) & self._defined_outside(loop)) - index - set(logged)
        plan = _LoopPlan(loop, sorted(carried), logged, has_exit)
        plan.stored = stored
        self._plans[id(loop)] = plan
        return plan

    def _expensive_values(self, body, adjoint_reads, nested: bool) -> list:
        """(statement, variable) for transcendental results the body's adjoint reads: the forward
        sweep stores these per iteration instead of the replay recomputing them. In nested loops,
        whose tape is reused and stays in cache, quotients are stored too."""
        assigned = [v for s in body for v in bound_names(s)]
        stored = []
        for stmt in body:
            if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
                continue
            var, value = stmt.targets[0].id, stmt.value
            rule = getattr(value, "srcgrad_rule", None) if isinstance(value, gast.Call) else None
            expensive = (rule is not None and rule.name.split(".")[-1] in _EXPENSIVE) or (
                nested and isinstance(value, gast.BinOp) and isinstance(value.op, gast.Div))
            if (expensive and var in adjoint_reads
                    and self.kinds.get(var) == K.FLOAT and assigned.count(var) == 1):
                stored.append((stmt, var))
        return stored

    def _defined_outside(self, loop) -> set[str]:
        """Variables with a value before the loop starts: only those can be carried into it."""
        outside = set(self.params)

        def visit(stmts):
            for stmt in stmts:
                if stmt is loop:
                    continue
                if isinstance(stmt, gast.Assign):
                    outside.update(bound_names(stmt))
                elif isinstance(stmt, gast.For):
                    outside.add(stmt.target.id)
                for block in syntax.child_blocks(stmt):
                    visit(block)
        visit(self.fn.body)
        return outside

    def _preallocated(self, plan, top: bool) -> bool:
        return plan.is_for and not plan.has_exit and plan.unit_step

    def _checkpoint_tapes(self, plan, top: bool) -> list:
        """(variable, tape name, dtype or None for a list) for each checkpointed value."""
        entries = [(v, K.INT if self.kinds.get(v) in (K.INT, K.BOOL) else self.kinds.get(v)) for v in plan.checkpoint]
        entries += [(f"len({values})", K.INT) for values, _ in (self._write_log(a) for a in plan.logged)]
        tapes = []
        for var, kind in entries:
            key = ("checkpoint", id(plan.loop), var)
            if key not in self._tapes:
                base = var if not var.startswith("len(") else var[4:-1] + "_height"
                self._tapes[key] = self.names.fresh(f"{base}_tape")
            preallocate = self._preallocated(plan, top) and kind in (K.FLOAT, K.INT)
            tapes.append((var, self._tapes[key], kind if preallocate else None))
        return tapes

    def _checkpointed_loop(self, loop, top: bool) -> list:
        plan = self.plan(loop)
        position = self._position(plan)
        before, record = [], []
        for var, tape, dtype in self._checkpoint_tapes(plan, top):
            value = syntax.parse_expr(var) if var.startswith("len(") else syntax.name(var)
            before += self._tape_alloc(tape, dtype, plan)
            record.append(self._tape_write(tape, dtype, position, value))
        storing = {}
        for stmt, var in plan.stored:
            tape, dtype = self._stored_tape(plan, var, top)
            before += self._tape_alloc(tape, dtype, plan)
            storing[id(stmt)] = (tape, dtype, position)
        if self._counts_trips(plan, top):
            trips = self._trips_name(plan)
            before.append(_tape(syntax.assign(trips, syntax.const(0))))
            record.insert(0, _tape(syntax.assign(trips, syntax.binop(syntax.name(trips), "+", syntax.const(1)))))
        copy = syntax.clone(loop)
        outer = self._logging, self._storing
        self._logging, self._storing = set(plan.logged), {**self._storing, **storing}
        copy.body = record + self.forward_block(loop.body, region=False)
        self._logging, self._storing = outer
        return before + [copy]

    def _stored_tape(self, plan, var, top):
        key = ("stored", id(plan.loop), var)
        if key not in self._tapes:
            self._tapes[key] = self.names.fresh(f"{var}_tape")
        return self._tapes[key], (K.FLOAT if self._preallocated(plan, top) else None)

    def _tape_alloc(self, tape, dtype, plan) -> list:
        """A preallocated tape sized by the trip count, or (once, at the top) an empty list."""
        if dtype is None:
            if ("hoisted", tape) not in self._tapes:
                self._tapes[("hoisted", tape)] = True
                self.hoisted.append(_tape(syntax.assign(tape, gast.List(elts=[], ctx=gast.Load()))))
            return []
        if self._is_top(plan.loop):   # runs once: allocate exactly
            alloc = syntax.call("np.empty", self._trip_count(plan))
            if dtype == K.INT:
                alloc.keywords = [gast.keyword(arg="dtype", value=syntax.dotted("np.int64"))]
            return [_tape(syntax.assign(tape, alloc))]
        # runs once per outer iteration: keep one array, grown when a longer loop needs it
        if ("hoisted", tape) not in self._tapes:
            self._tapes[("hoisted", tape)] = True
            empty = syntax.call("np.empty", syntax.const(0))
            if dtype == K.INT:
                empty.keywords = [gast.keyword(arg="dtype", value=syntax.dotted("np.int64"))]
            self.hoisted.append(_tape(syntax.assign(tape, empty)))
        return [_tape(syntax.assign(tape, syntax.call("reserve", syntax.name(tape), self._trip_count(plan))))]

    def _tape_write(self, tape, dtype, position, value):
        if dtype is None:
            return _tape(gast.Expr(value=syntax.call(gast.Attribute(value=syntax.name(tape), attr="append", ctx=gast.Load()),
                                                     syntax.as_load(value))))
        return _tape(syntax.assign(syntax.subscript(syntax.name(tape), syntax.clone(position), store=True), syntax.as_load(value)))

    def _tape_read(self, tape, dtype, position):
        if dtype is None:
            return syntax.call(gast.Attribute(value=syntax.name(tape), attr="pop", ctx=gast.Load()))
        return syntax.subscript(syntax.name(tape), syntax.clone(position))

    def _trip_count(self, plan):
        """The number of iterations of a unit-step range loop: `stop` or `stop - start`."""
        start = plan.start
        if isinstance(start, gast.Constant) and start.value == 0:
            return syntax.clone(plan.stop)
        return syntax.call("max", syntax.binop(syntax.clone(plan.stop), "-", syntax.clone(start)), syntax.const(0))

    def _counts_trips(self, plan, top) -> bool:
        return not plan.is_for or plan.has_exit

    def _trips_name(self, plan) -> str:
        key = ("trips", id(plan.loop))
        if key not in self._tapes:
            self._tapes[key] = self.names.fresh("trips")
        return self._tapes[key]

    def _position(self, plan):
        """Index of the current iteration in a preallocated tape: `i - start`."""
        if not plan.is_for:
            return syntax.const(0)
        index = syntax.name(plan.loop.target.id)
        start = plan.start
        if isinstance(start, gast.Constant) and start.value == 0:
            return index
        return syntax.binop(index, "-", syntax.clone(start))

    def loop_reverse(self, loop, top: bool = False) -> list:
        plan = self.plan(loop)
        tapes = self._checkpoint_tapes(plan, top)
        header, index_setup = self._reverse_header(plan)
        restore = []
        heights = {}
        for var, tape, dtype in reversed(tapes):
            if var.startswith("len("):
                key = ("height", id(plan.loop), var)
                if key not in self._tapes:
                    self._tapes[key] = self.names.fresh(var[4:-1] + "_height")
                height = self._tapes[key]
                heights[var[4:-1]] = height
                target = height
            else:
                target = var
            restore.append(_tape(syntax.assign(target, self._tape_read(tape, dtype, self._position(plan)))))
        undo = [stmt for array in plan.logged for stmt in self._undo_writes(array, plan.loop, heights)]
        replaying = {id(stmt): (*self._stored_tape(plan, var, top), self._position(plan)) for stmt, var in plan.stored}
        outer, self._replaying = self._replaying, {**self._replaying, **replaying}
        replay = self.forward_block(loop.body, region=True)
        self._replaying = outer
        body = index_setup + restore + undo + replay + self.reverse_block(loop.body)
        if self._iterations_commute(plan, body):
            header, body = syntax.clone(loop), restore + replay + self.reverse_block(loop.body)
        header.body = body or [gast.Pass()]
        return [header]

    def _iterations_commute(self, plan, body) -> bool:
        """True when the iterations' adjoints may run in the primal's order: nothing is popped, and
        every adjoint from outside the body is either only read or only accumulated into. Then the
        reverse loop keeps the primal's header, which numba compiles (and vectorizes) best."""
        if not (plan.is_for and not plan.has_exit and not plan.logged):
            return False
        calls = [n for s in body for n in gast.walk(s) if isinstance(n, gast.Call)]
        if any(isinstance(c.func, gast.Attribute) and c.func.attr == "pop" for c in calls):
            return False
        inner_blocks = {id(b) for n in gast.walk(plan.loop) for b in syntax.child_blocks(n)}
        local = {self.adj.adjoint(v) for v, home in self.home_of.items() if home in inner_blocks and v in self.active}
        outer = (syntax.names_in(body) & set(self.adj.bars.values())) - local
        assigned = {n for s in body for n in _plainly_assigned(s)}
        for name in outer:
            augmented = any(isinstance(n, gast.AugAssign) and syntax.base_name(n.target) == name
                            for s in body for n in gast.walk(s))
            read = any(isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Load)
                       and not _is_aug_target(n, body) for s in body for n in gast.walk(s))
            if name in assigned or (augmented and read):
                return False
        return True

    def _undo_writes(self, array, loop, heights) -> list:
        """Put back, newest first, the elements this iteration overwrote (before replaying it)."""
        values, indices = self._write_log(array)
        arity = self._write_arity(array, loop)
        key = ("undo", id(loop), array)
        if key not in self._tapes:
            self._tapes[key] = [self.names.fresh(f"{array}_index") for _ in range(arity)]
        index_names = self._tapes[key]
        pops = [_tape(syntax.assign(n, syntax.call(gast.Attribute(value=syntax.name(indices), attr="pop", ctx=gast.Load()))))
                for n in reversed(index_names)]
        index = syntax.tuple_([syntax.name(n) for n in index_names]) if arity > 1 else syntax.name(index_names[0])
        restore = _tape(syntax.assign(syntax.subscript(syntax.name(array), index, store=True),
                                      syntax.call(gast.Attribute(value=syntax.name(values), attr="pop", ctx=gast.Load()))))
        test = gast.Compare(left=syntax.call("len", syntax.name(values)), ops=[gast.Gt()], comparators=[syntax.name(heights[values])])
        return [_tape(syntax.while_(test, pops + [restore]))]

    def _write_arity(self, array, loop) -> int:
        arities = {len(_index_parts(n)) for n in gast.walk(loop)
                   if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and syntax.base_name(n) == array}
        if len(arities) != 1:
            raise UnsupportedSyntaxError(f"writes into `{array}` with different numbers of indices in one loop, in reverse mode",
                                         None, "Write whole elements (x[i, j]) or whole rows (x[i]) consistently.")
        return arities.pop()

    def _reverse_header(self, plan):
        if plan.is_for and not plan.has_exit and plan.unit_step:
            stop = syntax.binop(syntax.clone(plan.stop), "-", syntax.const(1))
            start = plan.start
            end = syntax.const(-1) if isinstance(start, gast.Constant) and start.value == 0 else syntax.binop(syntax.clone(start), "-", syntax.const(1))
            return syntax.for_range(plan.loop.target.id, [simplify(stop), simplify(end), syntax.const(-1)], []), []
        key = ("iteration", id(plan.loop))
        if key not in self._tapes:
            self._tapes[key] = self.names.fresh("iteration")
        iteration = self._tapes[key]
        trips = syntax.name(self._trips_name(plan)) if self._counts_trips(plan, False) else \
            syntax.call("len", syntax.call("range", *map(syntax.clone, plan.range_args)))
        header = syntax.for_range(iteration, [syntax.binop(trips, "-", syntax.const(1)), syntax.const(-1), syntax.const(-1)], [])
        setup = []
        if plan.is_for:
            offset = syntax.binop(syntax.name(iteration), "*", syntax.clone(plan.step))
            setup.append(syntax.assign(plan.loop.target.id, simplify(syntax.binop(syntax.clone(plan.start), "+", offset))))
        return header, setup

    # ----- reverse sweep ---------------------------------------------------------------------
    def reverse_block(self, stmts, home=None) -> list:
        saves = self.saves(stmts)
        out = self.inits_for(id(stmts) if home is None else home)
        groups = list(by_origin(stmts))
        for origin, group in reversed(groups):
            code = []
            for stmt in reversed(group):
                if _is_loop_exit(stmt):
                    continue
                code += self.reverse_stmt(stmt, saves)
                code += [syntax.assign(v, syntax.name(self.saved_name(stmt, v))) for v in saves.get(id(stmt), [])]
            if code and origin:
                code.insert(0, syntax.comment(f"d({origin})"))
            out += code
        return out

    def reverse_stmt(self, stmt, saves) -> list:
        if isinstance(stmt, gast.Assign):
            if isinstance(stmt.targets[0], gast.Subscript):
                return self._reverse_element_write(stmt)
            before = {v: self.saved_name(stmt, v) for v in saves.get(id(stmt), []) if v in syntax.loaded_names(stmt.value)}
            return self.adj.statement(stmt, before)
        if isinstance(stmt, gast.If):
            body, orelse = self.reverse_block(stmt.body), self.reverse_block(stmt.orelse)
            if not body and not orelse:
                return []
            return [syntax.if_(syntax.clone(stmt.test), body or [gast.Pass()], orelse)]
        if syntax.is_loop(stmt):
            return self.loop_reverse(stmt, top=self._is_top(stmt))
        return []

    def _is_top(self, loop) -> bool:
        return any(s is loop for s in self._top_level_loops())

    def _top_level_loops(self):
        def visit(stmts):
            for s in stmts:
                if syntax.is_loop(s):
                    yield s
                elif isinstance(s, gast.If):
                    yield from visit(s.body)
                    yield from visit(s.orelse)
        return visit(self.fn.body)

    def _reverse_element_write(self, stmt) -> list:
        code = self.adj.statement(stmt)
        target = stmt.targets[0]
        array = syntax.base_name(target)
        if array in self.read_arrays:
            code.append(syntax.assign(syntax.clone(target), syntax.name(self.saved_name(stmt, array, "old"))))
        return code


def _plainly_assigned(stmt) -> set[str]:
    return {t.id for n in gast.walk(stmt) if isinstance(n, gast.Assign) for t in n.targets if isinstance(t, gast.Name)}


def _is_aug_target(name_node, body) -> bool:
    """Whether `name_node` is the array of `name[...] += ...` (a write, though gast marks it Load)."""
    return any(isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Subscript) and n.target.value is name_node
               for s in body for n in gast.walk(s))


def _fresh_in_body(body) -> set[str]:
    """Arrays the loop body binds anew before writing into them: nothing from before needs restoring."""
    fresh, seen = set(), set()
    for stmt in body:
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
            name = stmt.targets[0].id
            if name not in seen:
                fresh.add(name)
        seen |= syntax.names_in(stmt)
    return fresh


def _is_element_write(target, kinds) -> bool:
    kind = kinds.get(syntax.base_name(target))
    parts = _index_parts(target)
    return K.ndim(kind) == len(parts) and not any(isinstance(p, gast.Slice) for p in parts)


def _index_parts(target) -> list:
    return target.slice.elts if isinstance(target.slice, gast.Tuple) else [target.slice]
