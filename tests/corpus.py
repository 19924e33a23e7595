"""Shared corpus of small differentiable functions run through every mode and backend.

Every function is a module-level ``def`` (so ``inspect.getsource`` works) registered as a
``Case`` in ``CORPUS``.  ``kinds`` has one letter per argument:

    s  float scalar              v  float vector, shape (5,)
    m  float matrix, (3, 4)      n  int, 4
    t  tuple of two floats

``shapes`` overrides the shape of an array argument (or the value of an ``n``) by position.
``domain`` is one name for all arguments or a tuple with one name per argument; see
``DOMAINS``.  Inputs are drawn away from kinks: the sanity test checks that central finite
differences with two step sizes agree at the sampled point.
"""
import math
import os
import sys
import zlib
from dataclasses import dataclass, field
from math import cos, sin

import numba
import numpy as np
import scipy.special

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # corpus_helpers is a sibling module, also when imported as tests.corpus
    sys.path.insert(0, _HERE)
import corpus_helpers as ch  # noqa: E402
from corpus_helpers import softplus  # noqa: E402

# ---------------------------------------------------------------------------- registry

DEFAULT_SHAPES = {"v": (5,), "m": (3, 4), "n": 4}

DOMAINS = {
    "real": lambda rng, shape: 1.5 * np.tanh(rng.normal(0.0, 0.5, shape)),  # ~normal, inside (-1.5, 1.5)
    "positive": lambda rng, shape: rng.uniform(0.5, 2.0, shape),
    "unit": lambda rng, shape: rng.uniform(-0.9, 0.9, shape),
    "binary": lambda rng, shape: rng.integers(0, 2, shape).astype(np.float64),
}


@dataclass
class Case:
    fn: object
    kinds: str
    wrt: object = None  # int or tuple of ints; default: every float argument
    domain: object = "real"  # str, or tuple of str (one per argument)
    modes: tuple = ("fwd", "rev")
    shapes: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.wrt is None:
            floats = tuple(i for i, k in enumerate(self.kinds) if k != "n")
            self.wrt = floats[0] if len(floats) == 1 else floats

    @property
    def name(self):
        return self.fn.__name__

    @property
    def wrt_tuple(self):
        return self.wrt if isinstance(self.wrt, tuple) else (self.wrt,)

    def args(self):
        """The case's one seeded input (stable across runs and processes)."""
        return make_args(self, np.random.default_rng(zlib.crc32(self.name.encode())))

    def __repr__(self):
        return f"Case({self.name})"


def make_args(case, rng):
    args = []
    for i, kind in enumerate(case.kinds):
        domain = case.domain if isinstance(case.domain, str) else case.domain[i]
        draw = DOMAINS[domain]
        if kind == "s":
            args.append(float(draw(rng, ())))
        elif kind in "vm":
            args.append(draw(rng, case.shapes.get(i, DEFAULT_SHAPES[kind])))
        elif kind == "n":
            args.append(int(case.shapes.get(i, DEFAULT_SHAPES["n"])))
        elif kind == "t":
            args.append(tuple(float(a) for a in draw(rng, (2,))))
        else:
            raise ValueError(f"unknown argument kind {kind!r} in {case.name}")
    return tuple(args)


CORPUS = []


def case(kinds, **kw):
    def register(fn):
        CORPUS.append(Case(fn, kinds, **kw))
        return fn

    return register


# Module globals read by corpus functions.
SCALE = 2.5
OFFSET = -0.75
WEIGHTS = np.array([0.5, -1.0, 2.0, 0.25, 1.5])
SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0

# ---------------------------------------------------------------------------- scalar arithmetic


@case("ss")
def arith(a, b):
    return a * b + a - b / (a * a + 1.0) - (a - b) * 0.5 + 3.0


@case("ss", domain=("positive", "real"))
def powers(a, b):
    return a**3 + a**b + 2.0**b - a**-0.5 + b**2


@case("ss")
def floordiv(a, b):
    q = a // 0.3
    return q * b + a * b + (b // 0.7) * a


@case("ss")
def negation(a, b):
    return -a * -(b * b) + (-a)


@case("ss")
def augassign(a, b):
    y = a
    y += b * b
    y -= a * b
    y *= a + 2.0
    y /= b * b + 1.0
    return y


@case("v")
def module_constants(x):
    return SCALE * np.sum(x * x) + OFFSET * np.dot(WEIGHTS, x)


@case("vv")
def conditions(x, y):
    s = 0.0
    for i in range(len(x)):
        a = x[i] + 0.5 * (i - 2)
        b = y[i]
        if a > b + 1.0 and b > -1.0:
            s += a * b
        elif not (a < 0.1) or b >= 1.2:
            s += a + b * b
        else:
            s += a * a - b
    return s


@case("ss")
def ternary(a, b):
    y = a * a if a > 0.0 else -3.0 * a
    z = b if (b < 0.5 or a != b) else a
    return y * z


@case("s")
def chained_compare(a):
    if -0.5 < a <= 0.5:
        return a * a * a
    return 2.0 * a


# ---------------------------------------------------------------------------- elementwise functions


@case("s", domain="unit")
def trig_math(a):
    return math.sin(a) * math.cos(a) + math.tan(a)


@case("v", domain="unit")
def trig_np(x):
    return np.sin(x) * np.cos(x) + np.tan(x)


@case("s", domain="unit")
def invtrig_math(a):
    return math.asin(a) + math.acos(a) * a + math.atan(a)


@case("v", domain="unit")
def invtrig_np(x):
    return np.arcsin(x) + np.arccos(x) * x + np.arctan(x)


@case("ss", domain=("real", "positive"))
def atan2_math(y, x):
    return math.atan2(y, x) * x


@case("vv", domain=("real", "positive"))
def arctan2_np(y, x):
    return np.arctan2(y, x) + np.arctan2(x, y + 3.0)


@case("s")
def hyperbolic_math(a):
    return math.sinh(a) + math.cosh(a) * math.tanh(a)


@case("v")
def hyperbolic_np(x):
    return np.sinh(x) * np.cosh(x) + np.tanh(x)


@case("s")
def exp_math(a):
    return math.exp(a) + math.expm1(a) * a + math.exp2(a)


@case("v")
def exp_np(x):
    return np.exp(x) + np.expm1(x) * x + np.exp2(x)


@case("s", domain="positive")
def log_math(a):
    return math.log(a) + math.log2(a) * a + math.log10(a) + math.log1p(a)


@case("v", domain="positive")
def log_np(x):
    return np.log(x) + np.log2(x) * x + np.log10(x) + np.log1p(x)


@case("s", domain="positive")
def sqrt_math(a):
    return math.sqrt(a) + a * math.sqrt(a * a + 1.0)


@case("s", domain="positive")
def cbrt_math(a):  # math.cbrt is Python >= 3.11 and has no numba typing of its own
    return math.cbrt(a) * a


@case("v", domain="positive")
def roots_np(x):
    return np.sqrt(x) + np.cbrt(x) * x


@case("ss")
def abs_math(a, b):
    return abs(a) * b + math.fabs(b)


@case("v")
def abs_np(x):
    return np.abs(x) * x + np.fabs(x)


@case("ss")
def hypot_math(a, b):
    return math.hypot(a, b) * a


@case("vv")
def hypot_np(x, y):
    return np.hypot(x, y) + np.hypot(x, 2.0)


@case("ss", domain=("positive", "real"))
def power_math(a, b):
    return math.pow(a, b) + math.pow(a, 2.0) * b


@case("vv", domain=("positive", "real"))
def power_np(x, y):
    return np.power(x, y) + np.power(x, 3) + np.square(y) + np.reciprocal(x)


@case("s")
def rounding_math(a):
    return math.floor(a) * a + math.ceil(a) * a * a + round(a) * a


@case("v")
def rounding_np(x):
    return np.floor(x) * x + np.ceil(x) + np.round(x) * x * x


@case("v")
def sign_np(x):
    return np.sign(x) * x * x + x


@case("ss")
def minmax_builtin(a, b):
    return min(a, b) * max(a, 2.0 * b) + max(a * a, 0.1)


@case("vv")
def minmax_np(x, y):
    return np.minimum(x, y) * x + np.maximum(x, 0.3 * y)


@case("v")
def where_clip(x):
    return np.where(x > 0.2, x * x, -x) + np.clip(x, -0.5, 0.5) * x


# ---------------------------------------------------------------------------- array functions


@case("v")
def reductions(x):
    return np.sum(x) * np.mean(x) + np.prod(x)


@case("v")
def reduction_methods(x):
    return x.sum() + x.mean() * x.prod()


@case("v")
def max_min_np(x):
    return np.max(x) * np.min(x) + np.max(x * x)


@case("v")
def max_min_method(x):
    return x.max() - x.min() * x[0]


@case("vv")
def dot_matmul(x, y):
    return np.dot(x, y) + (x @ y) * np.dot(x, x)


@case("mv", shapes={0: (3, 5)})
def matvec(A, x):
    return A @ x + np.dot(A, np.sin(x))


@case("mm", shapes={1: (4, 3)})
def matmul_mm(A, B):
    return np.matmul(A, B) + A @ B * 0.5


@case("vv")
def outer_fn(x, y):
    return np.outer(x, y * y)


@case("v")
def cumsum_fn(x):
    return np.cumsum(x * x) * x


@case("m")
def transpose_fn(A):
    return A.T @ A + np.transpose(A) @ np.sin(A)


@case("m", shapes={0: (4, 4)})
def square_matrix(S):
    return S @ S.T - S.T * S + S @ S @ S


@case("m")
def reshape_ravel(A):
    B = A.reshape(4, 3)
    C = B.T @ B
    return C.ravel() * 2.0 + np.reshape(A, (12,))[:9] + np.ravel(A)[3:]


@case("vv")
def concat_stack(x, y):
    z = np.concatenate((x, y * y))
    S = np.stack((x, y))
    return np.sum(S * S) * z


@case("v")
def allocators(x):
    a = np.zeros(5)
    b = np.ones(5)
    c = np.empty(5)
    d = np.zeros_like(x)
    e = np.empty_like(x)
    for i in range(5):
        a[i] = x[i]
        c[i] = x[i] * b[i] + a[i]
        d[i] = a[i] * c[i]
        e[i] = d[i] + 1.0
    return e * np.copy(x) + x.copy()


@case("vm", shapes={1: (3, 5)})
def shape_len(x, A):
    n = x.shape[0]
    m, k = A.shape
    s = 0.0
    for i in range(m):
        for j in range(min(k, n)):
            s += A[i, j] * x[j]
    return s / len(x) + len(A) * x[0]


@case("svm", shapes={2: (3, 5)})
def broadcast(a, x, A):
    return (a * x + A) * x - a + A / (x * x + 1.0)


# ---------------------------------------------------------------------------- indexing


@case("vm")
def index_reads(x, A):
    return x[0] * A[1, 2] + x[-1] * A[2, -1] + A[0][1] * x[2]


@case("v")
def slice_diff(x):
    return (x[1:] - x[:-1]) * x[1:]


@case("v")
def slice_write(x):
    y = np.zeros_like(x)
    y[1:] = x[:-1] * x[1:]
    y[0] = x[0]
    y[:2] *= x[3]
    return y


@case("vn")
def fill_created(x, n):
    y = np.zeros(n)
    for i in range(n):
        y[i] = x[i] * x[i + 1]
    return y


@case("vs")
def recurrence(x, a):
    y = np.empty_like(x)
    y[0] = x[0]
    for i in range(1, len(x)):
        y[i] = y[i - 1] * a + x[i]
    return y


@case("v")
def overwrite_elem(x):
    y = np.zeros(3)
    y[0] = x[0] * x[1]
    y[0] = y[0] * x[2] + math.sin(y[0])
    y[1] = y[0] * x[3]
    y[2] = x[4]
    y[2] = y[1] * y[2]
    return y


@case("m")
def matrix_fill(A):
    B = np.zeros((3, 4))
    for i in range(3):
        for j in range(4):
            B[i, j] = A[i, j] * A[i, (j + 1) % 4]
    return B


@case("vs")
def accumulate_elem(x, a):
    y = np.ones(5)
    for i in range(5):
        y[i] += a * x[i]
        y[i] *= x[i]
        y[i] -= a
        y[i] /= 2.0 + a * a
    return np.sum(y * y)


@case("v")
def copy_then_write(x):
    y = x.copy()
    y[2] = y[2] * y[1]
    y[0] = y[4]
    return y


@case("m")
def row_ops(A):
    C = np.zeros((3, 4))
    C[0] = A[1] * A[2]
    for i in range(1, 3):
        C[i] = A[i - 1] + C[i - 1] * A[i]
    return C


# ---------------------------------------------------------------------------- control flow


@case("v")
def range_forms(x):
    s = 0.0
    for i in range(3):
        s += x[i]
    for i in range(1, 5, 2):
        s = s * x[i] + 0.5
    for i in range(4, 0, -1):
        s += x[i] * x[i - 1]
    for i in range(len(x) - 1, -1, -2):
        s -= x[i] * s
    return s


@case("m")
def row_loop(A):
    s = 0.0
    for row in A:
        s = s * 0.5 + np.dot(row, row)
    return s


@case("s")
def while_counter(a):
    y = a
    k = 0
    while k < 5:
        y = 0.9 * y + math.sin(y) * a
        k += 1
    return y


@case("s", domain="positive")
def while_data(a):
    y = a
    while y < 20.0:
        y = y * 1.7 + a
    return y


@case("v")
def if_elif_else(x):
    y = np.empty_like(x)
    for i in range(len(x)):
        t = x[i] + 0.6 * (i - 2)
        if t > 0.5:
            y[i] = t * x[i]
        elif t > -0.5:
            y[i] = math.sin(t)
        else:
            y[i] = -t
    return y


@case("v")
def break_continue(x):
    s = 0.0
    for i in range(len(x)):
        if i == 1:
            continue
        if s > 50.0:
            break
        s += x[i] * x[i] + s * x[i]
        if i == 3:
            break
    return s


@case("v")
def return_in_loop(x):
    for i in range(len(x)):
        if x[i] * (i + 1) > 1.5:
            return x[i] * x[0]
    return np.sum(x * x)


@case("m")
def nested_loops(A):
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(i, A.shape[1]):
            s += A[i, j] * A[i, j - i] * (i + 1)
    return s


@case("s")
def overwrite_var(x):
    a = x * x
    a = a * a
    a = sin(a)
    a = a + cos(x)
    return a * x


# ---------------------------------------------------------------------------- calls


def _sq_plus(a, b):
    return a * a + b


def _sq_plus_twice(a, b):
    return _sq_plus(a, b) * _sq_plus(b, a)


def _norm2(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * x[i]
    return math.sqrt(s)


@numba.njit
def _nj_bump(x):
    return x * math.exp(-x * x)


@case("ss")
def calls_helper(a, b):
    return _sq_plus_twice(a, b) + _sq_plus(a * b, 1.0)


@case("v")
def calls_array_helper(x):
    return x / _norm2(x) + _norm2(x * x)


@case("ss")
def calls_njit(a, b):
    return _nj_bump(a) * b + _nj_bump(a * b)


@case("sv")
def calls_imported(a, x):
    return softplus(x) * ch.damped(a, x[0]) + ch.normalize(x)


# ---------------------------------------------------------------------------- tuples


@case("ss", domain=("positive", "real"))
def polar(r, th):
    return r * math.cos(th), r * math.sin(th)


@case("ss", domain=("positive", "real"))
def uses_polar(r, th):
    x, y = polar(r, th)
    return x * y + x


@case("ts")
def tuple_arg(p, a):
    u, v = p
    return u * a + p[1] * v * v


@case("t")
def tuple_in_out(p):
    return p[1], p[0] * p[1]


@case("ss")
def swap(a, b):
    a, b = b, a * b
    a, b = a + b, a - b
    return a * b


@case("v")
def center(x):
    m = np.mean(x)
    return m, x - m


# ---------------------------------------------------------------------------- small scientific functions


@case("v")
def rosenbrock(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


@case("sss")
def lorenz(x, y, z):
    dt = 0.01
    for _ in range(25):
        dx = SIGMA * (y - x)
        dy = x * (RHO - z) - y
        dz = x * y - BETA * z
        x, y, z = x + dt * dx, y + dt * dy, z + dt * dz
    return x, y, z


@case("vmv", shapes={1: (6, 5), 2: (6,)}, domain=("real", "real", "binary"), wrt=(0, 1))
def logreg_loss(w, X, y):
    z = X @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)) + 0.01 * np.dot(w, w)


@case("mvmv", shapes={0: (4, 5), 1: (4,), 2: (3, 4), 3: (5,)})
def mlp(W1, b1, W2, x):
    h = np.tanh(W1 @ x + b1)
    return W2 @ h


@case("vs")
def horner(c, x):
    y = 0.0
    for ci in c:
        y = y * x + ci
    return y


@case("v")
def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


@case("v")
def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@case("ss", domain=("real", "unit"))
def kepler(M, e):
    E = M
    k = 0
    while abs(E - e * math.sin(E) - M) > 1e-13 and k < 50:
        E = E - (E - e * math.sin(E) - M) / (1.0 - e * math.cos(E))
        k += 1
    return E


def _integrand(t, a):
    return math.exp(-t * t) * math.sin(a * t)


@case("ssn", shapes={2: 8})
def trapezoid(a, b, n):
    h = b / n
    s = 0.5 * (_integrand(0.0, a) + _integrand(b, a))
    for k in range(1, n):
        s += _integrand(k * h, a)
    return s * h


@case("vs", domain=("real", "positive"))
def heat_steps(u, k):
    for _ in range(3):
        v = u.copy()
        v[1:-1] = u[1:-1] + 0.1 * k * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        u = v
    return u


@case("mv", shapes={0: (4, 4), 1: (4,)})
def tanh_layers(A, x):
    v = x
    for _ in range(3):
        v = np.tanh(A @ v)
    return np.dot(v, v)


def _rhs(y, p):
    return np.array([p[0] * y[0] - p[1] * y[0] * y[1], p[2] * y[0] * y[1] - p[3] * y[1]])


@case("vv", shapes={0: (2,), 1: (4,)}, domain=("positive", "positive"))
def rk4_predator_prey(y0, p):
    y = y0.copy()
    dt = 0.05
    for _ in range(5):
        k1 = _rhs(y, p)
        k2 = _rhs(y + 0.5 * dt * k1, p)
        k3 = _rhs(y + 0.5 * dt * k2, p)
        k4 = _rhs(y + dt * k3, p)
        y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


# ---------------------------------------------------------------------------- subroutines
# Fortran-style helpers that write into arrays the caller passes (inlined by srcgrad).


@numba.njit
def _derivative_into(n, p, y, z):
    z[0] = p[0]
    for i in range(1, n):
        z[i] = p[i] * y[i - 1]


def _stage_into(y_tmp, y, k, h):
    _axpy_into(y_tmp, y, k, h)          # a subroutine calling a subroutine


def _axpy_into(out, y, k, a):
    for i in range(y.shape[0]):
        out[i] = y[i] + a * k[i]


@case("v")
def rk4_work_arrays(p):
    n = p.shape[0]
    h = 0.1
    k1 = np.zeros(n)
    k2 = np.zeros(n)
    y_tmp = np.zeros(n)
    y = np.ones(n)
    for step in range(3):
        _derivative_into(n, p, y, k1)
        _stage_into(y_tmp, y, k1, h / 2.0)
        _derivative_into(n, p, y_tmp, k2)
        for i in range(n):
            y[i] += h * k2[i]
    return np.sum(y * y)


def _normalize_into(v, out):
    n = v.shape[0]
    total = 0.0
    for i in range(n):
        total += v[i] * v[i]
    n = math.sqrt(total)                 # rebinds a parameter-derived local: the caller's n is untouched
    for i in range(v.shape[0]):
        out[i] = v[i] / n
    return n


@case("vs")
def subroutine_returns_value(x, a):
    n = 3.0
    out = np.empty(x.shape[0])
    total = _normalize_into(x * a, out)
    ch.scaled_into(out, out * n, scale=a)
    return total * np.sum(out) + n


# ---------------------------------------------------------------------------- arrays restored per loop
# Reverse mode restores arrays a loop writes by the cheapest sound means (array_restore.py); each
# case would give a wrong gradient if the wrong one were chosen.


@case("v")
def same_element_updates(x):
    y = x.copy()
    for step in range(3):
        for i in range(y.shape[0]):          # iteration i touches only y[i]: restored from one copy
            y[i] = y[i] * math.sin(y[i]) + x[i]
    return np.sum(y * y)


@case("v")
def bulk_then_carried(x):
    n = x.shape[0]
    z = np.zeros(n)
    for step in range(3):                    # each step rewrites z in an inner loop: one snapshot per step
        z[0] = x[0] * z[0] + 1.0
        for i in range(1, n):                # reads z[i - 1]: its own writes are logged
            z[i] = z[i - 1] * x[i] + math.cos(z[i])
    return np.sum(z * x)


@case("v", shapes={0: (12,)})
def method_statistics(v):
    M = v.reshape(3, 4)                      # the array methods .mean, .std, .var
    return np.dot(M.mean(axis=0), M.mean(axis=0)) + np.sum(M.std(axis=1)) + v.var()


@case("v")
def guarded_by_any(x):
    if np.any(x > 0.8):                      # a call as an if's test
        return np.sum(x * x)
    return np.sum(np.sin(x))


@case("v")
def masked_where(x):
    # arrays indexed by conditions: jacfwd takes one pass per direction (the kinds carry no mask rank)
    return np.sum(np.where(x > 0.5, x * x, 0.0)[x > 0.1]) + np.sum(x[x > 0.3] ** 2)


@case("v")
def strided_loops(x):
    n = x.shape[0]
    z = np.zeros(n)
    total = 0.0
    for step in range(0, 6, 2):              # a constant step other than 1: tapes sized by its trip count
        for i in range(n - 1, -1, -1):       # a negative step, carrying a float
            total = total * 0.5 + math.sin(x[i] * total + step)
        for i in range(1, n, 2):             # rewrites z's odd elements every step
            z[i] = z[i - 1] * x[i] + math.cos(z[i] + total)
    return total + np.sum(z * x)


@case("v")
def work_array_read_before_rewrite(x):
    n = x.shape[0]
    k = np.zeros(n)
    total = 0.0
    for step in range(3):
        total += k[n - 1] * k[n - 1]         # read before this step rewrites k: not a scratch array
        for i in range(n - 1):
            k[i] = math.sin(x[i] + total)
        k[n - 1] = k[0] * x[0]
    return total


@case("v")
def work_array_scratch(x):
    n = x.shape[0]
    k = np.zeros(n)
    y = x.copy()
    for step in range(3):                    # k is rewritten whole before it is read, every step
        k[0] = y[0]
        for i in range(1, n):
            k[i] = y[i] * y[i - 1]
        for i in range(n):
            y[i] = y[i] + 0.1 * math.tanh(k[i])
    return np.sum(y * y)


# ---------------------------------------------------------------------------- composite primitives


@case("vm", shapes={1: (3, 3)})
def statistics_and_norms(x, A):
    return np.var(x) + 2.0 * np.std(x) + np.linalg.norm(A) * np.trace(A) + np.sum(np.cross(x[:3], x[1:4]) ** 2)


@case("vs")
def log_densities(x, a):
    # scipy.special as a statistician writes it: logistic and softmax likelihoods, Gamma priors
    p = scipy.special.expit(x)
    softmax_terms = np.sum(scipy.special.softmax(x) * scipy.special.log_softmax(x))
    priors = np.sum(scipy.special.gammaln(p + 1.0) + scipy.special.digamma(p + 2.0)) + math.lgamma(a * a + 1.5)
    errors = np.sum(scipy.special.erf(x * a) - scipy.special.erfc(x))
    return (scipy.special.logsumexp(x * a) + softmax_terms + priors + errors
            + np.sum(scipy.special.xlogy(p, 1.0 - 0.5 * p) + scipy.special.logit(0.25 + 0.5 * p)))


@case("vm", shapes={0: (5,), 1: (2, 3)})
def rearranged_arrays(x, A):
    # the array-building functions of numpy: each moves values around, so each is linear
    pieces = np.diff(x) * np.flip(x)[1:] + np.roll(x, 2)[:4] * np.sort(x)[::-1][:4]
    blocks = np.kron(A, A[:, :2].copy()) @ np.repeat(x, 2)[:6] + np.sum(np.diag(np.diag(A @ A.T)))
    return (np.sum(pieces ** 2) + np.sum(np.sin(blocks)) + np.sum(np.atleast_1d(x[0]) * x[1])
            + np.sum(x.astype(np.float64) * np.take(A, np.array([0, 4, 4]))[0]))


@case("vm", shapes={0: (5,), 1: (2, 3)})
def running_products(x, A):
    # survival-style running products (one factor may be zero) and a column lifted to a matrix
    survival = np.cumprod(1.0 - 0.1 * x) * np.cumprod(np.array([x[0], 0.0, x[1]]))[1]
    grid = np.atleast_2d(x[:3]) * A + np.atleast_2d(A) @ np.atleast_2d(x[:3]).T
    return np.sum(survival * x) + np.sum(np.tanh(grid)) + np.sum(A.cumprod())


@case("vm", shapes={0: (3,), 1: (3, 3)})
def linear_algebra(b, A):
    # a regularized least-squares fit and a Gaussian log-density, as a statistician writes them
    S = A @ A.T + np.eye(3)
    L = np.linalg.cholesky(S)
    fit = np.linalg.solve(S, b)
    return (np.dot(fit, b) + 2.0 * np.sum(np.log(np.diag(L))) + np.log(np.linalg.det(S))
            + np.sum(np.linalg.inv(S + np.diag(b * b)) * A))


@case("m", shapes={0: (4, 3)})
def row_softmax_and_axis_reductions(Z):
    # softmax over each row, stabilized by the row's largest score, as machine-learning code has it
    shifted = Z - np.max(Z, axis=1, keepdims=True)
    probabilities = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    spread = np.max(Z, axis=0) - np.min(Z, axis=0)
    return np.sum(probabilities * Z) + np.sum(spread ** 2) + np.sum(np.prod(1.0 + 0.1 * Z, axis=1))


@case("m", shapes={0: (5, 3)})
def column_statistics(X):
    # standardize the columns of a data matrix, then a per-row log-likelihood of a softmax model
    z = (X - np.mean(X, axis=0)) / np.std(X, axis=0)
    spread = np.var(X, axis=0) + np.linalg.norm(X, axis=1, keepdims=True)[1, 0]
    scores = z @ np.array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2]])
    log_p = scipy.special.log_softmax(scores, axis=1)
    return np.sum(log_p[:, 0]) - np.sum(scipy.special.logsumexp(scores, axis=1)) + np.sum(spread) \
        + np.sum(scipy.special.softmax(scores, axis=0) ** 2)


@case("sm", shapes={1: (4, 2)})
def rotated_points(theta, P):
    # a rotation matrix written as a nested list literal, applied to points in rows
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    scale = np.array([[[1.0, theta], [0.0, 1.0]], [[2.0, 0.0], [theta * theta, 1.0]]])
    return np.sum((P @ R.T) ** 3) + np.sum(scale[1] @ P[0]) + np.sum(np.array([[1.0, 2.0]]) @ R)


@case("vs", shapes={0: (2,)})
def pendulum_history_in_lists(x0, k):
    # states and energies appended to Python lists in the loop, read back as arrays afterwards
    history = []
    energies = []
    x = x0
    for i in range(6):
        x = x + 0.1 * np.array([x[1], -k * np.sin(x[0])])
        history.append(x.copy())
        energies.append(0.5 * x[1] ** 2 + k * (1.0 - np.cos(x[0])))
    H = np.array(history)
    weights = [1.0, k * k, 0.5]
    return np.sum(H[:, 0] ** 2) + np.mean(np.array(energies)) + energies[-1] * weights[1] + weights[2] * H[-1, 1]


@case("vm", shapes={0: (3,), 1: (3, 3)})
def stacked_blocks(x, A):
    # block matrices built with hstack / vstack / concatenate along axis 1
    top = np.hstack((A, A * x))
    rows = np.vstack((x, x ** 2))
    whole = np.vstack((top, np.hstack((rows, rows))))
    side = np.concatenate((A, A.T), axis=1)
    return np.sum(np.sin(whole)) + np.sum(side ** 2) + np.sum(np.hstack((x, 2.0 * x)) ** 3)


@case("vm", shapes={0: (3,), 1: (3, 3)})
def broadcast_column_against_matrix(x, A):
    # a (3, 1) column times a (3, 3) matrix: same rank, broadcast all the same
    column = np.reshape(x, (3, 1))
    return np.sum(np.sin(column * A + A * column.T))


@case("v")
def nested_helpers(x):
    # helpers defined inside the function, reading only their arguments
    def energy(v, stiffness=2.0):
        return stiffness * v * v

    def wiggle(a):
        total = 0.0
        for i in range(a.shape[0]):
            total += np.sin(a[i])
        return total

    return np.sum(energy(x)) + wiggle(x) + np.sum(energy(x, 3.0))


@case("vm", shapes={0: (3,), 1: (3, 4)})
def einsum_contractions(x, A):
    # explicit and implicit subscripts, a trace, a transpose, three operands
    y = np.einsum("ij,i->j", A, x)
    G = np.einsum("ij,kj->ik", A, A)
    return np.einsum("i,i", y, y) + np.einsum("ii", G) + np.sum(np.einsum("ij->ji", A) * np.einsum("i,ij,j->", x, A, y))


@case("vm", shapes={0: (3,), 1: (3, 3)})
def symmetric_spectrum(x, A):
    # eigh of a symmetric matrix built from the inputs (distinct eigenvalues), and slogdet
    S = A @ A.T + np.diag(np.array([1.0, 2.5, 4.5])) + np.outer(x, x)
    values, vectors = np.linalg.eigh(S)
    sign, logdet = np.linalg.slogdet(S)
    return values[0] + values[-1] ** 2 + np.sum(vectors[:, 0] ** 2 * x) + sign * logdet


@case("vm", shapes={0: (4,), 1: (3, 3)})
def shaped_builders(x, A):
    # tile, meshgrid, column_stack, stack along axis 1, cumsum along an axis, triangles, matrix powers
    X, Y = np.meshgrid(x, x[:3])
    columns = np.column_stack((x, x * x))
    side = np.stack((x, np.sin(x)), axis=1)
    total = np.sum(np.tile(x, 2) * np.arange(8.0)) + np.sum(X * Y) + np.sum(columns * side)
    running = np.sum(np.cumsum(A, axis=0) * np.cumsum(A, axis=1))
    return total + running + np.sum(np.tril(A) ** 2) + np.sum(np.triu(A) * A) + np.sum(np.linalg.matrix_power(A, 3))


TABLE_T = np.array([-1.0, -0.2, 0.5, 1.2])   # breakpoints of a lookup table


@case("vvm", shapes={0: (4,), 1: (4,), 2: (2, 3)})
def interpolated_profiles(T, heights, A):
    # a table looked up by np.interp (temperatures beyond its ends clamp), tiled over a grid,
    # stacked with a row, lifted to 3-D for per-layer weights and squeezed back
    profile = np.interp(T, TABLE_T, heights)
    grid = np.tile(A, (2, 1)) * profile[:3]
    block = np.vstack((grid, profile[1:]))
    layers = np.atleast_3d(block) * np.array([1.0, -0.5])
    return np.sum(np.tanh(layers)) + np.sum(np.squeeze(block[:, :1], axis=1) ** 2) + np.sum(np.tile(T, 2) * heights[0])


def euler_steps(rhs, y, h, n):
    """A helper that takes the function it calls as an argument."""
    for _ in range(n):
        y = y + h * rhs(y)
    return y


def damped(y):
    return -0.5 * y + np.sin(y)


def summed(fn, v):
    return np.sum(fn(v))


@case("v")
def functions_as_arguments(x):
    # helpers called with functions: one of yours, numpy's, and one with a loop
    return summed(np.tanh, x) + summed(damped, x) + np.sum(euler_steps(damped, x, 0.1, 15) ** 2)


TRAPEZOID = getattr(np, "trapezoid", None) or np.trapz   # renamed in NumPy 2


@case("v")
def polynomials_and_steps(x):
    # Horner polynomials, the trapezoidal rule, fmod, heaviside and np.where of numbers
    p = np.polyval(np.array([0.5, -1.0, 2.0]), x) + np.polyval(x, 0.7)
    integral = TRAPEZOID(x ** 2)
    steps = x * np.heaviside(x, 0.5) + np.where(x > 0.0, 1.0, 0.25) * x
    return np.sum(p) + integral + np.sum(np.fmod(x * 3.0, 1.7)) + np.sum(steps) + np.real(x[0])


CORPUS_BY_NAME = {c.name: c for c in CORPUS}
assert len(CORPUS_BY_NAME) == len(CORPUS), "duplicate corpus names"
