"""CUDA kernels (target="cuda"): a prange loop of a generated derivative as a kernel, and the host
statements that launch it.

After loop_kernel, the loop is a kernel whose threads each run every (threads)-th iteration (a
grid-stride loop): the sums the loop carries live in a thread's registers and are stored once per
thread into a device array of partial sums, which the host sums on the device; accumulations into
elements other iterations add to are atomic adds into the thread's copy of the array (thread t
into copy t % parts), which the host sums into the array after the loop; each scratch tape is a
row of a device array per thread, sized on the host. allocate_on_device makes the host allocate on
the GPU the arrays its kernels read and write.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.dataflow import bound_names, upward_exposed
from ..emit.module import MODULE_NAMES
from ..normalize.names import NameGenerator
from ..rules.template import simplify


def loop_kernel(loop, sums: list, tapes: dict, shared: dict, names: NameGenerator, name: str, kinds: dict) -> tuple:
    """(the kernel `name` running `loop`, the host statements that launch it in the loop's place
    and add the `sums` its threads computed). `shared`: array -> the accumulations into elements
    other iterations add to as well, which become atomic adds into the thread's copy of the array.
    Each thread takes a row of a device array for each of the `tapes` (scratch buffers sized by
    values the loop does not change); raises NotAKernel when a tape's size changes within the loop."""
    args = loop.iter.args
    start, stop = (args[0], args[1]) if len(args) > 1 else (syntax.const(0), args[0])
    launch = _Launch(name, names, sums, {array: names.fresh(f"{array}_parts") for array in sorted(shared)})
    _AtomicAdds({id(stmt) for statements in shared.values() for stmt in statements}, launch.copies, launch.part).visit(loop)
    sizes = _TapeRows(tapes).take(loop)
    rows = {tape: names.fresh(f"{tape}_rows") for tape in sorted(sizes)}
    stride = syntax.for_range(loop.target.id, [simplify(syntax.binop(syntax.clone(start), "+", syntax.parse_expr("cuda.grid(1)"))),
                                               syntax.clone(stop), syntax.parse_expr("cuda.gridsize(1)")], loop.body)
    body = [syntax.assign(tape, syntax.parse_expr(f"{row}[cuda.grid(1)]")) for tape, row in rows.items()]
    body += [syntax.assign(launch.part, syntax.parse_expr(f"cuda.grid(1) % {launch.part_count}"))] if launch.copies else []
    body += [syntax.assign(s, syntax.const(0.0)) for s in sums] + [stride]
    body += [syntax.assign(syntax.parse_expr(f"{launch.partial}[{k}, cuda.grid(1)]"), syntax.name(s)) for k, s in enumerate(sums)]
    nodes = [n for stmt in body for n in syntax.walk(stmt)]
    called = {id(n.func) for n in nodes if isinstance(n, gast.Call)}
    functions = {n.id for n in nodes if id(n) in called and isinstance(n, gast.Name)}
    params = sorted(upward_exposed(body) - functions - MODULE_NAMES - {"cuda", launch.partial})
    kernel = syntax.function(name, params + ([launch.partial] if sums else []), body)
    kernel.srcgrad_decorator = "cuda_kernel_jit"
    trips = simplify(syntax.binop(syntax.clone(stop), "-", syntax.clone(start)))
    return kernel, launch.host(params, trips, {rows[tape]: sizes[tape] for tape in rows}, kinds)


class _Launch:
    """The names a kernel and the host code that launches it share, and that host code."""

    def __init__(self, name: str, names: NameGenerator, sums: list, copies: dict):
        self.name, self.sums, self.copies = name, sums, copies   # copies: array -> its threads' copies
        self.part, self.part_count = names.fresh("part"), names.fresh("parts")
        self.partial, self.threads = names.fresh("partial_sums"), names.fresh("threads")

    def host(self, params: list, trips, rows: dict, kinds: dict) -> list:
        """Size the threads and their rows (`rows`: row array -> (size, dtype keyword)), make
        the copies of the shared adjoints, launch, then sum the copies and the loop's sums."""
        threads = syntax.name(self.threads)
        host = [syntax.comment(f"the prange loop, as the CUDA kernel {self.name}: a thread per iteration, "
                               f"{_how(self.sums, self.copies)}")]
        row_bytes = [syntax.binop(syntax.const(8), "*", syntax.clone(size)) for size, _ in rows.values()]
        host.append(syntax.assign(self.threads, syntax.call("cuda_threads", trips, *([_sum(row_bytes)] if row_bytes else []))))
        host += [syntax.assign(row, syntax.call("cuda_empty", syntax.tuple_([syntax.clone(threads), size]), *dtype))
                 for row, (size, dtype) in rows.items()]
        if self.copies:
            host.append(syntax.assign(self.part_count, syntax.call("cuda_part_count", syntax.clone(threads),
                                                                    *map(syntax.name, self.copies))))
            host += [syntax.assign(copy, syntax.call("cuda_parts", syntax.name(array), syntax.name(self.part_count)))
                     for array, copy in self.copies.items()]
        launch = syntax.call("cuda_loop", syntax.name(self.name), syntax.clone(threads), syntax.const(len(self.sums)),
                             *map(syntax.name, params))
        host.append(syntax.assign(self.partial, launch) if self.sums else gast.Expr(value=launch))
        host += [gast.Expr(value=syntax.call("cuda_add_parts", syntax.name(copy), syntax.name(array)))
                 for array, copy in self.copies.items()]
        for k, s in enumerate(self.sums):
            added = syntax.subscript(syntax.name(self.partial), syntax.const(k))
            if kinds.get(s) == K.INT:
                added = syntax.call("int", added)
            host.append(syntax.assign(s, syntax.binop(syntax.name(s), "+", added)))
        return host


def _how(sums: list, copies: dict) -> str:
    if copies:
        return "each adding into its own copy of " + ", ".join(copies) + " (summed after the loop)" + \
            (" and storing its part of each sum" if sums else "")
    return "each storing its part of each sum" if sums else "each writing its own elements"


def _sum(terms: list):
    total = terms[0]
    for term in terms[1:]:
        total = syntax.binop(total, "+", term)
    return total


class _TapeRows(gast.NodeTransformer):
    """Drops the statements that grow the `tapes` in a loop (`if t.shape[0] < size: t = np.empty(size)`)
    and gathers, per tape, the size its row needs (the largest of its sizes) and its dtype keyword
    as a list of arguments; raises NotAKernel when a size changes within the loop."""

    def __init__(self, tapes: dict):
        self.tapes, self.sizes = tapes, {}

    def take(self, loop) -> dict:
        self.bound = bound_names(loop)
        self.definitions = _single_definitions(loop)
        self.visit(loop)
        missing = sorted(set(self.tapes) - set(self.sizes))
        if missing:
            raise NotAKernel(missing)
        return self.sizes

    def visit_If(self, node):
        grown = node.body[0] if len(node.body) == 1 and isinstance(node.body[0], gast.Assign) else None
        tape = grown.targets[0].id if grown is not None and isinstance(grown.targets[0], gast.Name) else None
        if tape not in self.tapes or not isinstance(grown.value, gast.Call) or syntax.dotted_name(grown.value.func) != "np.empty":
            return self.generic_visit(node)
        size = self._before_the_loop(grown.value.args[0])
        if size is None:
            raise NotAKernel([tape])
        dtype = [kw.value for kw in grown.value.keywords if kw.arg == "dtype"]
        known = self.sizes.get(tape)
        self.sizes[tape] = (size if known is None else syntax.call("max", known[0], size)), dtype
        return None


    def _before_the_loop(self, expr):
        """`expr` as the host can compute it before the loop: names the loop binds once to shapes
        of values it does not change (`d = X.shape[1]`, from an inlined call) replaced by their
        definitions; None when a name changes within the loop."""
        expr = syntax.clone(expr)
        if not all(isinstance(n, _SHAPE_ARITHMETIC) for n in syntax.walk(expr)):
            return None
        if any(isinstance(n, gast.Attribute) and n.attr not in ("shape", "size", "ndim") for n in syntax.walk(expr)):
            return None
        inside = syntax.names_in(expr) & self.bound
        for name in inside:
            definition = self.definitions.get(name)
            hoisted = self._before_the_loop(definition) if definition is not None else None
            if hoisted is None:
                return None
            expr = syntax.substitute(expr, {name: hoisted})
        return expr


def _single_definitions(loop) -> dict:
    """name -> its value, for the names `loop` binds only in plain assignments of one same value
    (the forward sweep and the reverse sweep's replay both binding `d = X_shape[1]`)."""
    values: dict = {}
    for node in syntax.walk(loop):
        if isinstance(node, gast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], gast.Name):
            values.setdefault(node.targets[0].id, []).append(node.value)
        else:
            for target in _stored(node):
                values.setdefault(target, []).append(None)   # bound another way: a loop index, an unpacking
    return {name: found[0] for name, found in values.items()
            if None not in found and len({syntax.fingerprint(v) for v in found}) == 1}


def _stored(node) -> set:
    if isinstance(node, gast.Assign):
        return {n.id for t in node.targets for n in syntax.walk(t) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    if isinstance(node, (gast.For, gast.AugAssign)):
        target = node.target
        return {n.id for n in syntax.walk(target) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    return set()


# what a tape's size may be computed from: numbers, names, shapes and their elements, arithmetic
_SHAPE_ARITHMETIC = (gast.Name, gast.Constant, gast.Attribute, gast.Subscript, gast.BinOp, gast.operator,
                     gast.expr_context)


class NotAKernel(Exception):
    """Scratch buffers of a loop that a kernel cannot give its threads rows of."""


class _AtomicAdds(gast.NodeTransformer):
    """`w_bar[j] += v` (an element other iterations add into too) becomes
    `cuda.atomic.add(w_bar_parts, (j, part), v)`: an add into the thread's copy of w_bar."""

    def __init__(self, statements: set, copies: dict, part: str):
        self.statements, self.copies, self.part = statements, copies, part

    def visit_AugAssign(self, node):
        if id(node) not in self.statements:
            return node
        value = node.value if isinstance(node.op, gast.Add) else syntax.neg(node.value)
        index = syntax.as_load(node.target.slice)
        index = index.elts if isinstance(index, gast.Tuple) else [index]
        return gast.Expr(value=syntax.call(syntax.dotted("cuda.atomic.add"), syntax.name(self.copies[node.target.value.id]),
                                           syntax.tuple_(index + [syntax.name(self.part)]), value))


# host allocations of arrays a kernel reads or writes, and their device counterparts
_DEVICE_ALLOCATIONS = {"np.zeros": "cuda_zeros", "np.empty": "cuda_empty", "np.zeros_like": "cuda_zeros",
                       "np.empty_like": "cuda_empty", "zeros_like": "cuda_zeros"}


def allocate_on_device(fn) -> None:
    """Arrays the host function allocates and passes to a kernel are allocated on the device, where
    the kernel reads and writes them (a host array would be copied there and back at each launch)."""
    launched = {a.id for n in syntax.walk(fn) if isinstance(n, gast.Call) and syntax.dotted_name(n.func) == "cuda_loop"
                for a in n.args[3:] if isinstance(a, gast.Name)}
    launched |= {n.args[1].id for n in syntax.walk(fn) if isinstance(n, gast.Call)
                 and syntax.dotted_name(n.func) == "cuda_add_parts" and isinstance(n.args[1], gast.Name)}
    for node in syntax.walk(fn):
        if isinstance(node, gast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], gast.Name) \
                and node.targets[0].id in launched and isinstance(node.value, gast.Call) \
                and syntax.dotted_name(node.value.func) in _DEVICE_ALLOCATIONS and node.value.args:
            call, like = node.value, syntax.dotted_name(node.value.func).endswith("_like")
            shape = gast.Attribute(value=call.args[0], attr="shape", ctx=gast.Load()) if like else call.args[0]
            node.value = syntax.call(_DEVICE_ALLOCATIONS[syntax.dotted_name(call.func)], shape, *([] if like else call.args[1:2]))
