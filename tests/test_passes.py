"""Before/after tests of single passes, and that each normalized function still computes the same."""
import copy
import re

import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
import pass_functions as pf
import srcgrad
from gradcheck import check_vjp
from srcgrad import syntax
from srcgrad.analyze import kinds as K
from srcgrad.analyze.dataflow import eliminate_dead_code
from srcgrad.emit.printer import to_source
from srcgrad.normalize.scalarize import scalarize
from srcgrad.pipeline import normalized
from srcgrad_runtime import UnequalLengths
from srcgrad.transform.peephole import add_rows_in_place, hand_over_buffers


def _run(tree, namespace, *args):
    source = to_source(tree)
    scope = dict(namespace)
    exec(compile(source, "<normalized>", "exec"), scope)
    return scope[tree.name](*args)


def _namespace(unit):
    names = dict(unit.parsed.namespace)
    names.update({"np": np, "math": __import__("math")})
    return names


def test_anf_one_operation_per_statement():
    unit = normalized(pf.nested_expression, "forward")
    assert to_source(unit.parsed.tree) == (
        "def nested_expression(x, y):\n"
        "    mul = x * y\n"
        "    sin = math.sin(mul)\n"
        "    pow_1 = x ** 2\n"
        "    add = sin + pow_1\n"
        "    return add\n")
    assert _run(unit.parsed.tree, _namespace(unit), 0.3, 1.7) == pf.nested_expression(0.3, 1.7)


def test_loop_exits_leave_one_return_and_one_break():
    unit = normalized(pf.early_exit, "reverse")
    source = to_source(unit.parsed.tree)
    assert len(re.findall(r"\breturn\b", source)) == 1 and source.count("break") == 1 and "continue" not in source
    loop = next(s for s in unit.parsed.tree.body if isinstance(s, syntax.For))
    assert getattr(loop.body[-1], "srcgrad_loop_exit", False)
    for n in range(8):
        assert _run(unit.parsed.tree, _namespace(unit), 0.7, n) == pf.early_exit(0.7, n)


def _gradient_source(fn, args, wrt) -> str:
    """The generated gradient of fn, after checking its vjp on both backends."""
    for backend in ("python", "numba"):
        check_vjp(fn, args, wrt, backend=backend)
    grad = srcgrad.grad(fn, wrt=wrt)
    grad(*args)
    return srcgrad.source(grad)


def _code_after(source: str, marker: str) -> str:
    """The lines of `source` after `marker`, comments left out."""
    return "\n".join(line for line in source[source.index(marker):].splitlines() if not line.strip().startswith("#"))


def _triangle_inputs(seed):
    """Packed triangular factors, centres and points for the pass_functions mixtures."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 10)) * 0.3, rng.normal(size=(3, 5)), rng.normal(size=(4, 5))


def _scalarized(fn, arg_kinds):
    unit = normalized(fn, "forward")
    tree = copy.deepcopy(unit.parsed.tree)
    params = syntax.param_names(tree)
    kinds = K.KindInference(tree, dict(zip(params, arg_kinds))).run()
    assert scalarize(tree, kinds, copy.deepcopy(unit.names))
    return unit, tree


def test_kinds_of_a_comparison_of_whole_expressions():
    """The condition's operands are a row and a product, not names: the comparison is still an
    array of bools, so np.where gives a vector (an unknown kind made 906:689:0's float argument
    unknown too, and a callee's update of it changed the caller's float)."""
    unit = normalized(pf.where_of_compared_rows, "forward")
    kinds = K.KindInference(copy.deepcopy(unit.parsed.tree), {"x": "a1"}).run()
    assert kinds["chosen"] == "a1", kinds


def test_scalarize_turns_array_expressions_into_one_loop():
    unit, tree = _scalarized(pf.vectorized, ("a1", "a1"))
    source = to_source(tree)
    assert source.count("for k in range(n)") == 1 and "np.sum" not in source
    assert "dot = np.dot(x, x)" in source   # a reduction of whole arguments stays a library call
    x, w = np.linspace(0.0, 1.0, 7) ** 2, np.linspace(1.0, 2.0, 7)
    assert np.isclose(_run(tree, _namespace(unit), x, w), pf.vectorized(x, w))


def test_scalarize_fuses_one_expression_over_rows_read_between_its_terms():
    unit, tree = _scalarized(pf.barycentric, ("a2", "a1", "ia1"))
    source = to_source(tree)
    assert source.count("for k in range(n)") == 1 and "np.empty" not in source
    loop = source.index("for k in range(n)")
    assert all(source.index(row) < loop for row in ("V_j_0 = V[j_0]", "V_j_1 = V[j_1]", "V_j_2 = V[j_2]"))
    V, u, j = np.arange(12.0).reshape(4, 3) / 7.0, np.array([0.2, 0.3]), np.array([3, 0, 2])
    assert np.isclose(_run(tree, _namespace(unit), V, u, j), pf.barycentric(V, u, j))
    with pytest.raises(UnequalLengths):   # rows of unequal length: numpy raises too
        _run(tree, {**_namespace(unit), "UnequalLengths": UnequalLengths}, [np.ones(3), np.ones(2), np.ones(3), np.ones(3)], u,
             np.array([1, 0, 2]))


def test_scalarize_keeps_arrays_never_combined_in_loops_of_their_own():
    unit, tree = _scalarized(pf.two_lengths, ("a1", "a1"))
    assert to_source(tree).count("for k") == 2
    x, y = np.linspace(0.0, 1.0, 3), np.linspace(1.0, 2.0, 5)
    assert np.isclose(_run(tree, _namespace(unit), x, y), pf.two_lengths(x, y))


def test_scalarize_writes_out_arrays_used_later():
    unit, tree = _scalarized(pf.keeps_array, ("a1",))
    assert "np.empty(n)" in to_source(tree)
    x = np.linspace(-1.0, 1.0, 5)
    total, y = _run(tree, _namespace(unit), x)
    assert np.isclose(total, pf.keeps_array(x)[0]) and np.allclose(y, pf.keeps_array(x)[1])


def test_dead_code_elimination_is_flow_sensitive():
    tree = syntax.parse_module(
        "def f(a, n):\n"
        "    s = 0.0\n"
        "    for i in range(n):\n"
        "        s = s + a\n"
        "    s = 2.0 * a\n"
        "    t = a * a\n"
        "    return s\n").body[0]
    tree.body = eliminate_dead_code(tree.body, set())
    assert to_source(tree) == "def f(a, n):\n    s = 2.0 * a\n    return s\n"


@pytest.mark.slow
def test_a_call_from_one_place_is_inlined_and_its_forward_runs_once():
    """A solver called once (ode's `ode(x, s)[-1]`) and a step called from one place in a time loop
    (lstm's `predict`) become the caller's code: no `vjp_` of theirs reruns their forward sweep."""
    x = np.linspace(0.2, 0.9, 5)
    check_vjp(pf.rk4_last, (x, 4), 0)
    grad = srcgrad.grad(pf.rk4_last)
    grad(x, 4)
    source = srcgrad.source(grad)
    assert "# inlined: rk4_solve(x, steps)" in source and "def vjp_rk4_solve" not in source
    rng = np.random.default_rng(3)
    args = (rng.normal(size=(6, 3)) * 0.5, rng.normal(size=3), rng.normal(size=(4, 3)))
    check_vjp(pf.sequence_loss, args, (0, 1))
    grad = srcgrad.grad(pf.sequence_loss, wrt=(0, 1))
    grad(*args)
    assert "def vjp_cell_update" not in srcgrad.source(grad)


def test_reused_adjoint_buffers_are_written_not_zeroed_then_added_to():
    """The RK4 stages' adjoints: a loop adding once into every row assigns it (`zeroed_from`);
    the combination's adjoint is the state's (no copy of it, as the step only reads it), and no
    element a reverse loop reads once is zeroed after it (each buffer is refilled next step)."""
    x = np.linspace(0.2, 0.9, 6)
    grad = srcgrad.grad(pf.rk4_last)
    for backend in ("python", "numba"):
        check_vjp(pf.rk4_last, (x, 3), 0, backend=backend)
    grad(x, 3)
    source = srcgrad.source(grad)
    assert "zeroed_from(" in source and "filled_like(" not in source
    assert re.search(r"k4_bar\[\w+\] = ", source)   # assigned, no longer `+=` into zeros
    assert re.search(r"\w+_bar = sum_to\(y_bar, \w+\)", source)
    assert not re.search(r"\w+_bar\[\w+\] = 0\.0", source)


@pytest.mark.parametrize("k", [0, 1, 2, 7])
def test_a_loop_adding_into_shifted_rows_assigns_them(k):
    """`y_bar[i - 1] += e` for i in 1..k-1 writes rows 0..k-2 once each: they are assigned and
    only the rows from k - 1 on are zeroed (`zeroed_from(y_bar, y, k - 1)`; with k ≤ 1 the loop
    runs no iteration and every row is zeroed, also the rows an earlier step wrote)."""
    x = np.linspace(0.2, 0.9, 7)
    for backend in ("python", "numba"):
        check_vjp(pf.lagged_product_steps, (x, 3, k), 0, backend=backend)
    grad = srcgrad.grad(pf.lagged_product_steps)
    grad(x, 3, k)
    source = srcgrad.source(grad)
    assert re.search(r"(\w+_bar) = zeroed_from\(\1, \w+, k - 1\)", source), source
    assert re.search(r"\w+_bar\[sub\w*\] = ", source), source


@pytest.mark.slow
def test_a_loop_adding_into_rows_past_the_first_adds_into_zeros():
    """Rows added into that do not start at row 0 (one row ahead: 1..n-1; one row back from
    i = 2: 1..n-2) are not assigned, as row 0 would keep the step before's values; the same loop's
    rows two back (0..n-3) are."""
    x = np.linspace(0.2, 0.9, 7)
    sources = {}
    for fn in (pf.lead_product_steps, pf.lag_two_from_one_steps):
        for backend in ("python", "numba"):
            check_vjp(fn, (x, 3), 0, backend=backend)
        grad = srcgrad.grad(fn)
        grad(x, 3)
        sources[fn.__name__] = srcgrad.source(grad)
    lead, lag_two = sources["lead_product_steps"], sources["lag_two_from_one_steps"]
    assert "w_bar = zeroed_like(w_bar, w)" in lead and re.search(r"w_bar\[add\w*\] \+= ", lead), lead
    assert "w_bar = zeroed_like(w_bar, w)" in lag_two and re.search(r"w_bar\[sub\w*\] \+= ", lag_two), lag_two
    assert "v_bar = zeroed_from(v_bar, v, n - 2)" in lag_two and re.search(r"v_bar\[sub\w*\] = ", lag_two), lag_two


def test_a_filled_buffer_added_into_later_stays_a_copy():
    """`filled_like` stays where the adjoint is then added into (a stage used twice): reading the
    other adjoint in place would change it."""
    x = np.linspace(0.2, 0.9, 6)
    for backend in ("python", "numba"):
        check_vjp(pf.stage_read_twice, (x, 3), 0, backend=backend)
    grad = srcgrad.grad(pf.stage_read_twice)
    grad(x, 3)
    assert "filled_like(" in srcgrad.source(grad)


_ZEROINGS = """
def f(b, v, n, steps, before):
    total = 0.0
    for t in range(steps):
        {refill}
        for i in range(n):
            b[i] += v[i] * (t + 1)
        for i in range(n - 1, 0, -1):
            e = b[i]
            b[i] = 0.0
            total += e * i
        first = b[{after}]
        total += first
    {last}
    return total
"""


@pytest.mark.parametrize("refill, after, last, dropped", [
    ("b = zeroed_like(b, v)", "0", "", True),          # refilled each step; element 0 the loop never took
    ("b = zeroed_like(b, v)", "1", "", False),         # element 1 is read again after the loop
    ("pass", "0", "", False),                          # no refill: the next step reads the sums
    ("b = zeroed_like(b, v)", "0", "total += b[2]", False),   # read after the last step
    ("b = zeroed_like(b, v)", "0", "c = b", False),    # a second name may read it
])
def test_an_adjoint_element_read_once_is_zeroed_only_when_read_again(refill, after, last, dropped):
    """read_once drops `b[i] = 0.0` after the one read of b[i] only where no path reads an element
    the loop took before b is refilled; the code computes the same either way."""
    from srcgrad.transform.read_once import read_adjoints_once
    from srcgrad_runtime import zeroed_like
    tree = syntax.parse_module(_ZEROINGS.format(refill=refill, after=after, last=last)).body[0]
    before = copy.deepcopy(tree)
    tree.body = read_adjoints_once(lambda subscript: True, {"v", "n", "steps", "before"})(tree.body)
    assert ("b[i] = 0.0" not in to_source(tree)) == dropped
    v = np.linspace(0.5, 1.5, 5)
    results = [_run(t, {"np": np, "zeroed_like": zeroed_like}, np.zeros(5), v, 5, 3, None) for t in (before, tree)]
    assert results[0] == results[1]


_FILLS = """
def f(y, v, n):
    b = np.empty((0,))
    total = 0.0
    for t in range(3):
        b = filled_like(b, v, sum_to(y, v))
        {between}
        for k in range(n):
            total += b[k] * k
        y[0] += 1.0
    return total, y
"""


@pytest.mark.parametrize("between, in_place", [
    ("pass", True),
    ("y[1] = 2.0", False),                 # the source changes while the copy is read
    ("b[0] = 2.0", False),                 # the buffer itself is written
    ("w = np.zeros(n)\n        w[0] = 1.0", True),   # a private buffer of its own
])
def test_a_fill_only_read_is_the_adjoint_it_copies(between, in_place):
    from srcgrad.transform.read_once import read_adjoints_once
    from srcgrad_runtime import filled_like, sum_to
    tree = syntax.parse_module(_FILLS.format(between=between)).body[0]
    before = copy.deepcopy(tree)
    tree.body = read_adjoints_once(lambda subscript: True, {"y", "v", "n"})(tree.body)
    assert ("filled_like" not in to_source(tree)) == in_place
    v = np.linspace(0.5, 1.5, 4)
    scope = {"np": np, "filled_like": filled_like, "sum_to": sum_to}
    results = [_run(t, scope, np.linspace(1.0, 2.0, 4), v, 4) for t in (before, tree)]
    assert results[0][0] == results[1][0]


def test_a_second_names_adjoint_hands_over_its_buffer():
    """RK4's `k4 = z`: the adjoint of z takes k4_bar's buffer (`z_bar = k4_bar`) instead of a
    copy, as k4_bar is not read again in the step."""
    x = np.linspace(0.2, 0.9, 20)   # longer than a small array held as scalars
    for backend in ("python", "numba"):
        check_vjp(pf.rk4_last, (x, 3), 0, backend=backend)
        check_vjp(pf.stage_read_twice, (x, 3), 0, backend=backend)
    grad = srcgrad.grad(pf.rk4_last)
    grad(x, 3)
    source = srcgrad.source(grad)
    assert "k4_bar" in source and "filled_like(z_3_bar" not in source and "z_3_bar" not in source


def test_a_buffer_is_handed_over_only_when_its_adjoint_is_not_read_again():
    def handed(read_after: str, binding: str = "k = z") -> bool:
        tree = syntax.parse_module(
            "def f(x, out_bar):\n"
            "    k_bar = np.empty((0,))\n"
            "    z_bar = np.empty((0,))\n"
            "    for t in range(3):\n"
            "        z = np.sin(x)\n"
            f"        {binding}\n"
            "        k_bar = zeroed_like(k_bar, k)\n"
            "        k_bar[0] += out_bar\n"
            "        z_bar = filled_like(z_bar, z, k_bar)\n"
            "        z_bar[1] = 0.0\n"
            f"        {read_after}\n"
            "    return x\n").body[0]
        code = hand_over_buffers({"k_bar": "k", "z_bar": "z"}, {"x", "out_bar"})(tree.body)
        source = to_source(syntax.function("f", ["x", "out_bar"], code))
        return "filled_like" not in source and "z_bar" not in source

    assert handed("pass")
    assert not handed("s = k_bar[0]")                 # read after the handover
    assert not handed("pass", binding="k = z + 1.0")  # not a second name: its own array


@pytest.mark.slow
def test_a_rows_adjoint_that_only_receives_additions_is_that_row_of_the_adjoint():
    """GMM's `l_ik = l[ik]`: the additions go into `W_bar[c]` itself, no row zeroed and added back."""
    rng = np.random.default_rng(2)
    W, X = rng.normal(size=(3, 6)) * 0.3, rng.normal(size=(5, 4))
    source = _gradient_source(pf.rows_accumulated, (W, X), (0, 1))
    assert "w_bar = W_bar[c]" in source and "W_bar[c] += w_bar" not in source and "zeroed_like(w_bar" not in source
    # a row whose every element gets one contribution (`zeroed_from`, then `=`): the contributions are added to the view
    packed, centres, X = _triangle_inputs(11)
    source = _gradient_source(pf.mixture_of_triangles, (packed, centres, X), (0, 1, 2))
    assert "centres_c_bar = centres_bar[c]" in source and re.search(r"centres_c_bar\[\w+\] \+= ", source)


def test_a_row_is_not_its_adjoints_view_while_something_else_adds_to_the_adjoint():
    def viewed(between: str, index_bound: str = "pass") -> bool:
        tree = syntax.parse_module(
            "def f(x, W, out_bar):\n"
            "    w_bar = np.empty((0,))\n"
            "    W_bar = np.zeros(W.shape)\n"
            "    for c in range(3):\n"
            "        w = W[c]\n"
            "        w_bar = zeroed_like(w_bar, w)\n"
            "        for i in range(2):\n"
            "            w_bar[i] += out_bar\n"
            f"        {between}\n"
            f"        {index_bound}\n"
            "        W_bar[c] += w_bar\n"
            "    return W_bar\n").body[0]
        code = add_rows_in_place({"w_bar": "w", "W_bar": "W"}, {"W": {"w"}, "w": {"W"}})(tree.body)
        return "w_bar = W_bar[c]" in to_source(syntax.function("f", ["x", "W", "out_bar"], code))

    assert viewed("pass")
    assert viewed("W_bar[0, 0] += 1.0")           # another addition into the adjoint: additions commute
    assert not viewed("W_bar[0, 0] = 1.0")        # the adjoint itself is overwritten meanwhile
    assert not viewed("s = W_bar[0, 0]")          # or read
    assert not viewed("s = w_bar[0]")             # the row's adjoint is read, not only added to
    assert not viewed("pass", index_bound="c = 0")   # the row the additions end in is another


def test_dead_code_elimination_follows_shapes_through_copies_and_arithmetic():
    """Code that reads only `k.shape` where `k = z` (or `k = z + y`) needs `z` bound, not filled."""
    tree = syntax.parse_module(
        "def f(x, y):\n"
        "    z = np.empty(x.shape[0])\n"
        "    for i in range(x.shape[0]):\n"
        "        z[i] = x[i] * 2.0\n"
        "    k = z\n"
        "    m = k + y\n"
        "    g_bar = zeroed_like(g_bar, m)\n"
        "    return m.shape[0] + g_bar\n").body[0]
    tree.body = eliminate_dead_code(tree.body, set())
    assert to_source(tree) == ("def f(x, y):\n    z = np.empty(x.shape[0])\n    k = z\n    m = k + y\n"
                               "    g_bar = zeroed_like(g_bar, m)\n    return m.shape[0] + g_bar\n")


def test_dead_code_elimination_of_a_deep_nest_keeps_what_the_nest_needs():
    depth = 9
    lines, indent = ["def f(x, y):", "    s = 0.0", "    t = 0.0"], "    "
    for k in range(depth):
        lines.append(f"{indent}for i{k} in range(2):")
        indent += "    "
    lines += [f"{indent}t = t + y", f"{indent}s = s + x * s"]
    tree = syntax.parse_module("\n".join(lines + ["    return s"]) + "\n").body[0]
    tree.body = eliminate_dead_code(tree.body, set())
    source = to_source(tree)
    assert "t = t + y" not in source and "s = s + x * s" in source and source.count("for ") == depth


def test_a_counter_stepped_each_iteration_is_computed_from_the_index_not_taped():
    rng = np.random.default_rng(5)
    x, packed = rng.normal(size=5), rng.normal(size=10)
    check_vjp(pf.packed_lower_times, (packed, x), (0, 1))
    grad = srcgrad.grad(pf.packed_lower_times, wrt=(0, 1))
    grad(packed, x)
    source = srcgrad.source(grad)
    assert re.search(r"idx = idx_at_entry \+ \(j - \w+\)", source)
    y = np.linspace(0.1, 1.2, 12)
    for limit in (0.3, 100.0):   # leaves early, runs to its end
        check_vjp(pf.strided_counter_until, (y, limit), 0)
    grad = srcgrad.grad(pf.strided_counter_until)
    grad(y, 0.3)
    assert "k = k_at_entry + (i - 2) * 2" in srcgrad.source(grad)


def test_a_buffer_written_by_a_loop_that_runs_no_iteration_is_all_zeros():
    """`zeroed_from(y_bar, y, n)` with n < 0 (range(n) ran no iteration) zeroes every row: the rows
    an earlier reverse iteration wrote are not carried into this one."""
    rng = np.random.default_rng(7)
    A, x = rng.normal(size=(4, 4)), rng.normal(size=4)
    for backend in ("python", "numba"):
        check_vjp(pf.rows_of_a_shrinking_range, (A, x), (0, 1), backend=backend)
    grad = srcgrad.grad(pf.rows_of_a_shrinking_range, wrt=(0, 1))
    grad(A, x)
    assert "zeroed_from(" in srcgrad.source(grad)


def test_a_fresh_array_costly_to_replay_is_read_back_from_a_tape():
    """The reverse of the component loop reads each triangle product back (`row_at`) instead of
    recomputing the nest; the centred point, as cheap to recompute as to copy, is replayed."""
    packed, centres, X = _triangle_inputs(11)
    source = _gradient_source(pf.mixture_of_triangles, (packed, centres, X), (0, 1, 2))
    assert "out_rows = pushed_row(out_rows, out_row_ends, c, out)" in source
    assert "out = row_at(out_rows, out_row_ends, c)" in source and "product = out" in source
    assert "out by a copy per iteration" in source and "centred_rows" not in source
    reverse = source[source.index("# reverse sweep"):]
    assert "packed_c[idx] * centred_i" not in reverse.replace("packed_c_idx", "packed_c[idx]")


@pytest.mark.slow
def test_with_an_array_read_back_the_numbers_the_adjoint_reads_are_stored():
    """`log(1 + sum(out ** 2))`: the log's argument is stored per iteration, else the replay would
    still compute the product to get it."""
    packed, centres, X = _triangle_inputs(14)
    source = _gradient_source(pf.triangle_then_logged, (packed, centres, X), (0, 1, 2))
    assert "out = row_at(out_rows, out_row_ends, c)" in source and re.search(r"add_\w* = add_\w*_tape\[c\]", source)


def test_a_fresh_array_rewritten_later_in_the_iteration_differentiates_right():
    rng = np.random.default_rng(12)
    packed, X = rng.normal(size=10) * 0.3, rng.normal(size=(3, 5))
    for backend in ("python", "numba"):
        check_vjp(pf.triangle_then_squared, (packed, X), (0, 1), backend=backend)


def test_an_adjoint_element_the_inner_loop_keeps_adding_to_is_summed_locally():
    rng = np.random.default_rng(13)
    A, x = rng.normal(size=(4, 6)), rng.normal(size=4)
    source = _gradient_source(pf.scaled_row_sums, (A, x), (0, 1))
    assert re.search(r"(\w+_bar_sum) = 0\.0\n\s+for j .*\n(.*\n)*?\s+\1 = sum_in_any_order\(\1, .*\n(.*\n)*?\s+x_bar\[i\] \+= \1", source), source


def test_an_array_is_not_copied_where_the_loop_runs_only_in_reverse():
    """Nothing after the component loop reads what it computes (the total is only summed into), so
    its reverse alone replays each iteration once: a copy would add work, not save it."""
    rng = np.random.default_rng(15)
    packed, centres, X = rng.normal(size=(3, 10)) * 0.3, rng.normal(size=(3, 5)), rng.normal(size=(4, 5))
    check_vjp(pf.triangle_summed_only, (packed, centres, X), (0, 1, 2))
    grad = srcgrad.grad(pf.triangle_summed_only, wrt=(0, 1, 2))
    grad(packed, centres, X)
    assert "pushed_row" not in srcgrad.source(grad)


def test_the_adjoint_of_an_element_added_to_in_place_is_handed_on_untouched():
    """`out[j] += e`: its reverse reads `out_bar[j]`, and neither zeroes it nor adds it back."""
    rng = np.random.default_rng(16)
    x, packed = rng.normal(size=5), rng.normal(size=10)
    source = _gradient_source(pf.packed_lower_times, (packed, x), (0, 1))
    reverse = source[source.index("# reverse sweep"):]
    reverse_nest = reverse[reverse.index("for j in range("):]
    reverse_nest = reverse_nest[:reverse_nest.index("\n        for ") if "\n        for " in reverse_nest else None]
    assert "out_bar[j]" in reverse_nest and "out_bar[j] = 0.0" not in reverse_nest and "out_bar[j] +=" not in reverse_nest, source


def test_scalarize_fuses_gates_read_through_inlined_calls_into_one_loop():
    """Views of one array passed to an inlined function, the result taken under the caller's name,
    and a name bound anew from its old value (`cell = cell * forget + ...`) stay in one loop."""
    unit, tree = _scalarized(pf.gated_cell, ("a1", "a1"))
    source = to_source(tree)
    assert source.count("for k") == 1 and "gates_item =" not in source
    assert "cell_new = np.empty(n)" in source and "cell = cell_new" in source   # the old cell is read in the loop
    rng = np.random.default_rng(5)
    gates, cell = rng.normal(size=12), rng.normal(size=3)
    total, new_cell = _run(tree, _namespace(unit), gates, cell)
    expected_total, expected_cell = pf.gated_cell(gates, cell)
    assert np.isclose(total, expected_total) and np.allclose(new_cell, expected_cell)
    with pytest.raises(UnequalLengths):   # the old cell is an operand whose length numpy checks too
        _run(tree, {**_namespace(unit), "UnequalLengths": UnequalLengths}, gates, np.ones(4))


def test_scalarize_binds_anew_a_name_it_read_and_checks_its_length():
    unit, tree = _scalarized(pf.decayed, ("a1", "a1"))
    source = to_source(tree)
    assert source.count("for k") == 1 and "n = c.shape[0]" in source and "f.shape[0] != n" in source
    c, f = np.linspace(0.1, 0.9, 4), np.linspace(1.0, 2.0, 4)
    assert np.isclose(_run(tree, _namespace(unit), c, f), pf.decayed(c, f))
    with pytest.raises(UnequalLengths):
        _run(tree, {**_namespace(unit), "UnequalLengths": UnequalLengths}, c, np.ones(3))
    check_vjp(pf.decayed, (c, f), (0, 1))


def test_gated_cell_gradient_matches_finite_differences():
    rng = np.random.default_rng(6)
    check_vjp(lambda g, c: pf.gated_cell(g, c)[0], (rng.normal(size=12), rng.normal(size=3)), (0, 1))


@pytest.mark.slow
def test_replay_read_only_for_shapes_is_dropped():
    """The reverse sweep of an LSTM-like cell needs its gates only for their shapes (`gates[:n].shape`)
    and its taped values only where an adjoint reads them: the replayed loop that fills the gates
    and the tape reads nothing uses are left out, and the gradient is unchanged."""
    rng = np.random.default_rng(1)
    args = (rng.normal(size=(4, 6)), rng.normal(size=(4, 3)), rng.normal(size=(5, 3)))
    check_vjp(pf.lstm_like, args, (0, 1))
    gradient = srcgrad.grad(pf.lstm_like, wrt=(0, 1))
    gradient(*args)
    reverse_sweep = srcgrad.source(gradient).split("# reverse sweep")[1]
    assert "gates[k] = " not in reverse_sweep, reverse_sweep
    assert reverse_sweep.count("exp = exp_tape[") == 1, reverse_sweep   # in the adjoint's loop only


@pytest.mark.slow
def test_adjoints_of_a_tuples_arrays_reuse_their_buffers_in_a_loop():
    """`h, c = cell(...)` in a loop: the adjoints of the returned pair's arrays are the buffers of
    the names it is unpacked into (`h_bar`, `c_bar`, reused across iterations), not new zeros each
    time, and not copies (`filled_like(returned_bar_0, returned[0], h_bar)` before)."""
    rng = np.random.default_rng(2)
    args = (rng.normal(size=(4, 6)), rng.normal(size=(4, 3)), rng.normal(size=(5, 3)))
    gradient = srcgrad.grad(pf.lstm_like, wrt=(0, 1))
    gradient(*args)
    reverse_sweep = srcgrad.source(gradient).split("# reverse sweep")[1]
    assert not re.search(r"_bar_\d = np\.zeros\(", reverse_sweep), reverse_sweep
    assert "returned_bar_" not in reverse_sweep, reverse_sweep
    check_vjp(pf.lstm_like, args, (0, 1), "numba")


@pytest.mark.slow
def test_lstm_cells_replay_nothing_and_add_into_their_weight_rows():
    """GradBench lstm's shape (lstm_layers): the reverse sweep's replay of a cell reads only the
    shapes of the cell's new values, which fill arrays of their own (no name from before shares
    them): the value loop is not replayed. Both weight rows of a layer (`w[i]`, `w[i + 1]`) take
    their additions in place in w_bar: additions into two rows of one array commute, even were
    the rows the same. The returned pair's adjoints are the unpacked names' buffers, and the
    adjoints of the state rows the cell took are added into state_bar without a copy."""
    rng = np.random.default_rng(3)
    args = (rng.normal(size=(4, 6)) * 0.5, rng.normal(size=(4, 3)), rng.normal(size=(5, 3)))
    gradient = srcgrad.grad(pf.lstm_sequence, wrt=(0, 1))
    gradient(*args)
    reverse_sweep = srcgrad.source(gradient).split("# reverse sweep")[1]
    assert not re.search(r"_new\[\w+\] = ", reverse_sweep), reverse_sweep
    assert len(re.findall(r"w_\w+_bar = w_bar\[\w+\]", reverse_sweep)) == 2, reverse_sweep
    assert "zeroed_from(w_" not in reverse_sweep and "returned_bar_" not in reverse_sweep, reverse_sweep
    # the cell's state adjoints go straight into state_bar's rows, not through copies
    assert not re.search(r"state_\w+_bar = filled_like", reverse_sweep), reverse_sweep
    check_vjp(pf.lstm_sequence, args, (0, 1), "numba")
    check_vjp(pf.lstm_sequence, args, (0, 1), "python")


def test_constant_branches_keep_what_they_take():
    """A test known before the run (constants, globals read as numbers, names bound before it and
    not since, also inside a branch that binds them later) keeps only its branch; `and`/`or` are
    decided by a known operand; a name bound later, one a loop or the branch itself binds again
    before the test, one a branch may have bound, and a test reading an argument, stay branches."""
    import gast
    from srcgrad.normalize.constant_branches import fold_constant_branches
    source = '''
def f(x, c):
    if late > 0:
        x = x + 1.0
    s0 = 0.0
    twice = 1
    twice = 2
    late = 3
    if s0 > 0.16:
        x = x * 2.0
    else:
        x = x * 3.0
    while s0 > 1.0:
        x = x - 1.0
    else:
        x = x + 5.0
    if LIMIT > 5 and c > 0:
        x = x * 7.0
    if LIMIT < 5 and c > 0:
        x = x * 11.0
    if twice == 2:
        x = x * 13.0
    y = x if LIMIT == 3 else -x
    if c > 0 or LIMIT == 3:
        y = y * 17.0
    if g(c) or LIMIT == 3:
        y = y * 19.0
    k = 0
    while k < 2:
        k = k + 1
    if k == 0:
        y = y * 23.0
    s1 = 0.5
    if s1 > 0.1:
        s1 = c
        if s1 > 0.2:
            y = y * 29.0
    z = 0.0
    if c > 1.0:
        if z > 0.5:
            y = y * 31.0
        z = c
    if z > 0.5:
        y = y * 37.0
    return y
'''
    tree = gast.parse(source).body[0]
    used = fold_constant_branches(tree, {"LIMIT": 3})
    assert used == {"LIMIT"}
    assert to_source(tree) == '''def f(x, c):
    if late > 0:
        x = x + 1.0
    s0 = 0.0
    twice = 1
    twice = 2
    late = 3
    x = x * 3.0
    x = x + 5.0
    if c > 0:
        x = x * 11.0
    x = x * 13.0
    y = x
    y = y * 17.0
    if g(c) or True:
        y = y * 19.0
    k = 0
    while k < 2:
        k = k + 1
    if k == 0:
        y = y * 23.0
    s1 = 0.5
    s1 = c
    if s1 > 0.2:
        y = y * 29.0
    z = 0.0
    if c > 1.0:
        z = c
    if z > 0.5:
        y = y * 37.0
    return y
'''


def test_a_name_holding_a_number_then_an_array_gets_a_name_per_stretch():
    from srcgrad.normalize.names import NameGenerator
    from srcgrad.normalize.split_names import split_rebound_names
    tree = syntax.parse_module(
        "def f(x, A, c):\n"
        "    s = 0.5 * c\n"
        "    t = s * x[0]\n"
        "    for i in range(2):\n"
        "        r = x[i]\n"
        "        t = t + r\n"
        "        r = A[i]\n"
        "        t = t + np.sum(r)\n"
        "        q = x[i]\n"
        "        q = A[i] * q\n"
        "    s = A[0] + s\n"
        "    return np.sum(s) + t + np.sum(q)\n").body[0]
    kinds = K.KindInference(tree, {"x": "a1", "A": "a2", "c": K.FLOAT}).run()
    assert kinds["s"] == kinds["r"] == kinds["q"] == K.UNKNOWN
    infer = lambda tree: K.KindInference(tree, {"x": "a1", "A": "a2", "c": K.FLOAT}).run()  # noqa: E731
    assert split_rebound_names(tree, kinds, NameGenerator(syntax.names_in(tree)), infer)
    assert to_source(tree) == (
        "def f(x, A, c):\n"
        "    s = 0.5 * c\n"
        "    t = s * x[0]\n"
        "    for i in range(2):\n"
        "        r_1 = x[i]\n"
        "        t = t + r_1\n"
        "        r_2 = A[i]\n"       # the next trip binds r before reading it: a stretch of its own
        "        t = t + np.sum(r_2)\n"
        "        q_1 = x[i]\n"
        "        q = A[i] * q_1\n"    # read after the loop: keeps its name
        "    s_1 = A[0] + s\n"
        "    return np.sum(s_1) + t + np.sum(q)\n")


def test_a_fresh_arrays_shape_is_the_shape_it_was_made_with():
    """RK4's stages come from an inlined helper that fills `z = np.empty(n)`, and scalarized lines
    combine them, sized by the stages (`k1.shape[0]`): those sizes read `n` instead, in the primal
    (normalize/shapes.py), so no sweep reads the shape of a stage (numba bounded the reverse loops
    by a fresh array's shape field and compiled them a third slower)."""
    x = np.linspace(0.2, 0.9, 12)
    source = _gradient_source(pf.rk4_last, (x, 3), 0)
    assert not re.search(r"\b(k[1-4]|z(_\d)?)\.shape\b", source), source


def test_a_shape_read_after_its_size_is_bound_again_keeps_reading_the_array():
    """`z = np.empty(n)`, then `n` bound anew: `z.shape[0]` is still the old n."""
    def grown(x):
        n = x.shape[0]
        z = np.empty(n)
        for i in range(n):
            z[i] = x[i] * x[i]
        n = n + 1
        total = 0.0
        for i in range(z.shape[0]):
            total += z[i] * (n + i)
        return total
    source = _gradient_source(grown, (np.array([0.3, -0.7, 1.1]),), 0)
    assert "z.shape" in source


def test_a_step_filled_element_by_element_is_not_replayed_for_its_shape():
    """Heun's method, each step's state a new `np.zeros_like(y)` filled in a loop: the reverse sweep
    reads only the state's shape, which is `y`'s (shapes.py), and its elements nowhere, so it
    neither replays that loop nor the stages it reads (dataflow: reading a shape shares no memory;
    before, `w_bar = filled_like(w_bar, w, ...)` counted as sharing w's, which kept the loop)."""
    x = np.linspace(0.2, 0.9, 12)
    source = _gradient_source(pf.heun_last, (x, 3), 0)
    reverse = _code_after(source, "# reverse sweep")
    assert "w[i] =" not in reverse and "z[i_1] =" not in reverse, source
    assert not re.search(r"\b(w|z|z_1|k1|k2)\.shape\b|len\((w|z|k1|k2)\)", source), source


def test_a_work_arrays_replayed_writes_undone_by_its_adjoint_are_not_replayed():
    """The heat equation with one work array: each step's reverse replayed both loops (into `work`,
    then back into `u`) only for the adjoint loops to restore every element they wrote from a copy
    taken at loop entry, before reading anything (undone_loops.drop_undone_loop_writes). Neither loop's
    replay, entry copy or per-step snapshot of `work` is left."""
    source = _gradient_source(pf.heat_work_array, (np.linspace(0.1, 0.9, 9), 0.2, 3), (0, 1))
    reverse = _code_after(source, "# reverse sweep")
    assert not re.search(r"\b(work|u)\[i\] =", reverse), source
    assert "at_entry" not in source and "work_snapshots" not in source, source
    grid = np.linspace(0.1, 0.9, 20).reshape(5, 4)
    source = _gradient_source(pf.heat2d_work_array, (grid, 0.1, 2), (0, 1))
    reverse = _code_after(source, "# reverse sweep")
    assert not re.search(r"\b(work|u)\[i, j\] =", reverse), source
    assert "at_entry" not in source and "work_snapshots" not in source, source


def test_a_loop_whose_writes_are_read_before_they_are_undone_is_replayed():
    """The in-place square's writes reach the work array's loop, which reads them at a neighbour:
    its replay stays; the work array's element read back after its write keeps its loop too."""
    source = _gradient_source(pf.squared_in_place, (np.linspace(0.1, 0.9, 7), 0.3, 3), 0)
    reverse = _code_after(source, "# reverse sweep")
    assert re.search(r"\by\[i\] =", reverse), source


def test_a_sweep_writing_its_own_row_restores_rows_not_grids():
    """Row i from row i - 1, in place: each iteration of the loop over rows writes its own row
    only, so its reverse puts back that row from one copy of the grid (array_restore: disjoint
    writes) instead of a snapshot of the whole grid per row, and the loop over a row's elements
    copies that row, not the grid, per run: both made the gradient cubic in the grid's side."""
    grid = np.linspace(0.1, 0.9, 20).reshape(5, 4)
    source = _gradient_source(pf.row_sweep, (grid, 0.3, 2), (0, 1))
    reverse = _code_after(source, "# reverse sweep")
    assert "u_snapshots[i" not in reverse and "np.copy(u[i])" in reverse, source
    assert "copy_into(u[i], u_at_entry" in reverse, source


def test_a_linear_sweeps_logged_writes_are_not_replayed():
    """Gauss-Seidel in place: the loop over a row's elements logs each element it overwrites, and
    its adjoint pops the log back into `u` before anything reads it; the adjoint of a sweep linear
    in `u` reads none of `u` (undone_loops.drop_undone_logged_writes). So the reverse sweep neither
    replays the sweep nor logs, nor snapshots `u` per sweep."""
    f = np.linspace(-1.0, 1.0, 36).reshape(6, 6)
    for fn in (pf.gauss_seidel, pf.gauss_seidel_from_the_right):
        source = _gradient_source(fn, (f, 0.3, 2), (0, 1))
        reverse = _code_after(source, "# reverse sweep")
        assert not re.search(r"\bu\[i, j\] =|u_log|u_snapshots", reverse), source
        assert "element log" not in source, source
    # Jacobi into a copy of the grid: the replay reads `u`, which may share `un`'s memory, but
    # only for the values it writes into `un`, which the restores undo
    source = _gradient_source(pf.jacobi_new_grid, (f, 0.3, 2), (0, 1))
    assert not re.search(r"\bun\[i, j\] =|at_entry", _code_after(source, "# reverse sweep")), source
    # red-black: a loop of step 2, whose adjoint counts its iterations backwards
    source = _gradient_source(pf.red_black, (f, 2), 0)
    reverse = _code_after(source, "# reverse sweep")
    assert "for iteration in" in reverse and not re.search(r"\bu\[i, j\] =|u_log|u_snapshots", reverse), source


def test_logged_writes_the_adjoint_or_another_array_reads_are_replayed():
    """A term in the old value (the adjoint reads `u`), or a sum of squares of what each step
    wrote into another array: the replay stays (restoring rows from a copy, array_restore's
    disjoint writes), and both gradients are right."""
    f = np.linspace(-1.0, 1.0, 36).reshape(6, 6)
    for fn in (pf.gauss_seidel_nonlinear, pf.gauss_seidel_tracked):
        reverse = _code_after(_gradient_source(fn, (f, 0.3, 2), (0, 1)), "# reverse sweep")
        assert re.search(r"\bu\[i, j\] = (?!u_at_entry)\w+$", reverse, re.M), (fn.__name__, reverse)


def test_an_in_place_sweep_is_restored_from_a_copy_not_a_log():
    """Upwind advection updated in place from the right end: each iteration writes only its own
    element and reads its left neighbour, which the reverse walk has not yet put back. One copy of
    `u` per sweep and a put-back per element replace the element log (an index and a value pushed
    and popped on lists per write)."""
    source = _gradient_source(pf.upwind_in_place, (np.linspace(0.1, 0.9, 9), 0.4, 3), (0, 1))
    reverse = _code_after(source, "# reverse sweep")
    assert "u_log" not in source and re.search(r"\bu\[i\] = u_at_entry\w*\[i\]", reverse), source


@pytest.mark.parametrize("fn, args, wrt, offsets", [
    (pf.wave_step_sums, (np.linspace(-1.0, 1.0, 12) ** 2, 0.3, 4), (0, 1), ("i - 2", "i - 1", "i + 1")),
    (pf.two_fields_coupled, (np.linspace(0.1, 1.0, 10), np.cos(np.arange(10.0)), 0.2, 3), (0, 1, 2), ("i - 1", "i + 1")),
    (pf.stencil_steps_with_costly_weights, (np.sin(np.arange(9.0)), 0.6), (0, 1), ("i - 1", "i + 1")),
], ids=["wave", "descending-coupled", "taped-weights"])
def test_a_stencils_adds_at_each_offset_get_a_loop_of_their_own(fn, args, wrt, offsets):
    """Adds into u_bar at i - 1 and i + 1 in one iteration make each iteration wait for the last
    one's store; one loop per offset has none, and the parameter's adjoint is summed in any order."""
    source = _gradient_source(fn, args, wrt)
    for offset in offsets:
        assert re.search(rf"# the adds into \w+_bar\[{re.escape(offset)}\].*\n\s+for ", source), (offset, source)
    assert re.search(r"(\w+_bar) = sum_in_any_order\(\1, ", source), source


@pytest.mark.parametrize("fn, args, wrt", [
    (pf.neighbours_read_back, (np.linspace(-1.0, 1.0, 9), 0.7), (0, 1)),
    (pf.smoothed_with_memory, (np.linspace(-1.0, 1.0, 9), 0.6), (0, 1)),
    (pf.rosenbrock_of_a_vector, (np.linspace(-1.0, 1.0, 9),), 0),
    (pf.heat2d_work_array, (np.outer(np.linspace(0, 1, 6), np.linspace(1, 2, 7)), 0.1, 3), (0, 1)),
], ids=["read-in-the-loop", "carried-adjoint", "single-pass", "rows-of-a-grid"])
def test_a_loop_a_split_would_not_speed_up_stays_whole(fn, args, wrt):
    """Iterations that depend on each other must stay in order; a single pass over the arrays and
    adds into three rows of a grid are not faster split (see vectorized_loops.py)."""
    source = _gradient_source(fn, args, wrt)
    assert "a loop of their own" not in source, source
