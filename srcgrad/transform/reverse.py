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

from collections import ChainMap, Counter

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.aliasing import BEFORE, linear_order, loop_header_of, reaching_definitions, sharing, writes_through_views, written_while_viewed
from ..analyze.dataflow import bound_names, eliminate_dead_code, measured, must_bind, mutated_arrays, upward_exposed
from ..errors import UnsupportedSyntaxError
from .adjoints import Adjoints
from .common import by_origin, kept_as_tape, on_tape as _tape, primal_calls, scratch_buffer
from .write_index import index_atoms
from .read_once import read_adjoints_once
from .peephole import (add_fills_directly, add_rows_in_place, drop_undone_writes, drop_unneeded_saves, fill_reused_buffers,
                       fold_first_contributions, hand_over_buffers, keep_passed_elements, sum_invariant_elements, write_reused_buffers_once)
from .checkpoint import Checkpointing
from .undone_loops import drop_undone_logged_writes, drop_undone_loop_writes
from .vectorized_loops import split_offset_adds, sums_in_any_order
from .kept_rows import RowKeeping
from .reverse_loops import LoopReversal, is_loop_exit as _is_loop_exit, restore_comments_that_stayed, values_read




class ReverseTransform(LoopReversal, RowKeeping, Checkpointing):
    """Builds `vjp_f(*args, out_bar) -> (value, grads)` (or just grads) for one ANF function."""

    def __init__(self, fn, wrt, active, kinds, names, callee, with_value: bool = True, location=None,
                 memory: int = 0):
        self.fn, self.wrt, self.active, self.kinds, self.names = fn, wrt, active, kinds, names
        self.with_value, self.memory = with_value, memory
        # the caller's arrays receive the function's writes once the forward sweep is done
        self.write_backs = [s for s in fn.body if getattr(s, "srcgrad_argument_write_back", False)]
        fn.body[:] = [s for s in fn.body if not getattr(s, "srcgrad_argument_write_back", False)]
        self.adj = Adjoints(active, kinds, names, callee, location or (lambda node: None))
        self.adj.callee_options = {"memory": memory} if memory else {}   # loops in called functions too
        self.params = syntax.param_names(fn)
        self.primal_vars = set(self.params) | syntax.stored_names(fn.body)
        self.read_arrays = values_read(fn.body[:-1])
        self._refuse_checkpointed_sweeps()
        self._refuse_writes_through_aliases()
        self.mutated = mutated_arrays(fn)
        self.shares = sharing(fn.body, kinds)
        self.hoisted: list = []
        self._logging: set = set()   # arrays whose writes the loop being emitted must log
        self._unlogged: set = set()  # ids of its writes that go to an array made in the same iteration
        self._storing: dict = {}     # statement id -> tape its value is pushed to
        self._replaying: dict = {}   # statement id -> tape its value is read back from
        self._unreplayed: set = set()   # ids of sums into faint floats, left out of replayed iterations
        self._sums_replayed_in = None   # id of the loop whose replays keep those sums (see run)
        self._first_run = False   # building a replay that runs code the forward sweep did not (see run)
        self._saved: dict = {}
        self._bound_outside = None   # names surely bound before the block forward_block emits, where known
        self._bound_first: set = set()   # names bound at the top of the function (_bind_first)
        self._plans: dict = {}
        self._forward_taped: dict = {}   # inner loop id -> what it leaves, taped after it (reverse_loops.py)
        self._kept_runs: dict = {}   # loop id -> names keeping its stored values for every run (reverse_loops.py)
        self._reads: dict = {}
        self._built: dict = {}   # id of an assignment -> the adjoint adjoint_reads built for it, until used
        self._saves: dict = {}
        self._tapes: dict = {}
        self.home_of = self._home_blocks()
        # blocks that run once per iteration of some loop: adjoints homed there may reuse buffers
        self._loop_blocks = {id(block) for loop in syntax.statements_in(fn.body) if syntax.is_loop(loop)
                             for node in syntax.statements_in([loop]) for block in syntax.child_blocks(node)}
        self.adj.old_shapes = self._old_shapes_needed()

    # ----- the function ----------------------------------------------------------------------
    def run(self, function_name: str) -> gast.FunctionDef:
        body = self.fn.body
        ret, main = body[-1], body[:-1]
        if not isinstance(ret, gast.Return):
            raise UnsupportedSyntaxError("a function that does not end in return", None, "Return the value.")
        self._bound_outside = set(self.params)
        forward = self.forward_block(main, region=True)
        self._bound_outside = None
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
        inits, reverse = self._split_inits(reverse)
        if capture and not self.write_backs and self._value_from_reverse_loop(main, ret):
            # The last loop's reverse runs in the primal's order and replays every iteration
            # anyway: it computes the value too, so the forward sweep need not run that loop.
            forward = forward[:-1]
            loop_at = next(k for k, stmt in enumerate(reverse) if syntax.is_loop(stmt))
            self._sums_replayed_in = id(main[-1])   # its replays compute the sums the forward sweep no longer does
            reverse[loop_at:loop_at + 1] = self.loop_reverse(main[-1])
            reverse.insert(loop_at + 1, capture.pop())
        written = ([syntax.comment("the arguments written into get their final values")] + syntax.clone(self.write_backs)
                   if self.write_backs else [])
        code = (self.hoisted + forward + written + capture + [syntax.comment("reverse sweep")]
                + inits + seed + reverse + [syntax.return_(result)])
        return syntax.function(function_name, self.params + [out_bar], self._tidy(code))

    def _tidy(self, code: list) -> list:
        """The derivative's statements as a person would leave them: dead code out, replayed writes
        undone at once and needless saves dropped, first contributions assigned rather than added
        to zeros, and adjoint buffers reused across loop iterations."""
        def essential(stmt):
            return kept_as_tape(stmt) or getattr(stmt, "srcgrad_argument_write_back", False)
        code = eliminate_dead_code(code, set(), essential=essential, shares=self.shares)
        for _ in range(_TIDY_ROUNDS):
            before = _statements(code)
            code = drop_undone_loop_writes(self.shares)(drop_undone_logged_writes(self.shares)(code))
            code = drop_unneeded_saves(drop_undone_writes(self.shares)(code))
            if _statements(code) == before:
                break
            # the restores dropped kept arrays alive whose replayed fills are now dead, and a dead
            # fill between a write and its undo kept that pair (GradBench lstm: the cell's replayed write)
            code = eliminate_dead_code(code, set(), essential=essential, shares=self.shares)
        code = fold_first_contributions(code)
        code = reuse_adjoint_buffers(restore_comments_that_stayed(code))
        code = keep_passed_elements(self.shares)(write_reused_buffers_once(fill_reused_buffers(code)))
        primal_of = {bar: var for var, bar in self.adj.bars.items()}
        code = add_rows_in_place(primal_of, self.shares)(hand_over_buffers(primal_of, set(self.params))(code))
        code = add_fills_directly(primal_of)(code)

        def float_element(subscript) -> bool:
            """Whether `x[...]` (a primal array or an adjoint) is one element of a float array."""
            base = syntax.base_name(subscript)
            kind = self.kinds.get(primal_of.get(base, base))
            return isinstance(kind, str) and kind.startswith("a") and K.selects_element(subscript, ChainMap({base: kind}, self.kinds))
        element_sums = []

        def element_sum(base: str) -> str:
            element_sums.append(self.names.fresh(base))
            return element_sums[-1]
        code = sum_invariant_elements(float_element, self.shares, element_sum)(code)
        code = _without_unused_tapes(read_adjoints_once(float_element, set(self.params))(code))
        return self._vectorizable(code, essential, set(element_sums))

    def _vectorizable(self, code: list, essential, element_sums: set) -> list:
        """Innermost loops LLVM can vectorize (vectorized_loops.py): adds at several offsets of the
        index split into loops of their own, float adjoints summed in any order."""
        loops = sum(map(syntax.is_loop, syntax.statements_in(code)))
        code = split_offset_adds(self.shares)(code)
        if sum(map(syntax.is_loop, syntax.statements_in(code))) != loops:   # the loops left behind what moved
            code = eliminate_dead_code(code, set(), essential=essential, shares=self.shares)
        float_adjoints = {bar for var, bar in self.adj.bars.items() if self.kinds.get(var) == K.FLOAT} | element_sums
        return sums_in_any_order(float_adjoints.__contains__)(code)

    def _refuse_checkpointed_sweeps(self) -> None:
        """A checkpointed loop's reverse sweep (a derivative made with memory= or srcgrad.checkpoint)
        steps its schedule in place: replaying it backwards would step it again."""
        for node in syntax.walk(self.fn):
            if getattr(getattr(node, "srcgrad_rule", None), "name", "") == "srcgrad_runtime.revolve_turn":
                raise UnsupportedSyntaxError(
                    "reverse mode over the reverse sweep of a checkpointed loop", self.adj.location(node),
                    "Differentiate the checkpointed derivative in forward mode (jvp, jacfwd, derivative), or "
                    "make the first derivative without memory= or srcgrad.checkpoint.")

    def _refuse_writes_through_aliases(self) -> None:
        """Writes that reach an array through another name (an argument, a second name, a row or
        slice) change values the reverse sweep keeps apart: refuse them rather than differentiate
        wrongly."""
        statements = syntax.statements_in(self.fn.body)
        rebound = {t.id for n in statements if isinstance(n, gast.Assign) for t in n.targets if isinstance(t, gast.Name)}
        for node in statements:
            if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Subscript):
                array = syntax.base_name(node.targets[0])
                if array in self.params and array not in rebound:
                    raise UnsupportedSyntaxError(
                        f"a write into the argument `{array}` in reverse mode", self.adj.location(node),
                        f"Copy it first (`{array} = {array}.copy()`); derivatives assume arguments are not modified.")
        through = writes_through_views(self.fn, self.kinds)
        if through and through[1].name == through[1].base:   # `y = y[::-1]` while another name keeps the old array
            write, view = through
            where = self.adj.location(view.stmt)
            raise UnsupportedSyntaxError(
                f"a write into `{view.name}`, bound to a view of its own array"
                f"{f' at line {where.line}' if where is not None else ''}, while another name still holds that array, "
                "in reverse mode", self.adj.location(write),
                f"Take a copy where `{view.name}` is bound to the view (`.copy()`), so the write does not change the "
                "array the other name holds.")
        if through:
            write, view = through
            raise UnsupportedSyntaxError(
                f"a write into `{view.name}`, which shares memory with the array `{view.base}`, in reverse mode",
                self.adj.location(write), f"Make `{view.name}` a copy (`.copy()`) before writing into it, or write "
                f"into `{view.base}` itself.")
        conflict = written_while_viewed(self.fn, self.kinds)
        if conflict:
            view, write = conflict
            header = loop_header_of(view.name, self.fn)
            if header:   # desugar bound the rows a loop iterates over: the user wrote no such name
                raise UnsupportedSyntaxError(
                    f"a write into `{view.base}` while the loop `{header}` iterates over its memory, in reverse mode",
                    self.adj.location(write), f"Loop over a copy (`.copy()` of what the loop iterates over), so "
                    f"writes into `{view.base}` do not change the rows still to come.")
            raise UnsupportedSyntaxError(
                f"a write into `{view.base}` while `{view.name}`, which shares its memory, is still used, in reverse mode",
                self.adj.location(write), f"Take a copy instead of a view (`{view.name} = ....copy()`) where "
                f"`{view.name}` is bound, so later writes into `{view.base}` do not change it.")


    def _value_from_reverse_loop(self, main, ret) -> bool:
        """Whether the function ends in a loop whose reverse may also compute the value: it records
        nothing, keeps the primal's order, and the returned names are the loop's own results."""
        if not main or not isinstance(main[-1], gast.For):
            return False
        loop = main[-1]
        plan = self.plan(loop)
        if plan.checkpoint or plan.inductions or plan.restored or plan.stored or plan.rows or plan.has_exit \
                or plan.forward_taped or self.checkpointing(loop):
            return False
        reverse = self.loop_reverse(loop)
        returned = syntax.loaded_names(ret.value)
        mutated = mutated_arrays(self.fn)
        return (len(reverse) == 1 and reverse[0].iter is not None and syntax.fingerprint(reverse[0].iter) == syntax.fingerprint(loop.iter)
                and returned <= bound_names(loop) and not (returned & mutated))

    def _split_inits(self, reverse):
        """The adjoint initializations that open the reverse sweep, and the rest."""
        adjoints = set(self.adj.bars.values())   # a set: asking the dict's values is a scan per statement
        k = 0
        while k < len(reverse) and isinstance(reverse[k], gast.Assign) and _is_init_of(reverse[k], adjoints):
            k += 1
        return reverse[:k], reverse[k:]

    def _captured(self, value):
        """The returned value as it is now: arrays the reverse sweep will write into (restoring
        overwritten elements) are copied, also inside a tuple-valued variable."""
        atoms = value.elts if isinstance(value, gast.Tuple) else [value]
        mutated = mutated_arrays(self.fn)
        copied = [self._snapshot(a, mutated) for a in atoms]
        return syntax.tuple_(copied) if isinstance(value, gast.Tuple) else copied[0]

    def _snapshot(self, atom, mutated):
        if not isinstance(atom, gast.Name) or not mutated:
            return atom
        kind = self.kinds.get(atom.id, K.UNKNOWN)
        if isinstance(kind, tuple):
            return syntax.tuple_([syntax.call("np.copy", syntax.subscript(syntax.name(atom.id), syntax.const(k)))
                                  if K.is_array(element) else syntax.subscript(syntax.name(atom.id), syntax.const(k))
                                  for k, element in enumerate(kind)])
        written = atom.id in mutated or self.shares.get(atom.id, set()) & mutated   # `result = w` too
        return syntax.call("np.copy", atom) if written else atom

    def _grad_of(self, param):
        if self.adj.is_tuple(param):
            return syntax.tuple_([syntax.name(n) for n in self.adj.element_adjoints(param)])
        return syntax.name(self.adj.adjoint(param))

    # ----- analyses --------------------------------------------------------------------------
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
        inits = []
        for var in names:
            made = self.adj.init(var)
            if home in self._loop_blocks:   # allocated per iteration: may reuse its buffer
                kind = self.kinds.get(var, K.UNKNOWN)
                primals = [(syntax.subscript(syntax.name(var), syntax.const(k)), item) for k, item in enumerate(kind)] \
                    if isinstance(kind, tuple) else [(syntax.name(var), kind)]
                for init, (value, item) in zip(made, primals):
                    if K.is_array(item) and K.ndim(item):
                        init.srcgrad_fresh_adjoint = (value, K.ndim(item))
            inits += made
        return inits

    def _old_shapes_needed(self) -> set:
        """(statement id, name) for each binding after which the name's adjoint must take the shape
        of the value the binding replaces, which may differ (a work name reused for another shape,
        a trajectory grown or a state shrunk in a loop): that value's adjoint is still to come."""
        shaped = {name for name in self.active if K.is_array(self.kinds.get(name, K.UNKNOWN))
                  or self.kinds.get(name, K.UNKNOWN) == K.UNKNOWN}   # a number's adjoint has no shape
        if not shaped:
            return set()
        order = linear_order(self.fn.body)
        binds = [s for s in order.statements if isinstance(s, gast.Assign) and not isinstance(s.targets[0], gast.Subscript)]
        reaching = reaching_definitions(self.fn.body, {}, {id(s) for s in binds},
                                        asked=lambda stmt: bound_names(stmt) & shaped)
        needed = set()
        for stmt in binds:
            for name in bound_names(stmt) & shaped:
                definitions = reaching[id(stmt)].get(name, {BEFORE})
                # a name that may be unbound here cannot be read (its value, or a loop's tape of it)
                unbound = BEFORE in definitions and name not in self.params
                if not unbound and any(self._replaces_live_value(order, stmt, name, d) for d in definitions):
                    needed.add((id(stmt), name))
        return needed

    def _replaces_live_value(self, order, stmt, name: str, definition) -> bool:
        """Whether `definition`'s value of `name`, which `stmt` replaces, has an adjoint still to be
        gathered: an argument, an earlier binding, or one from an earlier iteration of a loop inside
        the name's home (a loop whose iterations each start the adjoint afresh needs no shape)."""
        if definition == BEFORE:
            return name in self.params
        if order.position[definition] < order.position[id(stmt)]:
            return True
        common = [a for a, b in zip(order.loops[id(stmt)], order.loops[definition]) if a == b]
        return bool(common) and order.encloses(self.home_of.get(name, "function"), common[-1])

    def adjoint_reads(self, stmt) -> set[str]:
        """Primal variables the reverse code of `stmt` reads before writing them."""
        if id(stmt) not in self._reads:
            code = self.reverse_stmt(stmt, {})
            self._reads[id(stmt)] = upward_exposed(code) & self.primal_vars
            if _plain_assignment(stmt):   # the reverse sweep takes it as it is where nothing is saved
                self._built[id(stmt)] = code
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
            elif isinstance(stmt, gast.Assign):   # the bound names first: `needed` grows with the code
                bound = bound_names(stmt)
                clobbered = (bound & needed) | (bound & own & (syntax.loaded_names(stmt.value) | self._old_shape_of(stmt)))
            else:   # a branch or loop; one that rebinds an array it also writes into is saved too
                clobbered = bound_names(stmt) & needed
            result[id(stmt)] = sorted(clobbered)
            needed |= own
        self._saves[key] = result
        return result

    def _old_shape_of(self, stmt) -> set[str]:
        """The names `stmt` binds whose adjoint then takes their old value's shape."""
        return {name for name in bound_names(stmt) if (id(stmt), name) in self.adj.old_shapes}

    def _share(self, name: str, other: str) -> None:
        """`other = name` saves an array by reference: writes through either are writes into both,
        which dead-code elimination must see (a restored element is read through the saved name)."""
        if not K.is_scalar(self.kinds.get(name, K.UNKNOWN)):
            group = {name, other} | self.shares.get(name, set()) | self.shares.get(other, set())
            for member in group:
                self.shares[member] = group - {member}

    def saved_name(self, stmt, var: str, suffix: str = "saved") -> str:
        key = (id(stmt), var, suffix)
        if key not in self._saved:
            self._saved[key] = self.names.fresh(f"{var}_{suffix}")
        return self._saved[key]

    # ----- forward sweep ---------------------------------------------------------------------
    def forward_block(self, stmts, region: bool) -> list:
        """Primal code. `region`: its adjoint follows directly (the function body, or a replayed
        iteration): save clobbered values locally and checkpoint child loops. Otherwise the block
        is a loop body run ahead of time: log element writes for the loop to undo."""
        saves = self.saves(stmts) if region else {}
        outside = self._bound_outside
        bound = set(outside) if outside is not None else None   # names surely bound here, where known
        out = []
        for stmt in stmts:
            if region and _is_loop_exit(stmt):
                continue
            for v in saves.get(id(stmt), []):
                if bound is not None and v not in bound:
                    self._bind_first(v)
                out.append(syntax.assign(self.saved_name(stmt, v), syntax.name(v)))
                self._share(v, self.saved_name(stmt, v))
            self._bound_outside = bound if isinstance(stmt, gast.If) else None
            out += self.forward_stmt(stmt, region)
            self._bound_outside = outside
            if bound is not None:
                bound |= must_bind([stmt])
        return out

    def _bind_first(self, name: str) -> None:
        """Bind `name` at the top of the function to a value of its kind: a save before a statement
        that rebinds it may run where no earlier statement bound it (`if b > 0.5: t = ...` then
        `if b > 0.2: t = ...`), which Python's saved read would raise on. The save is dropped where
        nothing reads it, and this binding with it."""
        kind = self.kinds.get(name, K.UNKNOWN)
        if K.is_scalar(kind):
            value = syntax.const({K.FLOAT: 0.0, K.INT: 0, K.BOOL: False}[kind])
        elif K.is_array(kind) and K.ndim(kind) is not None:   # of floats, or of ints ("ia1": indices)
            value = syntax.call("np.empty", syntax.tuple_([syntax.const(0)] * K.ndim(kind)))
            if kind.startswith("ia"):
                value.args.append(syntax.attribute("np", "int64"))
        else:
            return
        if name not in self._bound_first:
            self._bound_first.add(name)
            self.hoisted.append(syntax.assign(name, value))

    def forward_stmt(self, stmt, region: bool) -> list:
        if id(stmt) in self._unreplayed:
            return []
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
            return self._forward_element_write(stmt, region)
        if isinstance(stmt, gast.If):
            return [syntax.if_(syntax.clone(stmt.test), self.forward_block(stmt.body, region),
                               self.forward_block(stmt.orelse, region))]
        if syntax.is_loop(stmt) and id(stmt) in self._forward_taped:
            return self.outputs_restored(stmt) if region else self.taped_in_forward_sweep(stmt)
        if syntax.is_loop(stmt) and id(stmt) in self._kept_runs and not region:
            return self.stored_in_forward_sweep(stmt)
        if syntax.is_loop(stmt):
            return self._checkpointed_loop(stmt) if region else [self._plain_loop(stmt)]
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
        if isinstance(copy, gast.Assign) and (isinstance(copy.value, gast.Subscript) and self._is_view(copy.value)
                                              or self._is_view_call(copy.value)):
            copy.value = syntax.call("np.copy", copy.value)
        return primal_calls(copy, self.adj.callee)

    def primal_header(self, loop):
        """A copy of `loop` whose test or iterator calls the primal copies of user functions."""
        copy = syntax.clone(loop)
        primal_calls(copy.test if isinstance(copy, gast.While) else copy.iter, self.adj.callee)
        return copy

    def _is_view_call(self, value) -> bool:
        """A call that may return a view of an array written later (np.diag of a matrix, np.ravel):
        numpy's view would change under the write, numba's copy would not; the copy is what the
        reverse sweep needs either way."""
        rule = getattr(value, "srcgrad_rule", None) if isinstance(value, gast.Call) else None
        return (rule is not None and rule.result == "view" and bool(value.args)
                and isinstance(value.args[0], gast.Name) and value.args[0].id in self.mutated)

    def _is_view(self, subscript) -> bool:
        array = syntax.base_name(subscript)
        if not isinstance(subscript.value, gast.Name) or array not in self.mutated:
            return False
        parts = syntax.index_parts(subscript)
        return any(isinstance(p, gast.Slice) for p in parts) or K.ndim(self.kinds.get(array)) != len(parts)

    def _plain_loop(self, loop):
        copy = self.primal_header(loop)
        copy.body = self.forward_block(loop.body, region=False) or [gast.Pass()]
        return copy

    def _forward_element_write(self, stmt, region: bool) -> list:
        target = stmt.targets[0]
        array = syntax.base_name(target)
        if array not in self.read_arrays:
            return [syntax.clone(stmt)]
        old = syntax.subscript(syntax.name(array), syntax.clone(target.slice))
        if not K.selects_element(target, self.kinds):
            old = syntax.call("np.copy", old)
        if region:
            return [syntax.assign(self.saved_name(stmt, array, "old"), old), syntax.clone(stmt)]
        if array not in self._logging or id(stmt) in self._unlogged:
            return [syntax.clone(stmt)]
        values, indices = self._write_log(array)
        log = [_tape(gast.Expr(value=syntax.call(gast.Attribute(value=syntax.name(indices), attr="append", ctx=gast.Load()),
                                                  syntax.clone(p)))) for p in index_atoms(target)]
        log.append(_tape(gast.Expr(value=syntax.call(gast.Attribute(value=syntax.name(values), attr="append", ctx=gast.Load()), old))))
        return log + [syntax.clone(stmt)]

    def _write_log(self, array: str):
        if ("log", array) not in self._tapes:
            values, indices = self.names.fresh(f"{array}_log"), self.names.fresh(f"{array}_log_index")
            self.hoisted += [_tape(syntax.assign(values, gast.List(elts=[], ctx=gast.Load()))),
                             _tape(syntax.assign(indices, gast.List(elts=[], ctx=gast.Load())))]
            self._tapes[("log", array)] = (values, indices)
        return self._tapes[("log", array)]

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
            before = {v: self.saved_name(stmt, v) for v in saves.get(id(stmt), [])
                      if v in syntax.loaded_names(stmt.value) | self._old_shape_of(stmt)}
            built = self._built.pop(id(stmt), None)
            return built if built is not None and not before else self.adj.statement(stmt, before)
        if isinstance(stmt, gast.If):
            body, orelse = self.reverse_block(stmt.body), self.reverse_block(stmt.orelse)
            if not body and not orelse:
                return []
            return [syntax.if_(syntax.clone(stmt.test), body or [gast.Pass()], orelse)]
        if syntax.is_loop(stmt):
            return self.loop_reverse(stmt)
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


def _without_unused_tapes(code: list) -> list:
    """`code` without the empty tape lists nothing else mentions (the index list of a log whose
    writes are whole slices, `u[:] = new`, which have no index to push): numba cannot type a list
    no statement appends to, and refused the whole derivative."""
    declared = {id(s): s.targets[0].id for s in code if getattr(s, "srcgrad_tape", False) and isinstance(s, gast.Assign)
                and isinstance(s.targets[0], gast.Name) and isinstance(s.value, gast.List) and not s.value.elts}
    if not declared:
        return code
    mentions = Counter(n.id for n in syntax.nodes_in(code) if isinstance(n, gast.Name) and n.id in declared.values())
    return [s for s in code if id(s) not in declared or mentions[declared[id(s)]] > 1]


def _plain_assignment(stmt) -> bool:
    """`y = op(...)`: one name bound by an operation that is not a call of a user function."""
    return (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
            and getattr(stmt.value, "srcgrad_user", None) is None)


def _is_init_of(stmt, adjoints: set[str]) -> bool:
    target = stmt.targets[0]
    return isinstance(target, gast.Name) and target.id in adjoints


_TIDY_ROUNDS = 3   # dead-code elimination and undone-write removal, alternating


def _statements(code: list) -> int:
    """How many statements `code` holds at any depth."""
    return len(syntax.statements_in(code))


def reuse_adjoint_buffers(code: list) -> list:
    """An array adjoint a loop body allocates afresh each iteration (`z_bar = np.zeros(z.shape)`, or
    an array element's of a tuple: `pair_bar_0 = np.zeros(pair[0].shape)`) takes the previous
    iteration's buffer instead, zeroed, when the shape is the same
    (`z_bar = zeroed_like(z_bar, z)`; bound once before the first iteration): one allocation per
    loop instead of one per iteration. Only for adjoints no other name can hold: never bound to
    another name, passed on or returned, so zeroing the buffer touches nothing else."""
    inits = [stmt for stmt in _statements_breadth_first(code) if getattr(stmt, "srcgrad_fresh_adjoint", None)]
    if not inits:
        return code   # straight-line code: no need to find which names escape
    escaping = _escaping_names(code)
    hoisted, done = [], set()
    for init in inits:
        value, rank = init.srcgrad_fresh_adjoint   # the primal (`z`, or `pair[0]` for a tuple's element)
        bar = init.targets[0].id
        if bar in escaping:
            continue
        init.value = syntax.call("zeroed_like", syntax.name(bar), syntax.clone(value))
        if bar not in done:
            done.add(bar)
            # empty, as it has no elements: numba types np.empty in a hundredth of a second, and
            # np.zeros of a literal shape in a tenth, in each process
            hoisted.append(scratch_buffer(syntax.assign(bar, syntax.call("np.empty", syntax.tuple_([syntax.const(0)] * rank)))))
    if hoisted:
        hoisted.insert(0, syntax.comment("adjoint buffers each loop iteration zeroes and reuses"))
    return hoisted + code


def _statements_breadth_first(code: list):
    """The statements inside each of `code`'s statements, in the order ast.walk meets them (a
    statement's blocks are its direct children, body before orelse), without visiting expressions."""
    for top in code:
        level = [top]
        while level:
            yield from level
            level = [inner for stmt in level for block in syntax.child_blocks(stmt) for inner in block]


def _escaping_names(code: list) -> set[str]:
    """Names whose array may be held by another name: the whole value of a binding of another
    name (directly or as a call argument, which may return it), returned, or bound from another."""
    escaping = set()
    for node in (n for stmt in code for n in syntax.walk(stmt)):
        if isinstance(node, gast.Return) and node.value is not None:
            escaping |= syntax.loaded_names(node.value)
        if isinstance(node, gast.Assign):
            targets = syntax.stored_names([node])
            if isinstance(node.targets[0], gast.Subscript):
                continue   # an element write copies values
            # a function called, a name indexed or measured: values or a size, not the array
            passive = {id(n) for c in syntax.walk(node.value) if isinstance(c, gast.Call) for n in syntax.walk(c.func)}
            passive |= measured(node.value) | {id(n.value) for n in syntax.walk(node.value) if isinstance(n, gast.Subscript)}
            reads = {n.id for n in syntax.walk(node.value) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)
                     and id(n) not in passive}
            escaping |= (reads - targets) | (targets if reads - targets else set())
    return escaping

