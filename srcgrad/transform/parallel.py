"""Parallel loops (target="parallel"): a loop the user wrote with `prange` runs as a `prange` loop in
the generated code too, forward and reverse.

After this pass, each outermost loop marked `srcgrad_parallel` (resolve marks the user's prange
loops; reverse mode keeps the mark where the iterations' adjoints commute) that is safe to split
is a `prange` loop in a function of its own, decorated `parallel_jit`, which the generated
function calls in the loop's place; every other marked loop runs in order, under a comment saying
so, which is always correct. Safe: a unit-step range with no early exit, no tape pushes or pops,
no arithmetic on whole arrays, and only sums carried from one iteration to the next or read after
the loop. Shared arrays it accumulates into (`w_bar[j] += ...`, the adjoint of a parameter every
iteration reads) get one private array per part of the range, summed after the loop, since
numba's prange reduces scalars and whole arrays but not array elements. Writes indexed by the
loop's own index (`x_bar[i] += ...`) touch one iteration's elements and stay as they are.

On target="cuda" (`device=True`) a safe loop becomes a CUDA kernel instead (transform/kernels.py),
launched from the host function in the loop's place. A loop that is not safe, or whose scratch
arrays change size within it, is refused (`refuse`): the host cannot run it.
"""
from __future__ import annotations

from dataclasses import dataclass

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.dataflow import bound_names, only_summed, sum_into, upward_exposed
from ..emit.module import MODULE_NAMES, RUNTIME_HELPERS
from ..normalize.names import NameGenerator
from ..rules.template import simplify
from .common import primal_candidates, primal_kind
from .kernels import NotAKernel, allocate_on_device, loop_kernel


def parallelize(fn, names: NameGenerator, kinds: dict, module_names: NameGenerator, device: bool = False,
                refuse=None) -> list:
    """Make the safe parallel loops of generated function `fn` prange loops, each moved into a
    function of its own (compiled with numba's parallel=True, which then sees only that loop);
    returns those functions. `kinds`: the primal function's kinds (which names hold arrays).
    `device`: make them CUDA kernels instead, calling `refuse(reason)` for a loop that cannot be one."""
    buffers = {stmt.targets[0].id: stmt for stmt in fn.body if getattr(stmt, "srcgrad_buffer", False)}
    context = _Context(names, buffers, _array_names(fn, kinds), module_names, fn.name, [], kinds, device, refuse)
    _parallelize_block(fn.body, context, [])
    if device:
        allocate_on_device(fn)
        unused = set(buffers) - syntax.names_in([stmt for stmt in fn.body if not getattr(stmt, "srcgrad_buffer", False)])
        fn.body = [stmt for stmt in fn.body if not (getattr(stmt, "srcgrad_buffer", False) and stmt.targets[0].id in unused)]
    return context.outlined


@dataclass
class _Context:
    names: NameGenerator
    buffers: dict     # scratch buffer -> the statement that binds it before the loops
    arrays: set       # names that hold arrays
    module_names: NameGenerator
    function: str     # the name of the function the loops are in
    outlined: list    # the functions made so far, one per parallel loop
    kinds: dict       # the primal function's kinds
    device: bool      # loops become CUDA kernels
    refuse: object    # on the device: called with the reason a loop cannot be a kernel


def _parallelize_block(block: list, context: _Context, after: list) -> None:
    """`after`: what runs once `block` is done, innermost first: ("then", statements) or ("loop", body)."""
    k = 0
    while k < len(block):
        stmt = block[k]
        following = [("then", block[k + 1:])] + after
        live_after = _live_after(following)
        # scratch buffers the loop uses and nothing reads after it: one per part of the range
        private = {b: init for b, init in context.buffers.items() if b in syntax.names_in(stmt) and b not in live_after}
        marked = getattr(stmt, "srcgrad_parallel", False)
        reason = _why_in_order(stmt, context, private, live_after) if marked else None
        if marked and reason is None:
            sums = sorted((bound_names(stmt) - {stmt.target.id}) & live_after)
            try:
                launch = _launched_kernel(stmt, sums, private, context) if context.device else \
                    [_outline(_parallel_loop(stmt, context.names, private, context.kinds), sums, context)]
            except NotAKernel as exc:
                reason = (f"it keeps per-iteration values in scratch arrays ({', '.join(exc.args[0])}) whose size changes "
                          "within the loop, which a CUDA thread cannot allocate")
            else:
                block[k:k + 1] = launch
                k += len(launch)
                continue
        if marked:
            if context.device:
                context.refuse(reason)
            block.insert(k, syntax.comment(f"a prange loop run in order: {reason}"))
            k += 1
        inner = ([("loop", stmt.body)] if syntax.is_loop(stmt) else []) + following
        for child in syntax.child_blocks(stmt):
            _parallelize_block(child, context, inner)
        k += 1


def _outline(stmts: list, sums: list, context: _Context):
    """A function running `stmts` (the parallel loop) and returning the `sums` it adds to; the
    statement that calls it in its place."""
    nodes = [n for stmt in stmts for n in syntax.walk(stmt)]
    called = {id(n.func) for n in nodes if isinstance(n, gast.Call)}
    functions = {n.id for n in nodes if id(n) in called and isinstance(n, gast.Name)}
    params = sorted(upward_exposed(stmts) - functions - MODULE_NAMES)
    name = context.module_names.fresh(f"{context.function}_parallel_loop")
    result = [syntax.return_(syntax.name(sums[0]) if len(sums) == 1 else syntax.tuple_(map(syntax.name, sums)))] if sums else []
    outlined = syntax.function(name, params, stmts + result)
    outlined.srcgrad_decorator = "parallel_jit"
    context.outlined.append(outlined)
    call = syntax.call(name, *map(syntax.name, params))
    if not sums:
        return gast.Expr(value=call)
    return syntax.assign(syntax.name(sums[0]) if len(sums) == 1 else syntax.tuple_(map(syntax.name, sums)), call)


def _launched_kernel(loop, sums: list, tapes: dict, context: _Context) -> list:
    """The loop as a CUDA kernel (transform/kernels.py), added to the outlined functions; the host
    statements that launch it in the loop's place."""
    kernel, host = loop_kernel(loop, sums, tapes, _shared_accumulations(loop, {}), context.names,
                               context.module_names.fresh(f"{context.function}_loop_kernel"), context.kinds)
    context.outlined.append(kernel)
    return host


def _live_after(context: list) -> set:
    """Names read after a statement before being written again (enclosing loops' next iterations too)."""
    continuation, live = [], set()
    for how, stmts in context:
        if how == "then":
            continuation += stmts
        else:
            live |= upward_exposed(stmts)
    return live | upward_exposed(continuation)


def _why_in_order(loop, context: _Context, buffers: dict, live_after: set) -> str | None:
    """Why `loop` must run in order, or None when it can be split: a unit-step range loop of
    scalar-style code that pushes and pops nothing, whose shared arrays are only accumulated into
    (the scratch `buffers` become private to each part), and whose values that outlive an iteration
    are sums."""
    if not isinstance(loop, gast.For):
        return "it is not a for loop over a range"
    args = loop.iter.args
    if len(args) == 3 and not (isinstance(args[2], gast.Constant) and args[2].value == 1):
        return "its range has a step other than 1"
    if any(isinstance(n, (gast.Break, gast.Continue, gast.Return)) for n in syntax.walk(loop)):
        return "it can leave the loop or an iteration early"
    calls = [n for n in syntax.walk(loop) if isinstance(n, gast.Call)]
    if any(isinstance(c.func, gast.Attribute) and c.func.attr in ("append", "pop") for c in calls) \
            or any(isinstance(c.func, gast.Name) and c.func.id in ("appended", "appended_head") for c in calls):
        return "it records values on a tape of unknown length"
    if not _scalar_style(loop.body, context.arrays, context.kinds):
        return "it computes with whole arrays or slices"
    shared = _shared_accumulations(loop, buffers)
    assigned = bound_names(loop) - set(buffers) - {loop.target.id}
    if any(_read_elsewhere(loop, array) for array in shared) or set(shared) & assigned:
        return "it reads an array that its iterations also add into"
    carried = sorted(name for name in (upward_exposed(loop.body) | live_after) & assigned if not only_summed(loop, name))
    if carried:
        return f"`{carried[0]}` carries a value other than a sum from one iteration to the next"
    if not _own_elements_only(loop, set(buffers) | set(shared)):
        return "an iteration writes array elements that another iteration reads or writes"
    return None


def _own_elements_only(loop, exempt: set) -> bool:
    """Whether each array the loop writes elements of (other than `exempt`: scratch buffers and
    shared accumulations, handled apart) is written and read only at the iteration's own
    elements (`x[i, ...]`, i the loop's index), so no iteration sees another's writes. An array
    allocated in the body is the iteration's own; a name bound to anything else there (a view)
    is refused, as its elements may be another iteration's."""
    body, index = _body_nodes(loop), loop.target.id
    allocated = {t.id for n in body if isinstance(n, gast.Assign) and isinstance(n.value, gast.Call)
                 and syntax.dotted_name(n.value.func) in _ALLOCATIONS for t in n.targets if isinstance(t, gast.Name)}
    written = {syntax.base_name(n) for n in body if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store)}
    written -= exempt | allocated
    if written & bound_names(gast.Module(body=loop.body, type_ignores=[])):
        return False   # a view bound in the body
    sized = {id(n.value) for n in body if isinstance(n, gast.Attribute) and n.attr in ("shape", "size", "ndim")}
    own = {id(n.value) for n in body if isinstance(n, gast.Subscript) and _own_element(n, index)}
    return not any(isinstance(n, gast.Name) and n.id in written and id(n) not in own | sized for n in body)


# calls a prange body may make on arrays: allocations and zeroings, which numba's parallel loops handle
_ALLOCATIONS = {"np.empty", "np.zeros", "np.ones", "np.full", "np.copy", "np.empty_like", "np.zeros_like",
                "zeroed_like", "zeroed", "zeroed_from"}


def _scalar_style(body: list, arrays: set, kinds: dict) -> bool:
    """No arithmetic on whole arrays or slices in `body`: numba compiles a prange body's array
    expressions poorly (some not at all, some with shape assertions that fail on reused buffers),
    so such a loop runs in order. Element reads and writes, allocations and calls that pass arrays
    to generated functions are fine. An operand may be an array without being a name: a condition
    is kept whole by ANF (`if h(np.ones(4) * t) > x[2]:`)."""
    nodes = [n for stmt in body for n in syntax.walk(stmt)]
    whole = lambda node: _array_valued(node, arrays, kinds)  # noqa: E731
    for node in nodes:
        if isinstance(node, gast.Slice):
            return False
        if isinstance(node, gast.BinOp) and (whole(node.left) or whole(node.right)):
            return False
        if isinstance(node, gast.UnaryOp) and whole(node.operand):
            return False
        if isinstance(node, gast.Compare) and any(whole(n) for n in [node.left] + node.comparators):
            return False
        if isinstance(node, gast.AugAssign) and any(isinstance(n, gast.Name) and n.id in arrays for n in (node.target, node.value)):
            return False
        if isinstance(node, gast.Call) and any(whole(a) for a in node.args):
            path = syntax.dotted_name(node.func)
            if path not in _ALLOCATIONS and (path.startswith("np.") or path in RUNTIME_HELPERS):
                return False
    return True


def _array_valued(node, arrays: set, kinds: dict) -> bool:
    """Whether the expression may be a whole array (or a row): a name holding one, or an expression
    whose kind, as kind inference reads it from the rules' records, is an array (`np.ones(4) * t`,
    `A[i]` of a matrix; `np.sum(x)` is a number)."""
    if isinstance(node, gast.Name):
        return node.id in arrays
    named = {n.id: primal_kind(n.id, kinds) for n in syntax.nodes_in(node) if isinstance(n, gast.Name)}
    return K.is_array(K.KindInference(None, named).of(node))


def _body_nodes(loop) -> list:
    """Every node of the loop's body (not its header)."""
    return [n for stmt in loop.body for n in syntax.walk(stmt)]


def _array_names(fn, kinds: dict) -> set:
    """Names of `fn` that hold arrays: the primal's array variables, their tangents (`dx`) and
    adjoints (`x_bar`), and names bound to an allocation."""
    arrays = set()
    for name in syntax.names_in(fn):
        if any(K.is_array(kinds.get(candidate)) for candidate in primal_candidates(name)):
            arrays.add(name)
    for node in syntax.walk(fn):
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Call) and syntax.dotted_name(node.value.func) in _ALLOCATIONS:
            arrays |= syntax.stored_names(node.targets)
    return arrays


def _shared_accumulations(loop, buffers: dict) -> dict:
    """array -> the `array[index] += value` statements of `loop` whose index is not the loop's own,
    into arrays other than scratch buffers."""
    index = loop.target.id
    shared: dict = {}
    for node in _body_nodes(loop):
        if isinstance(node, gast.AugAssign) and isinstance(node.op, (gast.Add, gast.Sub)) \
                and isinstance(node.target, gast.Subscript) and isinstance(node.target.value, gast.Name) \
                and node.target.value.id not in buffers and not _own_element(node.target, index):
            shared.setdefault(node.target.value.id, []).append(node)
    return shared


def _own_element(target, index: str) -> bool:
    """`x[i]` or `x[i, ...]` with i the loop index: no other iteration touches it."""
    first = target.slice.elts[0] if isinstance(target.slice, gast.Tuple) else target.slice
    return isinstance(first, gast.Name) and first.id == index


def _read_elsewhere(loop, array: str) -> bool:
    """Whether the loop reads `array` other than through accumulations into its elements."""
    body = _body_nodes(loop)
    accumulated = {id(n.target.value) for n in body if isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Subscript)}
    return any(isinstance(n, gast.Name) and n.id == array and id(n) not in accumulated for n in body)


def _parallel_loop(loop, names, buffers: dict, kinds: dict) -> list:
    _one_update_per_sum(loop, names, kinds)
    shared = _shared_accumulations(loop, buffers)
    scratch = [syntax.clone(stmt) for _, stmt in sorted(buffers.items())]
    if not shared and not scratch:
        loop.iter.func = syntax.name("prange")
        return [loop]
    return _split_into_parts(loop, shared, scratch, names)


def _one_update_per_sum(loop, names, kinds: dict) -> None:
    """A sum the body adds to in more than one place (`a_bar += ...` twice, from two uses of `a`),
    or in a nested block, gathers an iteration's terms in a number of its own, added to the sum
    once at the end of the body: numba's prange reduces a variable updated in one place only
    (fuzz seed kernels1:24:0), and silently drops the updates made in a loop inside an `if`
    (numba 0.68; fuzz seed 981:310:0)."""
    statements = [n for n in syntax.walk(gast.Module(body=loop.body, type_ignores=[])) if isinstance(n, gast.stmt)]
    updates: dict = {}
    for stmt in statements:
        name = sum_into(stmt)
        if name is not None:
            updates.setdefault(name, []).append(stmt)
    for name, found in sorted(updates.items()):
        at_top = len(found) == 1 and any(stmt is found[0] for stmt in loop.body)
        if at_top or name == loop.target.id or not only_summed(loop, name):
            continue
        step = names.fresh(f"{name}_step")
        for stmt in found:
            syntax.rename(stmt, {name: step})
        zero = syntax.const(0 if kinds.get(name) == K.INT else 0.0)
        loop.body[:0] = [syntax.assign(step, zero)]
        loop.body.append(syntax.assign(name, syntax.binop(syntax.name(name), "+", syntax.name(step))))


def _split_into_parts(loop, shared: dict, scratch: list, names) -> list:
    """`for i in prange(a, b)` becomes a prange over parts of the range: each part binds its own
    scratch buffers and accumulates into an array of its own (`array_part`, allocated by the part,
    so no two threads write one cache line), stored as its row of `array_parts` when it is done;
    the rows are summed after the loop."""
    args = loop.iter.args
    start = args[0] if len(args) > 1 else syntax.const(0)
    stop = args[1] if len(args) > 1 else args[0]
    part, parts, trips = names.fresh("part"), names.fresh("parts"), names.fresh("trips")
    rows = {array: names.fresh(f"{array}_parts") for array in sorted(shared)}
    own = {array: names.fresh(f"{array}_part") for array in sorted(shared)}
    setup = [syntax.assign(trips, simplify(syntax.binop(syntax.clone(stop), "-", syntax.clone(start)))),
             syntax.assign(parts, syntax.call("parallel_parts", syntax.name(trips)))]
    setup += [syntax.assign(rows[array], syntax.parse_expr(f"np.zeros(({parts},) + {array}.shape, {array}.dtype)"))
              for array in sorted(shared)]
    for array, statements in shared.items():
        for stmt in statements:
            stmt.target.value = syntax.name(own[array])
    bound = lambda k: simplify(syntax.binop(syntax.clone(start), "+", syntax.parse_expr(f"{k} * {trips} // {parts}")))  # noqa: E731
    inner = syntax.for_range(loop.target.id, [bound(part), bound(f"({part} + 1)")], loop.body)
    allocate = [syntax.assign(own[array], syntax.parse_expr(f"np.zeros({array}.shape, {array}.dtype)")) for array in sorted(shared)]
    store = [syntax.assign(syntax.subscript(syntax.name(rows[array]), syntax.name(part), store=True), syntax.name(own[array]))
             for array in sorted(shared)]
    outer = syntax.for_range(part, [syntax.name(parts)], scratch + allocate + [inner] + store)
    outer.iter.func = syntax.name("prange")
    sums = [syntax.for_range(part, [syntax.name(parts)],
                             [syntax.aug_assign(syntax.name(array), "+", syntax.subscript(syntax.name(name), syntax.name(part)))])
            for array, name in rows.items()]
    why = "accumulates the shared adjoints into arrays of its own" if shared else "has its own scratch buffers"
    return setup + [syntax.comment(f"each part of the range {why}"), outer] + sums
