"""Functions that srcgrad once differentiated wrongly or crashed on (issue 6), one bug each."""
import math

import numpy as np
import scipy.special


def dot_derived(x):
    v = np.sin(x)
    return np.dot(x, v)


def dot_method(x):
    return x.dot(2.0 * x)


def transposed_product(A, B):
    return np.sum((A @ B).T * B)


def transposed_scaled(A, B):
    return np.sum((A * 2.0).T * B)


def transposed_sum(A, B):
    return np.sum((A + B).T * B)


def one(x):
    return (x * 2.0,)


def unpack_one(x):
    (y,) = one(x)
    return np.sum(y * y)


def index_call(x):
    y = one(x)[0]
    return np.sum(y * y)


def pair(p):
    return p * 2.0, p * 3.0


def tuple_kept(p):
    t = pair(p)
    return np.sum(t[0] * t[1])


def prod_over_zero(x):
    return np.prod(x)


def prod_unused(x):
    p = np.prod(x)
    return np.sum(x * x) + 0.0 * p


def prod_unread(x):
    p = np.prod(x)   # noqa: F841  (never read: its partials must not leak a NaN into the gradient)
    return np.sum(x * x)


def cumsum_matrix(A):
    c = np.cumsum(A)
    return np.sum(c * c)


def max_of_transpose(A):
    return np.max(A.T)


def max_method_of_transpose(A):
    return A.T.max() + np.min(A.T)


def broadcast_up(y):
    M = np.zeros((2, 3))
    m = M - y
    return np.sum(m * m)


def broadcast_up_read(y):
    M = np.zeros((2, 3))
    m = M - y
    return m[1, 2] * m[0, 1]


def early_constant_return(c):
    if c <= 0.0:
        return 0.0
    return c * c


def conditional_write_in_loop(x):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] if x[i] > 0 else 2.0 * x[i]
    return np.sum(out * out)


def concatenate_matrices(A):
    B = np.concatenate((A, A * 2.0))
    return np.sum(B * B)


def inactive_elementwise(x, a):
    w = np.sin(x)
    return np.sum(w * a)


def active_in_branch(x, a):
    s = a
    if x[0] > 5.0:
        s = np.mean(x)
    return s * a


def helper_constant(a):
    return a * 2.0


def helper_in_condition(x):
    s = x
    if helper_constant(1.0) > 1.0:
        s = x * x
    return s


def where_scalar(x, y):
    return np.sum(np.where(x > 0, x * y, y))


def identity_written(x):
    n = x.shape[0]
    E = np.eye(n)
    E[0, 0] = x[0]
    return np.sum(E * x)


def reshape_argument(A):
    return np.sum(np.reshape(A, (6,)) ** 2)


def enumerate_loop(x):
    s = 0.0
    for i, v in enumerate(x):
        s += v * i
    return s


def tuple_return_after_break(x):
    s = 0.0
    t = 0.0
    for i in range(x.shape[0]):
        if x[i] > 10.0:
            break
        s += x[i]
        t += x[i] * x[i]
    return s, t


def clip_float(a):
    return np.clip(a, -1.0, 1.0) * a + math.sin(a)


# ----- found by the random-program fuzzer ---------------------------------------------------

def filled_from_input(a):
    w = np.zeros((3, 3))
    w[-1, 2] = a
    w[1, :] -= np.concatenate((np.linspace(0.5, 1.5, 1) * w[0, -1], np.full(2, a)))
    return np.sum(w * np.linspace(a, 2.0 * a, 3)) + np.sum(np.full_like(w, a))


def arange_of_input(a):
    return np.sum(np.arange(a, 3.0, 0.5))


def return_arrays_from_loop(a, n):
    s = 0.0
    if n % 2 == 0:
        k = 0
        while k < 4:
            k += 1
            if a > 5.0:
                return np.ones(2) * a, a * s
            s = s - 0.1 * a
    return np.ones(2) * s, a * a


def overwrite_in_elementwise_run(x):
    u = x * 2.0
    u = np.tanh(u + x)
    return np.sum(u * u)


def length_one_broadcast(a):
    u = np.ones(1) * a
    u = np.tanh(u + np.ones(4))
    return np.sum(u)


def length_one_view_broadcast(a):
    # the length-1 operand is a slice read after an array: its length was not checked, and the
    # element loop read past its end
    u = np.linspace(0.5, 1.5, 4) * a
    v = np.cumsum(np.ones(3) * a)
    return np.sum(np.sin(u * v[:1]))


def chained_index_write(A):
    w = (A @ A.T).copy()
    i = 0
    w[2][i] = 0.75
    w[1][2] += w[0][0]
    return np.sum(w * w)


def write_while_viewed(x):
    A = np.zeros((2, 3))
    A[0, :] = x
    r = A[0]
    A[0, 1] = 5.0
    return np.sum(r * x)


def rows_still_to_come_written(x):
    # a loop over a view's rows writes into the array: numpy's later rows see the write
    w = x * 1.0
    total = 0.0
    for r in w[::-1]:
        total = total + r * w[0]
        w[1] = total
    return total


def write_into_row(x):
    A = np.zeros((2, 3))
    r = A[1]
    r[0] = x[0]
    return np.sum(A * A)


def chained_assignment(x):
    a = b = x * 2.0
    return np.sum(a * b)


def name_reused_by_run(a, A, B):
    t = np.negative(A[0, :])
    t = np.sin(t) * np.mean(np.tan(0.8 * np.sin(B)), axis=0)
    return a * np.sum(t)


def parameter_becomes_active(x, q):
    q /= x[0]
    return q * np.sum(x)


def lists_of_arrays(x):
    y = np.concatenate([x, x * 2.0])
    z = np.stack([x, x])
    w = np.array([x[0], x[1] * x[2]])
    return np.sum(y * y) + np.sum(z) + np.sum(w)


def rows_of_rebound_array(x):
    for i, r in enumerate(x):
        x = np.ones(3) * r
    return x[1]


def rows_rebound_inside_nested_loop(A, B):
    total = 0.0
    for i, b in enumerate(B):
        for r in A:
            r = 0.5 * r + b[0]
            total += np.sum(r * r)
    return total


def unpack_rows_of_a_reshape(x, a):
    w = (np.ones((4, 4)) * a @ (np.outer(x, x) + x)).copy()
    u, v = np.reshape(w[0:2].T, (2, 4))
    return u * v + np.sum(w)


def trajectory_rows(x):
    Y = np.zeros((4, 3))
    Y[0, :] = x
    for t in range(3):
        y = Y[t]
        Y[t + 1, :] = y * 0.5 + np.sin(y)
    return np.sum(Y[3] * Y[2])


def interior_slices(u, k):
    v = u.copy()
    for _ in range(3):
        v[1:-1] = v[1:-1] + k * (v[2:] - 2.0 * v[1:-1] + v[:-2])
        v[0:2] = v[0:2] * 0.9
    return np.sum(v * v)


def slice_of_slice(x):
    w = 0.5
    w -= np.sin(x[:3][0:2])
    return w


def returned_alias_written(x):
    w = np.zeros((4, 2))
    t = w
    w[1][-2] = np.dot(x, x)
    return t


def transpose_then_written(x):
    w = np.zeros((3, 3))
    t = w.T
    w[0, 2] += np.dot(x, x)
    return t


def rebound_and_written_in_while(A):
    w = np.zeros((4, 2))
    k = 0
    while k < 6:
        k += 1
        w[k % 4, 1] += 0.5
        w /= 1.0 + A[k % 3]
    return w.sum()


def transpose_read_after_restore(x):
    s = 0.5
    w = np.zeros((3, 3))
    w[2:3, :] = 0.5
    s /= w.T @ x
    w[-3, 2] += 0.5
    return w + s


def overwritten_after_array_read(p):
    # fuzzer 78:32:0: two straight-line writes after an array-level read; undoing the second write
    # must not be mistaken for a write that the first undo cancels
    w = np.empty(2)
    for i in range(w.shape[0]):
        w[i] = p[i]
    t = np.arcsinh(w)
    w[0] = 0.22
    w[0] += 0.5
    return t


def lgamma_constant(x, n):
    # on a constant argument a call is just a number (GMM's Wishart prior)
    c = math.lgamma(0.5 * n) - math.lgamma(1.5)
    return c * np.sum(x * x)


def lgamma_of_input(x):
    return math.lgamma(x) * x


def gamma_of_input(x):
    # math.gamma has no derivative rule: on an input that carries a derivative it is refused
    return math.gamma(x) * x


def arange_scaled_by_input(x):
    # the arange's argument is not needed by anything else: its derivative would silently vanish
    step = 0.5 * x
    return np.sum(np.arange(0.0, 3.0, step) * 2.0)


def prints_and_asserts(x):
    # print and assert show and check values; the derivative computes without them
    assert x.shape[0] == 3, "three values"
    s = 0.0
    for i in range(3):
        if x[i] > 0.0:
            print("positive", i, x[i])
        s += x[i] * x[i]
    print("total", s)
    return s


def rebound_then_filled_in_while(x):
    # fuzzer 2:351:0: the loop writes into the array from the previous iteration, then binds a new
    # one and fills it; undoing the first write must not also write the new array's old contents
    w = np.empty(2)
    for i in range(w.shape[0]):
        w[i] = float(i)
    k = 0
    while k < 2:
        k += 1
        w[k - 1] = 0.5
        w = np.hypot(np.cos(w), x[k:k + 2])
    return w


def rebound_then_filled_and_read_nested(x):
    # the same, with the new array filled by a loop that also reads it
    w = np.ones(3)
    for step in range(3):
        w[step] = 0.5 * w[step] + x[step]
        w = np.zeros(3) + x[0]
        for i in range(1, 3):
            w[i] = w[i - 1] * math.sin(x[i] + w[i])
    return w


def update_while_rows_viewed(x):
    # fuzzer 2:823:0: numpy's `w -= r` changes the rows of w that r views; refused, not miscomputed
    w = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            w[i, j] = x[j % 2]
    for i, r in enumerate(w):
        w -= r
    return w.sum()


def slice_assigned_to_itself(x):
    # fuzzer 2:1832:0: `w[:] = w` passes the cotangent through; its adjoint took then cleared it
    w = np.full(3, 0.68)
    w[0:3] += x[-3:]
    w[:] = w
    return w


def rebound_in_branch_after_nonlinear(n, A):
    # fuzzer 2:2151:0: a branch that rebinds w (and in its other arm writes into it) must save w,
    # which the adjoint of tanh reads
    w = A.copy()
    w = np.tanh(w)
    if n > 1:
        w *= 0.77
    else:
        w[-1 - n, -1 - n] *= 0.5
    return w


def _set_last(out, p):
    out[-1] = 0.66
    return 0.5 * p


def element_read_again_after_subroutine(x):
    # fuzzer 93:180:0: w[-1] read before a call that writes into w must be read again after it
    w = np.empty(2)
    for i in range(2):
        w[i] = math.erfc(np.log1p(1.0 + x[2 - i] ** 2))
    u = _set_last(w, w[-1])
    return w[-1] * x[0] + u


def gather_repeated(x):
    # an integer-array index that repeats an element: its adjoint adds once per occurrence
    return np.sum(x[np.array([0, 2, 2, -1])] ** 2)


def gather_rows_repeated(A, rows):
    return np.sum(np.sin(A[rows, 1:]) * A[rows, :2])


def gather_column_in_loop(A, rows):
    total = 0.0
    for j in range(A.shape[1]):
        total += np.sum(A[rows, j] * A[rows, j])
    return total


def gather_masked(x):
    return np.sum(x[x > 0.0] ** 3)


def scatter_repeated(x, v):
    # numpy keeps the last of repeated writes: the earlier ones have no derivative
    y = x * 1.0
    y[np.array([0, 2, 2])] = v
    return np.sum(y * x)


def scatter_added_in_loop(x, v):
    y = x * 1.0
    for k in range(2):
        y[np.array([0, 2, 2])] += v * y[1]
    return np.sum(y * x)


def scalar_into_repeated_slots(x, y):
    # fuzzer 101:138:0: one value written into several slots: its adjoint sums them
    w = np.ones(4)
    w[np.array([-4, -4, 1])] = y @ y
    return w * x


def _scale_in_place(out, p):
    out *= p


def _shift_number(a, p):
    a += p
    return a * 2.0


def subroutine_updates_in_place(x):
    # fuzzer 101:242:0: `out *= p` in a subroutine changes the caller's array, as numpy does
    w = x * 1.0
    _scale_in_place(w, x[0])
    s = x[1] * 1.0
    t = _shift_number(s, x[2])   # a float parameter's update stays inside the callee
    return np.sum(w * w) + s * t


def view_updated_in_place(a):
    # numpy's `row *= 2.0` changes w too; srcgrad would bind a new row: refused
    w = np.array([a, 2.0 * a, 3.0])
    row = w[0:2]
    row *= 2.0
    return np.sum(w * w)


def flatten_then_written(a):
    # fuzzer 104:11:0: x.flatten() is a copy (np.ravel may be a view): a later write into w leaves t alone
    w = np.full((2, 2), a)
    t = w.flatten()
    w[:, 0] += 0.5 * a
    return np.sum(t * t) + np.sum(w)


def array_of_a_tuple_variable(a):
    t = (a, 2.0 * a)
    return np.sum(np.array(t) ** 2)


def shifted_in_place(x):
    # a write whose value is a view of the array written: numpy copies the overlapping values
    w = x * 1.0
    w[1:] = w[:-1]
    return w * np.arange(1.0, 5.0)


def transpose_rescaled_in_loop(A, x):
    t = np.transpose(A)
    for i in range(x.shape[0]):
        t = 0.5 * t + x
    return np.sum(t * t)


def transpose_through_ufunc_in_while(A, x):
    t = A.T * 2.0
    k = 0
    while k < 3:
        m = np.sin(t)
        t = m[1:] + x
        k += 1
    return np.sum(t ** 2)


def copied_transpose_in_loop(A):
    # np.copy keeps a transpose's F order: the loop's re-binding must not meet it unviewed (fuzz 26:1220:0)
    w = A.T.copy()
    scale = np.ones(w.shape)
    for i in range(3):
        w = w - A[i, 0] * w
        w = w / (scale + w * w)
    return np.sum(w)


def transpose_rebound_in_nested_loops(A, x):
    t = A.T * x[0]
    for i in range(2):
        for j in range(2):
            s = -t
            t = s * x
    return np.sum(t)


def grown_trajectory(a):
    xs = np.array([a])
    for i in range(3):
        xs = np.concatenate((xs, np.array([xs[-1] * a])))
    return np.sum(xs * xs)


def shrunk_by_differences(x):
    while x.shape[0] > 1:
        x = x[1:] - 0.5 * x[:-1] ** 2
    return x[0]


def work_name_reused(x, A):
    tmp = A @ x
    s = np.sum(tmp * tmp)
    tmp = A[:2] @ x
    return s + np.sum(tmp * x[:2])


def sliced_to_itself(x):
    x = x[1:, :]
    return np.sum(np.sin(x) * x)


def last_of_shrinking_temporary(x):
    for k in range(1, 4):
        tmp = x[:k] * 2.0
    return np.sum(tmp * tmp)


def transpose_bound_inside_nested_loop(A, x):
    w = A * 1.0
    for i in range(2):
        for j in range(2):
            w = w - 0.1 * w[:, 1].dot(x)
            t = np.sign(w.T) * w.T
        w = w / (1.0 + np.sum(t))
    return np.sum(w * w)


def array_then_number(x):
    h = np.array([1.0])
    for i in range(2):
        h = np.concatenate((h, np.array([np.sum(h) * x[0]])))
    s = np.sum(h * h)
    h = 0.5 * s
    return h


def number_then_array(x, y):
    s = np.outer(y, y)[1, 2] + 2.05
    x = x + s
    s = np.ones(3) * s
    return np.sum(x * x) + np.sum(s * y)


def written_after_a_loop_that_tapes_it(x):
    w = np.zeros((2, 4))
    for i in range(4):
        if x[0] > 10.0:
            w = w - 1.5
        t = x[i] * np.exp(np.sum(w, axis=0))
    w[0, 1] += 0.5
    return w * x[1] + np.sum(t)


def row_sums_of_a_name_that_was_a_number(a, x):
    s = 0.0
    s = np.ones((3, 3)) * a
    return np.sum(s, axis=1) * x + np.sum(s * s)


def vector_summed_along_its_axis(x, A):
    # np.sum(x, axis=0) of a vector is a number (numba's expand_dims takes arrays only); Python's sum too
    return np.sum(x, axis=0) ** 2 + np.mean(x, axis=-1) + sum(x) * np.sum(sum(A) * x)


def _half(p):
    w = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            w[i, j] = 0.25 * np.sign(p[j])
    return 0.5


def returns_a_filled_array_from_a_branch(x, a):
    # the value is the array the reverse sweep restores in place: it must be captured as a copy
    w = np.empty((3, 3))
    for i in range(len(w)):
        for j in range(w.shape[1]):
            w[i, j] = x @ x * a
    if 0.5 and _half(x) < 0.5:
        pass
    else:
        return w
    return w * 2.0


def literal_pieces_concatenated(x, A):
    # a list literal inside the pieces of np.concatenate / np.vstack is an array of its own
    grown = np.concatenate((x, [np.sum(x * x) ** 2, x[0]]))
    B = np.vstack((A, [[x[1], 2.0 * x[2], x[0]]]))
    return np.sum(np.concatenate([grown, [1.5]]) ** 2) + np.sum(B @ grown[:3])


def vstack_of_matrix_and_vector(x):
    return np.sum(np.vstack((np.eye(3) * x, np.full(3, x))))


def validated_inputs(x, n):
    # input checks with raise: the derivative raises what the function raises
    if n > x.shape[0]:
        raise ValueError("n is longer than x")
    s = 0.0
    for i in range(n):
        if x[i] < -10.0:
            raise ValueError("x is too small")
        s += x[i] ** 2 * x[0]
    return s


class ModelError(Exception):
    pass


def raises_own_exception(x):
    if x < -10.0:
        raise ModelError("x is too small")
    return x * x


def read_then_filled_with_constants(A):
    # 21:4006:0: the loop fills w with constants after np.dot read it; np.dot's result is a new
    # array, which made the loop look like it filled a fresh one, and w was never restored
    w = np.zeros(4)
    t = np.dot(A, w + 0.25)
    for i in range(4):
        w[i] = 0.5
    return t * w[0]


def dead_branch_of_an_aliased_name(p):
    # 21:3053:0: t is a view of w in one branch, so active, and dead everywhere; the branch that
    # binds it to an elementwise result must still bind it (the adjoint's allocation reads its shape)
    w = np.ones(6)
    w[-2] = p * 2.0
    if p < 10.0:
        if p < -0.18:
            t = np.roll(w[4:], -1)
        else:
            t = np.ones(2) * p
    else:
        t = w[1:3]
    return w[4] * p


def outer_of_a_row(A, x):
    # 25:4869:0: np.outer flattens its arguments; a (1, n) row's adjoint must take the row's shape
    w = (x @ A - np.mean(A, axis=0, keepdims=True)).copy()
    return np.sum(np.outer(A[0], w) * A[np.array([2, 1, 2, 0])].T)



def sinc_and_cumprod(x):
    # sinc's slope at 0 is its limit, 0 (the quotient formula is 0/0); a running product through a
    # zero factor (a division-based derivative would give nan)
    return np.sum(np.sinc(x)) + np.cumprod(np.array([x[0] + 1.0, x[1], x[2] + 0.5]))[-1]


def _two_exits(x, scale, shift=0.25):
    total = 0.0
    for i in range(x.shape[0]):
        total = (total + np.sin(x[i]) * scale) * 1.01 + shift
    if total > 100.0:
        return total * 0.5
    return total + shift


def keywords_to_a_called_helper(x):
    # a helper that is called, not inlined (two returns), given keywords and relying on a default:
    # its derivative was built for the positional arguments only
    return _two_exits(scale=0.5, x=x * x) + _two_exits(x, 0.5) + _two_exits(x * x, 0.5, shift=x[0])


def _pair(x):
    return x * 2.0, np.sin(x)


def unpacked_into_a_list(x):
    # `[y, z] = f(x)` unpacks like `y, z = f(x)` (issue 7: it was called an attribute assignment)
    [y, z] = _pair(x)
    [a, (b, c)] = y * z, (y, 3.0)
    return np.sum(a + b * c)


def rebound_to_a_matrix_then_min(a):
    # 31:583:0: u is a vector, then a matrix: its kind is "an array of some rank", so an element
    # read from it was taken for an array and its adjoint started as np.zeros(element.shape);
    # Python's min of two numbers is a number whatever the kinds say
    u = np.linspace(0.5, 1.5, 3) * a
    u = np.vstack((np.outer(u[np.array([2])], u), np.outer(np.ones(2) * a, u)))
    u = 0.5 * u + min(u[0, -1], a)
    return np.sum(u)


def restored_from_the_tape(A):
    # 29:1469:0: the reverse loop takes w back from its tape and undoes its element write; numba
    # dropped that last store (its alias analysis does not follow a list's items), so the adjoint
    # of the outer product, read after the loop, saw the overwritten element (backend="numba")
    w = np.full(2, A[3, 0] ** 2)
    u = np.outer(A[-1], w)[1]
    for i in range(1, 2):
        w[i] -= -abs(1.0 + np.dot(A[3 - i], w[:2]) ** 2)
        w += w
    return np.sum(u) + w.sum()


def diagonal_then_written(a, b):
    # 28:896:0: np.diag of a matrix is a view in numpy; the write into w changed what the adjoint
    # of the dot product read (backend="python" only: numba's np.diag copies)
    w = np.full((4, 4), -1.3)
    w[2, -2] = np.concatenate(([b, a, b], np.ones(1) * -0.7)).dot(np.diag(w))
    return np.sum(w, axis=1) * a


def row_into_column(a):
    # 28:469:0: numpy writes a row of w into a column of w element by element, without the copy
    # it makes for a shift along one axis: the result depends on its order, so this is refused
    x = np.array([0.5, -1.0, 2.0]) * a
    w = np.outer(x, x)
    w[:, -1] = w[1]
    return np.sum(w)


def where_with_a_wider_condition(a, A):
    # 58:6:0: a comparison's kind said "a bool", so np.where of a matrix condition and vector
    # branches was taken for a vector: the branch's adjoint, matrix-shaped, was added to a vector
    t = np.where(0.5 > A[1:3, 1:3], np.ones(2) + np.outer(A, np.linspace(0.5, 1.5, 4) * a)[1, 3], 0.5)
    return np.sum(t * A[:2, :2]) + np.where(A[0] > 0.0, a * A[0], -a).sum()


def squeezed_view_updated_in_place(a):
    # 58:716:0: np.squeeze was a copy in the generated code (a sum over the axis of length one),
    # so `w += w` changed only the function's own `t`, a view in numpy: now a view, and refused
    w = np.ones((4, 4)) * a
    t = w[1:3][:1].squeeze(axis=0)
    w += w
    return np.sum(t)


def array_or_number_from_two_returns(a, b):
    # 67:282:0: the returned name is an array on one path and a number on the other; its adjoint
    # was zeroed as an array (`result_bar[...] = 0.0`) on the number's path too
    t = np.where(1.0 < np.ones(4), a, np.transpose(np.ones((4, 3))))
    if b > 2.0:
        return t
    return t[1, 1]


def elementwise_return_inside_a_loop(A):
    # 67:791:0: scalarize took the returned value's name (bound on each path to a return) as a
    # second name of the loop's result and wrote its elements; reverse mode then kept the name's
    # value from before each iteration, where it had none yet
    for i in range(A.shape[0]):
        if i != 4:
            return +np.concatenate(([0.5], A[i]))
    return np.linspace(0.5, 1.5, 3)


def _update_after_where(q):
    t = np.where(np.linspace(0.5, 1.5, 4) * q > q, np.ones(4) * q, np.ones(4) * -0.29)
    q *= np.cos(t[0] - 0.3)
    return np.sum(t) + q


def float_argument_updated_by_callee(x):
    # 907:83:0: the callee's `q *= ...` updates its own float only, but the inliner's write-back
    # `s = q` stayed (q's kind was unknown, from np.where), changing the caller's `s`
    s = x[-1]
    u = _update_after_where(s)
    return u * x[0] + s


def _f908_h0(p):
    s0 = p
    w1 = np.sin(np.where(np.linspace(0.5, 1.5, 2) * -1.03 < -0.11, np.linspace(0.5, 1.5, 2) * p, np.linspace(0.5, 1.5, 2) * p)).copy()
    w1[1] += np.einsum('i,i', np.array([p, p, w1[1], s0]), w1[np.array([0, -1, 1, 0])])
    return np.mean(w1) + s0 + +np.max(w1)


def _f908_h1(p):
    s2 = 0.0
    t3 = 0.25 * np.trunc(p)
    t3 /= 1.0 + np.square(np.mean(np.einsum('ik,kj->ij', np.dot(np.outer(np.ones(2) * p, np.ones(4) * -1.37), np.ones((4, 4)) * t3), np.concatenate((np.outer(np.linspace(0.5, 1.5, 1) * p, np.linspace(0.5, 1.5, 4) * p), np.ones((3, 4)) * -0.7)))))
    return t3 + s2 + math.atanh(0.8 * np.sin(p))


def unused_user_call_result(a, A, B):
    # 908:989:0 (the fuzz program): a call jacfwd's array vector mode does not inline, whose
    # result the output never reads: its jvp was called with `da[direction]` outside any loop
    # over directions (UnboundLocalError)
    s4 = 0.0
    w5 = np.array([a / (1.0 + s4 ** 2), np.power(2.0 + np.tanh(B[1, -1]), -0.82), _f908_h1(a), _f908_h1(B[-2, 0])])
    t6 = +a
    for i7 in range(3):
        w8 = np.empty((4, 2))
        for i9 in range(w8.shape[0]):
            for j10 in range(w8.shape[1]):
                w8[i9, j10] = math.cosh(np.sin(w5[np.array([0, -1])].sum()))
        if i7 != 1:
            u12 = _f908_h0(s4)
        else:
            for i13 in range(0, 6, 2):
                t14 = w8[-1 - i7, -2]
                u15 = _f908_h1(_f908_h0(math.tan(0.9 * np.tanh(0.11))))
            u16 = _f908_h0(math.erfc(0.25 * int(A[i7 % 2, i7])))
    u17 = _f908_h0(A[1, -3])
    return s4 + t6 + u17 + np.power(2.0 + np.tanh(np.maximum(np.ones(8) * a, a)), B[np.array([-1, -2, -1, -1, -2, 0, -2, -1])].min(axis=1))


def updated_after_a_real_part(n, A):
    """913:66:0 (shrunk): np.real of a real array is that array, so the update changes the values
    the einsum read; the reverse sweep must see them as they were."""
    w1 = np.full(3, 1.3)
    w1[n % 3] += np.einsum('i,i', 0.5 * A[:, 1], np.real(w1))
    return w1


def outer_of_a_number(a, v):
    """913:66:0's other half: np.outer flattens a number too; its adjoint took np.ravel(a), which
    numba does not compile for a float."""
    return np.sum(np.outer(a, v) ** 2) + np.sum(np.outer(v, a) * v[0])


def through_asarray(x):
    """np.asarray of an active array is that array; of a number, a 0-d array."""
    y = np.asarray(x)
    s = np.asarray(np.sum(y * y))
    return np.sum(np.sin(y) * s)


def returns_a_0d_array(x):
    """grad of a function returning a 0-d array (one number, as JAX's grad takes it)."""
    return np.array(np.sum(np.sin(x) * x)) * 1.5 + np.zeros(())


def list_items_rewritten(x, y):
    """Items stored into a list with the items' own shape: the array srcgrad keeps the list as."""
    items = [y, 2.0 * y]
    for i in range(2):
        items[i] = items[i] * x
    return np.sum(items[0] * np.cos(items[1]))


def number_stored_into_a_list_of_arrays(a):
    """A Python list takes a number where it held an array; as an array's row it would be filled
    with it (the sum of the row three times the number): silently wrong before it was refused."""
    x = a * np.arange(1.0, 4.0)
    items = [x, x]
    items[0] = 2.0 * x[0]
    return np.sum(items[0]) + np.sum(items[1])


def longer_array_stored_into_a_list(a):
    x = a * np.arange(1.0, 4.0)
    items = [x, x]
    items[0] = np.concatenate((x, x))
    return np.sum(items[0])


def length_one_array_stored_into_a_list(a):
    """Another silent broadcast: a row takes a length-1 array by filling itself with it."""
    x = a * np.arange(1.0, 4.0)
    items = [x, x]
    items[1] = x[:1] * 3.0
    return np.sum(items[1])


def _add_into_last(out, p):
    out[3:4] += p


def second_name_from_a_branch_then_written(a, b):
    """Fuzz 923:2224:0: `w[::-1] if ... else w` binds, on one path, a second name for w, which the
    product's adjoint reads after the callee wrote into w. Dead-code elimination dropped the undo
    of that write: tracking what shares a new array's memory, a name bound to it was added and
    then taken away again as bound anew (vjp -1.83 where finite differences give -2.41)."""
    w = np.zeros(4)
    w[-2] = a
    _add_into_last(w, np.matmul(w[::-1] if 0.5 <= b else w, np.cumsum(w)))
    return w


DEBUG = False
SMOOTHING_STEPS = 3


def written_under_a_false_global_flag(x):
    """`if DEBUG:` with the module's DEBUG = False: numba drops the branch before typing, so the
    undo log of the write inside it was never typed and the vjp did not compile."""
    w = x * 1.0
    total = 0.0
    for i in range(x.shape[0]):
        if DEBUG:
            w[i] = 0.5 * w[i]
        total += np.sin(w[i]) * x[i]
    return total


def taped_under_a_local_constant_test(A):
    """Fuzz 918:590:0: `s0 = 0.0; if s0 > 0.16:` around a while loop writing into an array: its
    tapes (a list per loop) were appended only in the branch numba drops, `list(undefined)`."""
    s0 = 0.0
    w1 = np.full((4, 4), 0.24)
    t2 = A[0, 0] * 2.0
    if s0 > 0.16:
        k3 = 0
        while k3 < 3:
            k3 += 1
            w1[-1 - k3, k3 - 1] = t2
    w1 = w1 * A[1, 1]
    return np.sum(w1) + t2 + s0


def branch_on_a_global_number(x):
    """A global number in a test numba folds: the branch taken, and a conditional expression."""
    w = x * 1.0
    for i in range(x.shape[0]):
        if SMOOTHING_STEPS > 5 and i > 0:
            w[i] = w[i] * 2.0 + w[i - 1]
        else:
            w[i] = np.sin(w[i]) if SMOOTHING_STEPS < 4 else np.cos(w[i])
    while SMOOTHING_STEPS < 0:
        w = w * 3.0
    return np.sum(w * x)


def flag_bound_twice(x, c):
    """A local flag bound on two paths is not known before the function runs: kept as a branch."""
    flag = False
    if c > 0.0:
        flag = True
    w = x * 1.0
    if flag:
        w[0] = w[0] * w[1]
    return np.sum(w * w)


def heat_steps_through_a_work_array(u0, kappa):
    """Explicit heat steps written the Fortran way: a stencil into a work array, then `u[:] = new`.
    The write log of u took whole slices, which have no index to push, and its index list stayed an
    empty list nothing appended to: numba could not type it and refused the derivative."""
    n = u0.shape[0]
    u = u0.copy()
    new = np.zeros(n)
    for t in range(4):
        for i in range(1, n - 1):
            new[i] = u[i] + kappa * (u[i + 1] - 2.0 * u[i] + u[i - 1])
        u[:] = new
    return np.sum(u * u)


def stencil_slice_and_boundary_element(u0, kappa):
    """A stencil's slice `new[1:-1] = ...` and boundary elements `new[0] = new[1]` written into one
    work array in one time step: refused before ("differently shaped indices in one loop"), as the
    undo log holds one index shape per loop; a counted loop now snapshots the array instead."""
    n = u0.shape[0]
    u = u0.copy()
    new = np.empty(n)
    for t in range(5):
        new[1:-1] = u[1:-1] + kappa * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        new[0] = new[1]
        new[-1] = 0.5 * new[-2]
        u = new.copy()
    return np.sum(u * u * u)


def stencil_in_place_with_a_boundary(u0, kappa):
    """The same in place: `u[1:-1] = u[1:-1] + kappa * lap; u[0] = u[1]` each step."""
    u = u0.copy()
    for t in range(5):
        lap = u[2:] - 2.0 * u[1:-1] + u[:-2]
        u[1:-1] = u[1:-1] + kappa * lap * u[1:-1]
        u[0] = u[1]
    return np.sum(u * u)


def stencil_and_boundary_in_a_while_loop(a):
    """Mixed index shapes in a loop of unknown trip count: snapshot on a list of copies (refused
    before: no trip count sized the tape)."""
    u = np.linspace(0.0, 1.0, 6) * a
    t = 0
    while t < 3:
        u[1:-1] = u[1:-1] + 0.1 * (u[2:] - 2.0 * u[1:-1] + u[:-2]) * u[1:-1]
        u[0] = u[1]
        t += 1
    return np.sum(u * u)


def _slopes(x, y):
    n = x.shape[0]
    z = np.empty(n)
    z[0] = x[0]
    for i in range(1, n):
        z[i] = x[i] * y[0]
    return z


def rk2_steps_of_a_state(x, y, steps):
    """Midpoint steps whose stage `y + h / 2.0 * k1` fuses into one element loop; called with a
    state shorter than x, numpy refuses the sum (a length check before the loop must say so)."""
    h = 0.1
    for _ in range(steps):
        k1 = _slopes(x, y)
        k2 = _slopes(x, y + h / 2.0 * k1)
        y = y + h / 6.0 * (k1 + 2.0 * k2)
    return y[-1]


def heat_until_settled(u0, kappa):
    """Explicit heat steps with insulated ends until the profile settles: a while loop whose trip
    count depends on the values, writing a slice and both boundary elements each step."""
    u = u0.copy()
    change = 1.0
    steps = 0
    while change > 1e-3 and steps < 60:
        old = u.copy()
        u[1:-1] = u[1:-1] + kappa * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        u[0] = u[1]
        u[-1] = u[-2]
        change = np.max(np.abs(u - old))
        steps += 1
    return np.sum(u * u) + steps


def relaxation_sweeps_with_an_early_stop(u0, w):
    """Damped Jacobi sweeps, each stopping early once the energy falls below a level: a loop with a
    break (its trip count unknown) inside a counted loop, writing a slice and an element."""
    u = u0 * 1.0
    total = 0.0
    for sweep in range(3):
        for k in range(8):
            u[1:-1] = w * 0.5 * (u[2:] + u[:-2]) + (1.0 - w) * u[1:-1]
            u[0] = 0.5 * u[1]
            if np.sum(u * u) < 0.9 - 0.25 * sweep:
                break
        total = total + np.sum(u)
    return total + np.sum(u * u)


def matrix_rebound_to_a_row(A, n):
    """Fuzz 928:80:0's shape: a matrix, then a row under the same name."""
    t = np.transpose(np.exp(np.tanh(np.outer(np.linspace(0.5, 1.5, 4), A[2]))))
    s = np.sum(t * t)
    t = 0.25 * A[n - 1] * s
    return np.sum(np.outer(A[n], t)) + np.sum(t * t)


def zipped_pairs(a, b):
    """`for u, v in zip(a, b)` stops at the shorter array (zip was refused: no rule for it)."""
    s = 0.0
    for u, v in zip(a, b):
        s += u * v + min(u, v)
    return s


def zipped_rows_and_weights(X, w):
    """zip of a matrix's rows and a vector; `w` bound again inside: zip goes on over the array it began with."""
    total = np.zeros(X.shape[1])
    for row, weight in zip(X, w):
        total = total + weight * np.sin(row)
        w = w * 0.5
    return np.sum(total ** 2) + np.sum(w)


def special_functions_of_columns(A):
    """Fuzz 932:210:0: np.sinc, erf and gammaln of a column and a transpose. Their numba helpers
    reshaped every array they were given, which numba types only for C-ordered ones: the
    derivative did not compile."""
    return (np.sum(np.sinc(A[:, 1])) + np.sum(scipy.special.erf(A.T))
            + np.sum(scipy.special.gammaln(1.5 + A[:, 0] ** 2)))


def cross_of_rows(R, F):
    """Torques r × f of many particles, (n, 3) arrays: the composite read a[1] as the second
    component, which for a matrix is its second row (the value was silently wrong)."""
    return np.sum(np.cross(R, F) ** 2) + np.sum(np.cross(R[0], F) * R)


def trace_of_a_stack(s):
    """np.trace of a 3-D array: the composite serves matrices; refused rather than guessed."""
    stack = s * np.ones((2, 3, 3))
    return np.sum(np.trace(stack))


def lower_triangle_of_a_vector(x):
    """np.tril of a vector (NumPy makes it a matrix first): refused where the composite's loop
    would index past its one axis."""
    return np.sum(np.tril(x * np.ones(3)))


def offset_then_field(x, A):
    shift = np.mean(x) * 0.5
    scale = np.array([shift * shift, np.tanh(shift), x[0] * shift])
    shift = (A + shift).reshape(A.size)   # the name of a number, then of the field it offsets
    return np.sum(shift * shift) + np.sum(scale)


def column_then_matrix_in_loop(a, A):
    total = 0.0
    for k in range(3):
        if a > 0.1 * k:
            t = A[:, k]
            total = total + np.sum(t * t) * a
            t = A.T @ A   # the same scratch name for a matrix, in the same branch
            total = total + np.trace(t)
    return total


def number_then_array_after_early_return(x, c):
    s = 0.5 * c
    if c > 10.0:
        return x[0] * s
    s = c * x   # reverse mode moves this under the flag of the early return
    return np.mean(s * s)


def parameter_reshaped(x, w):
    x = x.reshape(2, 3)
    return np.sum(np.tanh(x) @ w)


def rebound_with_another_rank_in_loop_body(x, A):
    acc = 0.0
    for i in range(2):
        r = x[i] * 2.0
        acc = acc + r * r
        r = A[i] * x[i]   # a row, read before the next trip binds a number again
        acc = acc + np.sum(r * r)
    return acc


def flag_tested_before_it_is_set_again(x, A):
    damping = 0.0
    if damping > 0.5:   # numba drops this branch (it types damping binding by binding): its tape must go too
        for i in range(3):
            A = np.tanh(A + A) * damping
    damping = np.sum(x * x)
    return np.sum(A * damping)


def flag_tested_inside_a_branch(x, A):
    scale = 0.0
    if x[0] > -10.0:
        if scale > 0.5:   # numba knows scale is 0.0 here too, inside the branch that sets it later
            for i in range(3):
                A = np.tanh(A + A) * scale
        scale += np.sum(x * x)
    return np.sum(A * scale)


def _swapped(first, second):
    return second, first


def _half_and(p, q):
    return 0.5 * p, q


def helper_returns_its_argument_then_updated(a):
    # fuzzer 947:1258:0: the helper hands back `w` itself inside a tuple; numpy's `w /= 0.5` changes
    # `kept` too, srcgrad would bind a new `w` (after inlining: `returned = ..., w; h, kept = returned`)
    w = np.array([a, 2.0 * a, 3.0])
    half, kept = _half_and(a, w)
    w /= 0.5
    return half + np.sum(kept * kept)


def tuple_holds_an_array_then_updated(a):
    w = np.array([a, 2.0 * a, 3.0])
    pair = (1.0, w)
    w *= 2.0
    return np.sum(pair[1] * a)


def unpacked_from_a_tuple_then_updated(a):
    w = np.array([a, 2.0 * a, 3.0])
    first, second = (w, w * a)   # `first` is `w` itself
    w *= 2.0
    return np.sum(first * second)


def written_through_a_name_a_helper_returned(x):
    w = np.array([x[0], x[1], x[2] * x[0]])
    doubled = w * 2.0
    a, b = _swapped(w, doubled)   # b is w
    b[0] = 3.0
    return np.sum(w * a)


def written_while_a_tuple_holds_it(x):
    w = np.array([x[0], x[1], x[2] * x[0]])
    pair = (1.0, w)
    w[1] = 5.0
    return np.sum(pair[1] * x[0])


def swapped_then_the_other_updated(x):
    # the tuple's elements stay apart: updating `doubled` leaves `b`, which is `w`, alone
    w = np.array([x[0], x[1], x[2] * x[0]])
    doubled = w * 2.0
    a, b = _swapped(w, doubled)   # a is doubled, b is w
    total = np.sum(a)
    doubled *= 2.0
    return np.sum(b * x[1]) + total + np.sum(doubled)


def _split_state(state):
    return state[:2], state[2:]


def views_returned_by_a_helper_then_updated(a):
    # a helper hands back two views of the state in a tuple; `state *= 0.9` damps them too in numpy
    # (srcgrad's derivative was silently wrong before aliasing followed tuples)
    state = np.array([a, 2.0 * a, 3.0, a * a])
    pos, vel = _split_state(state)
    energy = 0.5 * np.sum(vel ** 2) + np.sum(pos ** 2)
    state *= 0.9
    return energy + np.sum(pos * vel)


def rows_of_a_work_matrix(x, W):
    # each step's state written as a row of a work matrix (`S[i] = h`), a shifted part of that row
    # updated, the last row copied into another matrix: arrays written into views
    n = W.shape[0]
    S = np.zeros((n, x.shape[0]))
    h = x.copy()
    for i in range(n):
        h = np.tanh(W[i] * h + 0.1)
        S[i] = h
        S[i, 1:] += 0.5 * h[:-1]
    T = np.zeros((2, x.shape[0]))
    T[0] = S[n - 1]
    T[1, :] = 2.0
    return np.sum(S * S) + np.sum(T[0] * T[1])


def whole_array_through_ellipsis(x):
    # `T[...] += 1.0` reads `T[...]`, which numba cannot (an InternalError on backend="numba" before)
    T = np.zeros((2, x.shape[0]))
    T[...] = x * x
    T[...] += 1.0
    return np.sum(T[...] * x)


def zero_d_accumulator(x):
    # a 0-d array as an accumulator, read and written through `...` (an InternalError on numba)
    acc = np.zeros(())
    for i in range(x.shape[0]):
        acc[...] += x[i] * x[i]
    acc[...] = np.sqrt(acc)
    return float(acc)


def integer_index_array(x0, v):
    # `np.array((0, 2, 4))` is numpy's int64: `idx + 1` was computed as floats and indexing with
    # them failed (an InternalError on python, a CompilationError on numba); a list as an index
    # (`x[[1, 3]]`) was refused as "the expression List"
    x = x0.copy()
    idx = np.array([0, 2, 4])
    x[idx] = v * x[idx + 1]
    x[[1, 3]] += v[:2]
    return np.sum(x ** 2) + np.sum(x[[0, 5]] * v[1:])


def new_grid_each_step(u0, k):
    # 2-D diffusion, a new grid each step: `V[0] = U[1]` was refused as a write of a view of `V`
    # along other axes (the flow-insensitive aliasing joined U and V through `U = V`)
    U = np.outer(u0, u0)
    for t in range(3):
        V = np.zeros_like(U)
        V[1:-1, 1:-1] = U[1:-1, 1:-1] + k * (U[2:, 1:-1] + U[:-2, 1:-1] + U[1:-1, 2:] + U[1:-1, :-2] - 4.0 * U[1:-1, 1:-1])
        V[0] = U[1]
        V[-1] = U[-2]
        V[:, 0] = V[:, 1]
        U = V
    return np.sum(U ** 2)


def sum_of_a_list_of_numbers(x):
    # np.sum of a list literal: the derivative reached none of its elements (a zero gradient,
    # silently); np.dot with a list failed inside the generated code
    return np.sum([x[0], x[1] * x[2]]) + np.dot([1.0, 2.0, 3.0], x) + np.mean((x[0], x[2] ** 2))


def largest_of_a_list(x):
    # max of a list literal: only the other term's derivative reached x[0] (silently wrong);
    # max of three numbers was refused
    return max([x[0], x[1], 2.0 * x[2]]) + min(x[0], x[2]) + max(x[1] ** 2, x[0], x[2])


def tuple_of_weights(x):
    # an array times a tuple of numbers (numpy makes it an array; numba's generated code did not compile)
    return np.sum(x * (1.0, 2.0, 3.0) + np.exp([x[0], x[1], x[2]]))


def pooled_along_the_last_axis(x):
    # max pooling of column pairs (a 3-D array's last axis), a product and a min along others: the
    # numba runtime's helpers handled 1-D and 2-D arrays only (the gradient was silently wrong on
    # numba, the jvp did not compile)
    r = x.reshape(2, 3, 2)
    return np.sum(np.max(r, axis=2) ** 2) + np.sum(np.prod(r, axis=1)) + np.sum(np.min(r, axis=0))


def copy_of_the_grid_each_step(x):
    # explicit time stepping on a copy (`V = U.copy()`, rows updated from U's, `U = V`): reverse
    # mode refused the write into V while `U[1]` was read again, taking last step's V, which
    # `U = V` handed to U, for this step's
    U = np.outer(x, x)
    for t in range(3):
        V = U.copy()
        V[0] = V[0] + 0.1 * U[1]
        V[1] = V[1] - 0.1 * U[1]
        U = V
    return np.sum(U ** 2)


def view_of_this_steps_copy(x):
    # the view `O` is of this step's copy, written in the inner loop while O is read: still refused
    # in reverse mode (the older-run rule must not take the inner loop's pass for the outer one's)
    U = np.outer(x, x)
    s = 0.0
    for t in range(2):
        V = U.copy()
        O = V[1]
        for k in range(2):
            V[k] = V[k] * 2.0
            s = s + np.sum(O)
            O = V[1]
        U = V
    return s + np.sum(U)


def running_sums_along_axes(x):
    # np.cumsum along axis 2 of a 3-D array summed along axis 1 (silently wrong on both backends),
    # and axis=-1 of a vector failed; axis=-2 of a matrix took axis 1
    r = x.reshape(2, 3, 2)
    m = x.reshape(3, 4)
    return (np.sum(np.cumsum(r, axis=2) ** 2) + np.sum(np.cumsum(x, axis=-1) ** 3)
            + np.sum(np.cumsum(m, axis=-2) * m))


def builtin_bounds_of_a_vector(x):
    # max() of a vector failed inside the generated code; np.clip with None as a bound too
    return max(x) + min(x * x) + np.sum(np.clip(x, None, 0.4)) + np.sum(np.clip(x, -0.2, None) ** 2) + np.sum(x.clip(max=0.1) * x)


def tuple_of_weights_layer(params):
    W, b = params
    return np.tanh(W @ np.ones(2) + b)


def tuple_of_weights_loss(params):
    return np.sum(tuple_of_weights_layer(params) ** 2)


def numpy_largest_of_a_list(x):
    # np.max of a list literal (a structural rule, not elementwise): its jvp was 0 silently and its
    # gradient failed (fuzz 955:137:0, with the fuzzer's sequence literals)
    return np.max([x[2] * 2.0, x[0]]) + np.min((x[1], x[2] ** 2)) + np.prod([x[0], x[1] + 1.0])


def _side_by_side_minimum(p):
    return np.min(np.hstack((np.ones((4, 2)) * p[1], np.ones((4, 1)) * p)))


def helper_tested_on_gathered_elements(x, a):
    # a helper called in a test on `x[idx]`: its primal copy was built for an argument of unknown
    # kind, and np.hstack of matrices joined them along the wrong axis (fuzz 956:2114:0)
    total = 0.0
    if _side_by_side_minimum(x[np.array([3, 1, 2, 0])]) <= a:
        total = total + np.sum(x * a)
    return total + _side_by_side_minimum(x)


def series_left_over_before_its_name_is_reused(x):
    # a series grown by concatenation in a loop nest, then its name reused: reverse mode keeps what
    # the nest leaves from the forward sweep, and missed that the replay saves the series (for its
    # adjoint's shape) before `series = x[:3]` rebinds it: it took the series from before the nest
    # (fuzz 956:3485:0, a ValueError inside the generated code)
    total = 0.0
    for sweep in range(2):
        series = np.array([0.5])
        for i in range(2):
            acc = 0.0
            for j in range(3):
                acc += x[i] * x[j]
            series = np.concatenate((series, np.array([acc])))
        series = x[:3]
        total = total + np.sum(series ** 2) * (sweep + 1.0)
    return total


def loops_over_computed_arrays(x):
    # loops over an expression, not a name (sample times, rows of a product, a reversed view,
    # neighbouring pairs): refused as "a for loop over this kind of iterable" before
    total = 0.0
    for t in np.linspace(0.0, 1.0, 5):
        total = total + np.sum(np.sin(x * t)) * 0.25
    for row in np.outer(x, x)[1:]:
        total = total + row @ x
    for k, value in enumerate(x[::-1]):
        total = total + k * value ** 2
    for a, b in zip(x[1:], x[:-1]):
        total = total + a * b
    return total


def reductions_over_several_axes(x):
    # np.sum / mean / max / prod over a tuple of axes (also negative ones, keepdims=, the method):
    # refused as "a tuple of axes" before
    M = np.outer(x, x).reshape(2, 2, 4) * x[0]
    a = np.sum(M ** 2, axis=(1, 2))
    b = np.mean(M, axis=(0, 2))
    c = M.max(axis=(-1, -2))
    d = np.sum(np.sin(M), axis=(0, 2), keepdims=True)
    e = np.prod(M[:, :, :2] + 2.0, axis=(0, 1))
    return np.sum(a) + np.sum(b ** 2) + np.sum(c) + np.sum(d * M) + np.sum(e)


def axes_of_both_signs(x):
    return np.sum(np.ones((2, 3)) * x, axis=(0, -1))


def sums_and_maps_by_comprehension(x, w):
    # list comprehensions and generator expressions (a map, a weighted sum, pairs, a filter, one
    # nested in another, one in an `if` test, any()): refused by the fence before
    n = len(x)
    weighted = sum(w[i] * x[i] ** 2 for i in range(n))
    mapped = np.array([math.sin(v) * v for v in x])
    pairs = sum(x[i] * x[j] for i in range(n) for j in range(i))
    kept = [np.exp(-t) * x for t in np.linspace(0.0, 1.0, 5) if t > 0.2]
    outer = np.array([[a * b for b in w] for a in x])
    total = weighted + np.sum(mapped ** 2) + pairs + np.sum(np.array(kept) ** 2) + np.sum(outer)
    if sum([v ** 2 for v in x]) > 10.0:
        total = total * 2.0
    if any(v > 5.0 for v in w):
        total = total * 3.0
    return total + sum(k * v for k, v in enumerate(x)) + sum(p * q for p, q in zip(x, w))


def comprehension_in_a_while_test(x):
    k = 0
    while sum([x * j for j in range(3)]) * k < 3.0:
        k += 1
    return k * x


def regimes_switched_on_in_turn(a, b):
    # a name bound in one branch, then rebound in a later branch: reverse mode saved it before
    # the second branch even where the first had not run (UnboundLocalError on backend="python";
    # fuzz 960:281:0, a loop over a tuple with an early return, unrolled)
    response = 0.0
    if b > 0.5:
        rate = np.tanh(a)
        response = rate
    if b > 0.2:
        rate = np.tanh(2.0 * a)
        response = response + rate * b
    for level in (a, 0.73, -1.25):
        if b * level > 0.6:
            return response * level
    return response


def weighted_sum_by_comprehension(x, w):
    return sum(w[i] * x[i] ** 2 for i in range(len(x)))


def second_name_updated_in_place(x):
    # numpy's `w *= 0.5` changes what `v` sees; the check ran after vectorized lines became element
    # loops, which had made `v = w` a copy: the value and the gradient were silently those of the copy
    w = np.ones(3) * x
    v = w
    w *= 0.5
    return np.sum(v)


def rows_scaled_while_iterated(x):
    w = np.ones(3) * x
    total = 0.0
    for r in w:
        total = total + r
        w *= 0.5
    return total


def sponge_layer_by_mask(u0, damp):
    # a number written or multiplied into the slots a mask selects (an absorbing layer): reverse
    # mode gave the number the slots' adjoints unsummed (a bare TypeError; on numba inside a loop,
    # float += array did not compile): a comparison's name had a number's kind in an index
    u = u0.copy()
    for step in range(3):
        u[1:-1] = u[1:-1] + 0.2 * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        u[u0 > 0.6] *= damp
    u[u0 < 0.45] = damp ** 2
    return u


def batched_oscillators_by_ellipsis(omega, x0):
    # a state's components written through `...` in a time loop (`state[..., 0]`): on numba the
    # reverse sweep's write log could not keep an index holding `...` (a CompilationError)
    state = np.zeros((omega.shape[0], 2))
    state[..., 0] = x0
    for step in range(4):
        velocity = state[..., 1] - 0.05 * omega ** 2 * state[..., 0]
        state[..., 0] = state[..., 0] + 0.05 * velocity
        state[..., 1] = velocity
    return np.sum(state[..., 0] ** 2) + np.sum(state[:, ...] * 0.5)


def periodic_diffusion_by_roll(u0, D):
    # a periodic 5-point stencil by np.roll along each axis (and axis=-1, and a row's axis=0):
    # refused before ("call it with its basic arguments"); numba's np.roll takes no axis
    u = u0.copy()
    for step in range(3):
        lap = np.roll(u, 1, axis=0) + np.roll(u, -1, axis=0) + np.roll(u, 1, axis=1) + np.roll(u, -1, axis=1) - 4.0 * u
        u = u + D * lap
    return np.sum(u ** 2) + np.sum(np.roll(u0[0], 2, axis=0) * u0[1]) + np.sum(np.roll(u, 5, axis=-1) * u0)


def scattered_by_add_at(x):
    a = np.zeros(4)
    np.add.at(a, np.array([0, 1, 1]), np.ones(3) * x)
    return np.sum(a ** 2)


def histogram_by_bincount(x):
    # np.bincount's weights= carried the derivative as a keyword: the rule-less call was refused
    # for positional arguments only, and the gradient was silently zero
    return np.sum(np.bincount(np.array([0, 1, 1, 2]), weights=np.ones(4) * x) ** 2)


def sum_of_squared_projections(w, X):
    return np.sum((X @ w) ** 2)


def intercept_column_by_column_stack(beta, X, y):
    # the usual intercept column, np.column_stack((np.ones(n), X)), and np.vstack of a row over a
    # matrix: refused before, with advice (`v[None, :]`) that numpy itself rejects here
    A = np.column_stack((np.ones(X.shape[0]), X))
    B = np.vstack((beta[:3], A[:2, :3]))
    return np.sum((A @ beta - y) ** 2) + np.sum(B ** 2)


def diagonal_by_method(A):
    # A.diagonal(): refused with advice to use the numpy function, which was refused too
    return np.sum(A.diagonal() ** 2) + A.diagonal().sum()


def diagonal_filled_in_place(x):
    K = np.outer(np.ones(3) * x, np.ones(3))
    np.fill_diagonal(K, 1.0)
    return np.sum(K)


def backward_recursion_by_reversed_range(x, a):
    # `for t in reversed(range(n))`, a backward recursion (a value function, a discounted return):
    # refused before with advice to write range(n - 1, -1, -1), which it now is
    v = 0.0
    for t in reversed(range(len(x))):
        v = a * v + x[t] ** 2
    for t in reversed(range(1, len(x))):
        v = v + x[t] * x[t - 1]
    return v


def sum_over_a_slice_object(x):
    window = slice(1, 3)
    return np.sum(np.ones(4)[window] * x)


def branch_temporaries_in_an_unrolled_loop(x):
    # a loop over a tuple, unrolled, whose copies each bind an index array and a gather in a branch
    # not taken: reverse mode read them before any copy bound them (fuzz 962:1491:0)
    total = 0.0
    for scale in (0.5, x[0]):
        if scale > 0.7:
            picked = x[np.array([0, 2])]
            total = total + np.sum(picked) * scale
        else:
            total = total + x[1] * scale
    return total


def _weighted_terms(p):
    total = 0.0
    for w in (p, 2.0 * p):
        total = total + w ** 2
    return total


def calls_a_tuple_looping_helper(x):
    # a helper looping over a tuple, inlined into a loop of a caller whose own names (a
    # comprehension's list) made the inliner rename the helper's: the loop was not unrolled (fuzz
    # 962:1552:0, a tuple's .shape in the generated code)
    squares = sum([v ** 2 for v in x])
    k = 0
    acc = 0.0
    while True:
        k += 1
        if k > 3:
            break
        acc = acc + _weighted_terms(x[k % 3])
    return acc + squares


def _largest_per_entry(q):
    w = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            w[i, j] = np.max([(2.0 + np.tanh(q[-1 - j])) ** 0.5, np.dot(q[np.array([-1, 1, 0])], q[np.array([0, -2, 1])])])
    return w


def largest_of_a_list_of_values_known_late(x):
    # the list passed to np.max holds values only once `np.tanh([0.5, 0.36])` is an array: the
    # list stayed a tuple, whose tangent came out zero (fuzz 977:5:0: an IndexError in the jvp,
    # an AttributeError in the reverse pass)
    return _largest_per_entry(x[2:] + np.tanh([0.5, 0.36]))[0]


def real_part_of_a_view_written_later(x):
    # np.real of a real array is the array itself: the write into `w` reaches `t` and its tangent
    # (the tangent was `1 * dw[0:2, 0:2]`, a copy taken before the write: fuzz 979:547:0)
    w = np.zeros((3, 3))
    t = np.real(w[0:2, 0:2])
    w[0, 0] = x[0] * x[1]
    return t * x[2]


def reshaped_view_written_later(x):
    # a view reshaped to its own shape is numpy's view still; under numba the runtime's reshape
    # copied a strided view (fuzz 979:547:0, numba: a wrong value)
    w = np.zeros((3, 3))
    t = w[0:2, 0:2].reshape((2, 2))
    w[0, 0] = x[0] * x[1]
    return t * x[2]


def written_after_a_list_took_it(a):
    """A Python list holds the array itself: the write shows through `history` (scientist's
    report, 2026-12-08: srcgrad gave the value and gradient of a copy)."""
    x = np.array([a, 2.0 * a])
    history = [x]
    x[0] = 10.0 * x[1]
    return np.sum(history[0])


def written_after_appending_it(a):
    x = np.array([a, 2.0 * a])
    history = []
    for _ in range(3):
        history.append(x)
        x[1] = x[0] * a
    return np.sum(np.array(history))


def updated_after_appending_it(a):
    x = np.array([a, 2.0 * a])
    history = []
    for _ in range(2):
        x = x * a
        history.append(x)
        x += 1.0
    return np.sum(np.array(history))


def appended_copies_then_written(a):
    """The copy is the list's own: writes into x after it change nothing the list holds."""
    x = np.array([a, 2.0 * a])
    history = []
    for _ in range(3):
        history.append(x.copy())
        x[1] = x[0] * a
        history.append(x * 1.5)
    return np.sum(np.array(history) ** 2)


def fresh_arrays_bound_by_one_tuple(a):
    """`u, work = u0.copy(), np.zeros(n)` and then writes into both: each name is its own new
    array (found 2026-12-08: reverse mode refused the writes as writes through a second name of
    the tuple's element)."""
    u0 = np.array([a, 2.0 * a, 0.5])
    u, work = u0.copy(), np.zeros(3)
    for _ in range(2):
        for i in range(1, 3):
            work[i] = u[i] * a + u[i - 1]
        for i in range(1, 3):
            u[i] = work[i]
    return np.sum(u * u)


def trajectory_kept_by_reference(a):
    """`x += ...` then `hist.append(x)` each step: every item of the Python list is x itself."""
    x = np.array([a, 2.0 * a])
    hist = []
    for _ in range(3):
        x += 0.1 * np.sin(x)
        hist.append(x)
    return np.sum(np.array(hist)[0])


def stored_into_a_list_then_written(a):
    x = np.array([a, 2.0 * a])
    hist = [np.zeros(2), np.zeros(2)]
    hist[0] = x
    x[1] = x[0] * a
    return np.sum(hist[0])


def written_after_a_comprehension_took_it(a):
    x = np.array([a, 2.0 * a])
    parts = [x for _ in range(3)]
    x[0] = 5.0 * x[1]
    return np.sum(np.array(parts)[0])


def remade_each_step_then_appended(a):
    """The array is made anew each pass before it is written and appended: no item changes later."""
    x = np.array([a, 2.0 * a])
    hist = [x]
    for _ in range(3):
        y = x * 0.5 + a
        y[1] = y[0] * 2.0
        hist.append(y)
        x = y
    return np.sum(np.array(hist) ** 2)


def smoothed_forwards_then_backwards(x, a):
    """A filter run forwards, then backwards through `y = y[::-1]`, written in place (scientist's
    report, 2026-12-08: reverse mode refused the writes as writes through a view)."""
    y = x.copy()
    for i in range(1, y.shape[0]):
        y[i] = a * y[i - 1] + (1 - a) * y[i]
    y = y[::-1]
    for i in range(1, y.shape[0]):
        y[i] = a * y[i - 1] + (1 - a) * y[i]
    return y[::-1]


def reversed_while_another_name_keeps_it(x):
    """The old array is still `kept`'s: the write through the reversed view changes it, as reverse
    mode cannot follow (refused there, differentiated in forward mode)."""
    y = x * 1.5
    kept = y
    y = y[::-1]
    y[0] = 2.0 * y[1]
    return kept


def einsum_transpose_then_written(x):
    """np.einsum reordering one operand's axes returns a view (fuzz 984:1289:0): the write into
    `w` shows in `t`."""
    w = np.outer(x, np.ones(2)) * 1.5
    t = np.einsum("ij->ji", w)
    w[1] = 0.5 * x[0]
    return t


def diagonal_then_matrix_written(x):
    """np.diag of a matrix is a view in NumPy; numba's np.diag copied it (the numba backend's
    value missed the write, 2026-12-08), and so did np.einsum("ii->i")."""
    A = np.outer(x, x) + 1.0
    d = np.diag(A)
    e = np.einsum("ii->i", A)
    A[1, 1] = 7.0 * x[0]
    return d * 2.0 + e
