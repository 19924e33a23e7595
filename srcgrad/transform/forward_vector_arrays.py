"""Vector forward mode for array code: all m directions in one pass, each array tangent carrying
the directions in which it may be nonzero.

After this pass `jvp_all_f(*args, *seeds)` takes and returns what forward_vector.py's functions do
(each seed and the output's tangent hold the m directions on a last axis), for functions whose
differentiated values are floats and arrays of any rank. Inside, a float's tangent `dx` is a
length-m vector and an array's tangent `dx` holds the directions on its first axis, beside
`dx_live`, one boolean per direction: where it is False the tangent is zero in that direction
and `dx` holds anything. Each statement runs once; its tangent rule then runs per direction, only
where an operand is live. A Jacobian costs one primal pass plus, per value, the tangent work of the
directions that reach it: each of a hand model's pose angles moves the few bones of one finger
(GradBench ht), and a bone's 10,000-vertex skinning product runs for those angles only.

Views mirror the primal: `y = x`, `y = x[i]` and `y = x.T` make `dy` that view of `dx`, sharing its
mask (other views, such as reshapes, of arrays the function writes are refused), and a
write into a dead direction first zeroes that whole direction of the array written. It works on
the scalarized function (1-D operations are element loops of float statements by then; rank 2 and
up stay whole), and the direction loops of consecutive statements merge into one where no
statement in between depends on them. Functions without an operation on differentiated arrays
(one pass per direction keeps each tangent in a register there), and those outside what this
handles, raise NotVectorizable; jacfwd then runs one pass per direction.
"""
from __future__ import annotations

from collections import Counter
from itertools import combinations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.aliasing import sharing, writes_through_views
from ..rules.registry import BilinearRule, ElementwiseRule, InactiveRule, LinearRule, StructuralRule
from .common import op_rule
from .forward import ForwardTransform
from .loop_buffers import reuse_loop_buffers
from .direction_locals import localize_float_tangents
from .forward_vector import NotVectorizable

_HANDLED_RULES = (ElementwiseRule, LinearRule, BilinearRule, StructuralRule, InactiveRule)
MOST_ARRAY_OPERANDS = 2   # live-or-dead cases per direction grow as 2^k


class ArrayVectorForwardTransform(ForwardTransform):
    """Forward mode over m directions at once, for code on floats and arrays."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.direction = self.names.fresh("direction")
        self.count = self.names.fresh("directions")
        self.dead: set = set()   # operands taken as zero in the case being written
        self.masks: dict = {}    # array tangent -> the name of its mask
        self.shared: dict = {}   # name -> the names that may share its memory (set by the checks)
        self.accumulated_products: dict = {}   # id of `p = a * b` a running total takes next -> (constant, active)
        self.deferred: dict = {}   # product -> (its tangent's statements, the constant factor, the active one)

    def run(self, function_name: str) -> gast.FunctionDef:
        params = syntax.param_names(self.fn)
        self._check_function(params)
        seeds, entry = [], []
        for k in self.wrt:
            name = params[k]
            if self.kinds[name] == K.FLOAT:
                seeds.append(self.tangent(name))
                continue
            seed = self.names.fresh(self.tangent(name) + "_seed")
            seeds.append(seed)
            entry += [syntax.assign(self.tangent(name), syntax.call("directions_first", syntax.name(seed))),
                      syntax.assign(self.live(name), syntax.call("seeded_directions", syntax.name(self.tangent(name))))]
        first = seeds[0]
        count = syntax.assign(self.count, syntax.subscript(
            gast.Attribute(value=syntax.name(first), attr="shape", ctx=gast.Load()), syntax.const(-1)))
        differentiated = {params[k] for k in self.wrt}
        floats = [syntax.assign(self.tangent(v), syntax.call("np.zeros", syntax.name(self.count)))
                  for v in sorted(self.active) if not self._is_array(v) and v not in differentiated]
        later_active = [p for p in params if p in self.active and p not in differentiated and self._is_array(p)]
        zeros = [z for p in later_active for z in self._zero_tangent(p)]
        body = [count] + entry + floats + zeros + self.block(self.fn.body)
        generated = syntax.function(function_name, params + seeds, body)
        reuse_loop_buffers(generated, self.kinds)
        localize_float_tangents(generated, self.direction, {f.targets[0].id for f in floats})
        return generated

    def live(self, name: str) -> str:
        return self._live_of(self.tangent(name))

    def _live_of(self, tangent: str) -> str:
        """The mask beside an array tangent: `dx_live`."""
        if tangent not in self.masks:
            self.masks[tangent] = self.names.derived(tangent, suffix="_live")
        return self.masks[tangent]

    def _is_array(self, name: str) -> bool:
        return K.is_array(self.kinds.get(name))

    def block(self, stmts) -> list:
        self.accumulated_products.update(self._products_added_next(stmts))
        return _fused(super().block(stmts), self.direction, self.shared)

    def _products_added_next(self, stmts: list) -> dict:
        """`p = a * b`, one factor a differentiated array and the other constant, followed at once
        by `x = x + p`, the only read of p: the running total takes the product's tangent in one
        pass (`add_product_into`) instead of through a buffer for p's. id -> (constant, active)."""
        loads = None
        found = {}
        for stmt, after in zip(stmts, stmts[1:]):
            factors = self._constant_and_active(stmt)
            if factors is None or not isinstance(after, gast.Assign) or not isinstance(after.targets[0], gast.Name):
                continue
            product, total = stmt.targets[0].id, after.targets[0].id
            if not (isinstance(after.value, gast.BinOp) and isinstance(after.value.op, gast.Add)
                    and self._added_to(total, after.value) == product and self._is_array(total)):
                continue
            if loads is None:
                loads = Counter(n.id for n in syntax.walk(self.fn) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load))
            if loads[product] == 1 and not self.shared.get(product):
                found[id(stmt)] = factors
        return found

    def _constant_and_active(self, stmt):
        """(constant factor, active factor) of `p = a * b` with p an active array; else None."""
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and stmt.targets[0].id in self.active and self._is_array(stmt.targets[0].id)
                and isinstance(stmt.value, gast.BinOp) and isinstance(stmt.value.op, gast.Mult)):
            return None
        left, right = stmt.value.left, stmt.value.right
        for constant, active in ((left, right), (right, left)):
            if (isinstance(active, gast.Name) and active.id in self.active and self._is_array(active.id)
                    and not (syntax.loaded_names(constant) & self.active)):
                return constant, active.id
        return None

    # ----- which functions qualify --------------------------------------------------------
    def _check_function(self, params) -> None:
        for k in self.wrt:
            kind = self.kinds.get(params[k])
            if not (kind == K.FLOAT or (K.is_array(kind) and not kind.startswith("i") and K.ndim(kind) is not None)):
                raise NotVectorizable(f"argument {params[k]} is neither a float nor a float array of known rank")
        for name in self.active:
            kind = self.kinds.get(name)
            if not (kind in (K.FLOAT, K.INT) or (K.is_array(kind) and K.ndim(kind) is not None)):
                raise NotVectorizable(f"{name} is neither a number nor an array of known rank")
        self.shared = sharing(self.fn.body, self.kinds)
        if writes_through_views(self.fn, self.kinds) is not None:
            raise NotVectorizable("a write through a second name for an array")
        if any(self._copied_view_of_written(node) for node in syntax.walk(self.fn) if isinstance(node, gast.Assign)):
            raise NotVectorizable("a reshaped view of an array written while it is in use")
        array_work = False
        for node in syntax.walk(self.fn):
            if isinstance(node, gast.Return) and isinstance(node.value, gast.Tuple):
                raise NotVectorizable("the function returns a tuple")
            if isinstance(node, gast.Assign):
                self._check_assign(node)
                array_work = array_work or self._is_array_work(node)
        if not array_work:
            # floats and element reads and writes: one pass per direction keeps each tangent in a
            # register, where this form keeps m of them in memory (an RK4 SEIR model with its state
            # held as scalars: 4 passes 0.28 ms, one vector pass 0.71 ms)
            raise NotVectorizable("no array operation on differentiated arrays")

    def _check_assign(self, stmt) -> None:
        target, value = stmt.targets[0], stmt.value
        read = syntax.loaded_names(value) & self.active
        if not read:
            return
        if isinstance(target, gast.Tuple):
            raise NotVectorizable("tuple unpacking of differentiated values")
        if isinstance(value, gast.Call) and getattr(value, "srcgrad_user", None) is not None:
            # whatever its result's activity: the call of the callee's jvp is written for any
            # differentiated argument, and has no one-direction form (908:989:0)
            raise NotVectorizable("a call to a user function")
        if syntax.base_name(target) not in self.active:
            return
        if isinstance(value, gast.Subscript) and any(self.kinds.get(n) == K.BOOL for n in syntax.loaded_names(value.slice)):
            raise NotVectorizable("an array indexed by a condition (a mask, whose rank the kinds do not carry)")
        if isinstance(value, (gast.Name, gast.Subscript)):
            return
        rule = op_rule(value) or getattr(value, "srcgrad_rule", None)
        if not isinstance(rule, _HANDLED_RULES):
            raise NotVectorizable(f"an operation without a one-direction tangent rule: {gast.unparse(value).strip()} ({type(rule).__name__})")
        if len([n for n in read if self._is_array(n)]) > MOST_ARRAY_OPERANDS:
            raise NotVectorizable("an operation on more than two differentiated arrays")

    def _copied_view_of_written(self, stmt) -> bool:
        """A view made by a function (`reshape`, `np.squeeze`) of an array some statement writes
        into: its tangent is computed per direction into a buffer of its own, which would miss
        the writes the primal view sees (`y = x`, `y = x[i]` and transposes mirror the primal's)."""
        target, value = stmt.targets[0], stmt.value
        if not (isinstance(target, gast.Name) and target.id in self.active and isinstance(value, gast.Call)
                and getattr(getattr(value, "srcgrad_rule", None), "result", None) == "view" and not _is_transpose(value)):
            return False
        return bool(({target.id} | self.shared.get(target.id, set())) & self.mutated)

    def _is_array_work(self, stmt) -> bool:
        """An operation on differentiated arrays whose result is an array: the work one pass
        shares across directions, and whose tangent may be dead in most of them."""
        target, value = stmt.targets[0], stmt.value
        return (isinstance(target, gast.Name) and target.id in self.active and self._is_array(target.id)
                and isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Call))
                and any(self._is_array(n) for n in syntax.loaded_names(value) & self.active))

    # ----- one direction's tangents ---------------------------------------------------------
    def tangent_of(self, atom) -> gast.AST:
        """Direction `direction` of an operand's tangent; zero when it is inactive or dead in the
        case being written."""
        if isinstance(atom, gast.Name) and atom.id in self.active and atom.id not in self.dead:
            return self._slot(atom.id)
        return self.zeros.like(atom)

    def _slot(self, name: str, index: list | None = None):
        parts = [syntax.name(self.direction)] + [syntax.clone(p) for p in index or []]
        return syntax.subscript(syntax.name(self.tangent(name)), parts[0] if len(parts) == 1 else syntax.tuple_(parts))

    def _each_direction(self, body: list) -> gast.For:
        return syntax.for_range(self.direction, [syntax.name(self.count)], body)

    def _is_live(self, name: str):
        """Whether `name`'s tangent may be nonzero in direction `direction`."""
        if self._is_array(name):
            return syntax.subscript(syntax.name(self.live(name)), syntax.name(self.direction))
        return gast.Compare(left=self._slot(name), ops=[gast.NotEq()], comparators=[syntax.const(0.0)])

    def _aliases_operand(self, tangent, value) -> bool:
        return False   # each direction is assigned into its slot: a copy already

    # ----- statements ----------------------------------------------------------------------
    def _zero_tangent(self, name: str) -> list:
        if not self._is_array(name):
            return [self._each_direction([syntax.assign(self._slot(name), syntax.const(0.0))])]
        return [syntax.assign(self.tangent(name), syntax.call("direction_buffer", syntax.name(self.count), syntax.name(name))),
                syntax.assign(self.live(name), syntax.call("np.zeros", syntax.name(self.count), syntax.dotted("np.bool_")))]

    def _differentiate(self, stmt, name, value, positions) -> list:
        if self._is_array(name) and self._mirrors(value):
            return [stmt] + self._view(name, value)
        self._result_kind = self.kinds.get(name, K.UNKNOWN)
        read = sorted(syntax.loaded_names(value) & self.active)
        overwrites = name in read
        result = self.names.fresh(name + "_new") if overwrites else name
        primal = syntax.assign(result, stmt.value) if overwrites else stmt   # the statement itself keeps its location
        if self._is_array(name):
            target = self.names.fresh(self.tangent(name) + "_new") if overwrites else self.tangent(name)
            tangent = self._array_tangent(target, result, value, positions, read)
            if overwrites:
                tangent += [syntax.assign(self.tangent(name), syntax.name(target)),
                            syntax.assign(self.live(name), syntax.name(self._live_of(target)))]
            if id(stmt) in self.accumulated_products:   # written where the running total takes it
                self.deferred[name] = (tangent, *self.accumulated_products[id(stmt)])
                return [primal]
            added = self._added_to(name, value)
            if added is not None:
                tangent = self._accumulated(name, result, value, added, tangent)
            out = [primal] + tangent
        else:
            out = [primal] + [self._each_direction(self._float_cases(name, result, value, positions, read))]
        if overwrites:
            out.append(syntax.assign(name, syntax.name(result)))
        return out

    def _added_to(self, name: str, value):
        """The array added to (or taken from) a running total `name = name + y` whose tangent no
        other name shares: its tangent can then be updated in place (GradBench ht sums 22 bones'
        skinned vertices so, each moved by a few directions only)."""
        if not (isinstance(value, gast.BinOp) and isinstance(value.op, (gast.Add, gast.Sub))
                and isinstance(value.left, gast.Name) and value.left.id == name
                and isinstance(value.right, gast.Name) and value.right.id in self.active and value.right.id != name):
            return None
        return None if self.shared.get(name) else value.right.id

    def _accumulated(self, name: str, result: str, value, added: str, otherwise: list) -> list:
        """`dx[d] += dy[d]` in the directions where y is live, when the sum keeps x's shape; for a
        product y = c * a taken here (see _products_added_next), `dx[d] += c * da[d]`."""
        slot = self._slot(name)
        if added in self.deferred:
            product_tangent, constant, active = self.deferred.pop(added)
            otherwise = product_tangent + otherwise
            into = lambda helper: gast.Expr(value=syntax.call(helper, syntax.clone(slot), syntax.clone(constant),
                                                              self._slot(active)))
            update = syntax.if_(self._is_live(name), [into("add_product_into")],
                                [into("multiply_into"), syntax.assign(self._is_live(name), syntax.const(True))])
            in_place = self._each_direction([syntax.if_(self._is_live(active), [update])])
            return [syntax.if_(self._same_shape(result, name), [in_place], otherwise)]
        added_slot = self._slot(added)
        if isinstance(value.op, gast.Sub):
            added_slot = syntax.neg(added_slot)
        total = syntax.call(_UFUNCS[type(value.op)], syntax.clone(slot), self._slot(added), syntax.clone(slot))
        update = syntax.if_(self._is_live(name), [gast.Expr(value=total)],
                            [syntax.assign(syntax.clone(slot), added_slot),
                             syntax.assign(self._is_live(name), syntax.const(True))])
        in_place = self._each_direction([syntax.if_(self._is_live(added), [update])])
        return [syntax.if_(self._same_shape(result, name), [in_place], otherwise)]

    @staticmethod
    def _same_shape(a: str, b: str) -> gast.Compare:
        return gast.Compare(left=gast.Attribute(value=syntax.name(a), attr="shape", ctx=gast.Load()),
                            ops=[gast.Eq()], comparators=[gast.Attribute(value=syntax.name(b), attr="shape", ctx=gast.Load())])

    def _mirrors(self, value) -> bool:
        """`x`, a view `x[i]`, `x[a:b]` or the transpose of an active array: the tangent is the
        same view of dx."""
        if isinstance(value, gast.Name):
            return self._is_array(value.id)
        if _is_transpose(value):
            return self._is_array(value.args[0].id) and K.ndim(self.kinds.get(value.args[0].id)) is not None
        return (isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) and self._is_array(value.value.id)
                and not K.selects_by_array(value.slice, self.kinds, if_unknown=True))

    def _view(self, name: str, value) -> list:
        base = value.args[0] if _is_transpose(value) else value if isinstance(value, gast.Name) else value.value
        tangent = syntax.name(self.tangent(base.id))
        if isinstance(value, gast.Subscript):
            every = gast.Slice(lower=None, upper=None, step=None)
            tangent = syntax.subscript(tangent, syntax.tuple_([every] + [syntax.clone(p) for p in syntax.index_parts(value)]))
        elif _is_transpose(value):   # the directions stay first; numba's transpose by axes takes 1.5 s to compile
            tangent = syntax.call("transposed_directions", tangent)
        return [syntax.assign(self.tangent(name), tangent),
                syntax.assign(self.live(name), syntax.name(self.live(base.id)))]

    def _array_tangent(self, target: str, result: str, value, positions, read) -> list:
        live = self._live_of(target)
        cases = self._cases(read, lambda expr: [
            self._written(syntax.subscript(syntax.name(target), syntax.name(self.direction)), expr),
            syntax.assign(syntax.subscript(syntax.name(live), syntax.name(self.direction)),
                          syntax.call("may_be_nonzero", syntax.subscript(syntax.name(target), syntax.name(self.direction))))],
            result, value, positions, otherwise=[])
        return [syntax.assign(target, syntax.call("direction_buffer", syntax.name(self.count), syntax.name(result))),
                syntax.assign(live, syntax.call("np.zeros", syntax.name(self.count), syntax.dotted("np.bool_"))),
                self._each_direction(cases)]

    def _written(self, slot, expr):
        """`slot = expr`, where a product, expr's last operation, writes straight into the slot
        (matmul_into, multiply_into) rather than into a temporary that is then copied; any other
        expression is copied in by `copy_into`, not numba's slice assignment (slice_updates.py says
        why: seconds of compile)."""
        if isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.MatMult) \
                and K.ndim(self._atom_kind(expr.left)) == 2 and K.ndim(self._atom_kind(expr.right)) in (1, 2):
            return gast.Expr(value=syntax.call("matmul_into", slot, expr.left, expr.right))
        if isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Mult):
            return gast.Expr(value=syntax.call("multiply_into", slot, expr.left, expr.right))
        return gast.Expr(value=syntax.call("copy_into", slot, expr))

    def _atom_kind(self, node):
        """The kind of one direction of a tangent (`dx[direction]`) or of a primal name."""
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) \
                and isinstance(node.slice, gast.Name) and node.slice.id == self.direction:
            return next((self.kinds.get(n) for n, tangent in self.tangents.items() if tangent == node.value.id), K.UNKNOWN)
        return K.of_atom(node, self.kinds) if isinstance(node, gast.Name) else K.UNKNOWN

    def _float_cases(self, name, result, value, positions, read) -> list:
        slot = self._slot(name)
        return self._cases(read, lambda expr: [syntax.assign(syntax.clone(slot), expr)], result, value, positions,
                           otherwise=[syntax.assign(syntax.clone(slot), syntax.const(0.0))])

    def _cases(self, read, write, result, value, positions, otherwise) -> list:
        """An if/elif chain over which of the array operands are live in this direction, each case
        writing the tangent with the dead ones left out; floats are exact and always taken."""
        arrays = [n for n in read if self._is_array(n)]
        floats = [n for n in read if not self._is_array(n)]
        chain = None
        subsets = [set(c) for size in range(len(arrays), 0, -1) for c in combinations(arrays, size)]
        if floats:
            subsets.append(set())
        for live in reversed(subsets):
            self.dead = set(arrays) - live
            body = write(self._tangent(result, value, positions))
            self.dead = set()
            test = _all([self._is_live(n) for n in sorted(live)])
            if test is None:   # only floats: the last case
                chain = body
            else:
                chain = [syntax.if_(test, body, chain if chain is not None else otherwise)]
        return chain if chain is not None else otherwise

    def _tangent(self, result, value, positions):
        kept = [k for k in positions if not (syntax.loaded_names(_operand(value, k)) <= self.dead)]
        _, tangent = self.tangent_expr(result, value, kept)
        return tangent

    def _element_write(self, stmt, target, value) -> list:
        array = syntax.base_name(target)
        if array not in self.active:
            return [stmt]
        slot = self._slot(array, syntax.index_parts(target))
        revive = syntax.Expr(value=syntax.call("revive", syntax.name(self.tangent(array)), syntax.name(self.live(array)),
                                               syntax.name(self.direction)))
        array_live = self._is_live(array)
        if not (isinstance(value, gast.Name) and value.id in self.active):
            cases = [syntax.if_(array_live, [syntax.assign(slot, self.zeros.like(value))])]
        elif not self._is_array(value.id):
            # a float's tangent is exact (0.0 where dead): a live array takes it as it is, and only
            # a dead one tests it (one test per element and direction, and no call, where the
            # array is live: ht's residuals, 28 directions of 3 coordinates per point)
            cases = [syntax.if_(array_live, [syntax.assign(slot, self._slot(value.id))],
                                [syntax.if_(self._is_live(value.id), [revive, syntax.assign(syntax.clone(slot),
                                                                                            self._slot(value.id))])])]
        else:
            write = [revive, syntax.assign(syntax.clone(slot), self._slot(value.id))]
            cases = [syntax.if_(self._is_live(value.id), write,
                                [syntax.if_(syntax.clone(array_live), [syntax.assign(syntax.clone(slot), syntax.const(0.0))])])]
        return [stmt, self._each_direction(cases)]

    def return_(self, stmt):
        value = stmt.value
        if isinstance(value, gast.Name) and value.id in self.active:
            if self._is_array(value.id):
                tangent = syntax.call("directions_last", syntax.name(self.tangent(value.id)), syntax.name(self.live(value.id)))
            else:
                tangent = syntax.name(self.tangent(value.id))
            return syntax.return_(syntax.tuple_([value, tangent]))
        shape = syntax.name(self.count)
        if isinstance(value, gast.Name) and self._is_array(value.id):
            shape = syntax.binop(gast.Attribute(value=syntax.name(value.id), attr="shape", ctx=gast.Load()), "+",
                                 syntax.tuple_([shape]))
        return syntax.return_(syntax.tuple_([value, syntax.call("np.zeros", shape)]))


# a running total's update in place, through the ufunc's output argument (no temporary)
_UFUNCS = {gast.Add: "np.add", gast.Sub: "np.subtract"}


def _is_transpose(value) -> bool:
    """`np.transpose(x)` of a name, all axes reversed (`x.T` arrives so)."""
    rule = getattr(value, "srcgrad_rule", None)
    return (isinstance(value, gast.Call) and rule is not None and rule.name == "np.transpose" and len(value.args) == 1
            and not value.keywords and isinstance(value.args[0], gast.Name))


def _operand(value, k: int):
    if isinstance(value, gast.BinOp):
        return [value.left, value.right][k]
    if isinstance(value, gast.UnaryOp):
        return value.operand
    if isinstance(value, gast.Call):
        return value.args[k]
    return value


def _all(tests: list):
    if not tests:
        return None
    return tests[0] if len(tests) == 1 else gast.BoolOp(op=gast.And(), values=tests)


def _fused(stmts: list, direction: str, shared: dict) -> list:
    """One loop over the directions for each run of statements: a statement between two direction
    loops moves before the first when neither reads what the other binds, and the loops merge.
    A loop per statement costs its overhead per statement, and a long function of them passes
    numba's limit on blocks (an RK4 step of a 4-state model: hundreds)."""
    out, loop, reads, writes = [], None, set(), set()
    for stmt in stmts:
        if _is_direction_loop(stmt, direction):
            if loop is None:
                out.append(stmt)
                loop, reads, writes = stmt, set(), set()
            else:
                loop.body.extend(stmt.body)
            reads |= syntax.loaded_names(stmt.body)
            writes |= syntax.stored_names(stmt.body)
        elif loop is not None and _independent(stmt, reads, writes, shared):
            out.insert(len(out) - 1, stmt)
        else:
            out.append(stmt)
            loop = None
    return out


def _is_direction_loop(stmt, direction: str) -> bool:
    return (isinstance(stmt, gast.For) and isinstance(stmt.target, gast.Name) and stmt.target.id == direction
            and not stmt.orelse)


def _independent(stmt, reads: set, writes: set, shared: dict) -> bool:
    """Whether `stmt` may run before a loop that reads `reads` and binds or writes into `writes`;
    a write into an array counts as a write into every name that may share its memory."""
    if not (isinstance(stmt, gast.Assign) or syntax.is_comment(stmt)):
        return False   # a call made for its effect may write into what the loop reads
    bound = syntax.stored_names(stmt)
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
        bound = bound | shared.get(syntax.base_name(stmt.targets[0]), set())
    return not (bound & (reads | writes)) and not (syntax.loaded_names(stmt) & writes)
