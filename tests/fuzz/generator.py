"""Random programs in srcgrad's documented subset, reproducible from a seed string."""
from __future__ import annotations

import ast
import random

from .expressions import Helper
from .kernels import generate_kernel
from .program import Param, Program
from .scope import Var
from .statements import BodyGen

HEADER = "import math\n\nimport numpy as np\nimport scipy.special\n"


def generate(seed: str) -> Program:
    """The program for `seed` (any string): helpers, then the function `f` srcgrad differentiates.
    A seed beginning with "kernel" draws a program shaped for a prange kernel (tests/fuzz/kernels.py)."""
    if seed.startswith("kernel"):
        return generate_kernel(seed)
    rng = random.Random(seed)
    dims = sorted(rng.sample([2, 3, 4], rng.choice([1, 2, 2, 3, 3])))
    flat = dims[0] * dims[-1] if len(dims) > 1 and rng.random() < 0.45 else None
    gen = BodyGen(rng, dims, flat)
    sources = [_helper(gen, k) for k in range(gen.pick([(5, 0), (4, 1), (2, 2)]))]
    sources += [_subroutine(gen, k) for k in range(gen.pick([(6, 0), (3, 1), (1, 2)]))]
    sources += [_function_taker(gen, k) for k in range(gen.pick([(7, 0), (3, 1)]))]
    params = _params(gen)
    sources.append(gen.function("f", [_as_var(p) for p in params], _main_returns(gen), rng.randint(4, 12)))
    source = HEADER + "".join("\n\n" + _tidy(s) + "\n" for s in sources)
    return Program(seed=seed, source=source, params=tuple(params), wrt=_wrt(rng, params))


def _tidy(source: str) -> str:
    """Canonical spelling (and a syntax check) of one generated function."""
    return ast.unparse(ast.parse(source))


def _params(gen: BodyGen) -> list:
    names = {(): iter("abc"), 1: iter("xyz"), 2: iter("ABC")}
    params = []
    for _ in range(gen.rng.randint(1, 3)):
        shape = gen.random_shape((3, 4, 2.5))
        params.append(Param(next(names[len(shape) or ()]), shape))
    if gen.rng.random() < 0.15:
        params.insert(gen.rng.randint(0, len(params)), Param("n", int_value=gen.rng.randint(2, 4)))
    return params


def _as_var(p: Param) -> Var:
    if p.int_value is not None:
        return Var(p.name, is_int=True, lo=p.int_value, hi=p.int_value, param=True)
    return Var(p.name, p.shape, param=True)


def _returns(gen: BodyGen, pair_p: float) -> tuple:
    if gen.rng.random() < pair_p:
        return (gen.random_shape((3, 2, 0)), gen.random_shape((3, 2, 0.5)))
    return (gen.random_shape((6, 2, 0.8)),)


def _main_returns(gen: BodyGen) -> tuple:
    return _returns(gen, 0.2)


def _helper(gen: BodyGen, k: int) -> str:
    shapes = [gen.random_shape() for _ in range(gen.rng.randint(1, 2))]
    params = [Var(name, shape, param=True) for name, shape in zip("pq", shapes)]
    rets = _returns(gen, 0.45)
    source = gen.function(f"h{k}", params, rets, gen.rng.randint(1, 4))
    gen.helpers.append(Helper(f"h{k}", tuple(shapes), rets))
    return source


def _subroutine(gen: BodyGen, k: int) -> str:
    """`def sub0(out, p)`: writes into `out`, the caller's array; returns nothing, or a value."""
    out = Var("out", gen.random_shape((0, 3, 1.5)), owned=True, param=True)
    params = [out] + [Var(name, gen.random_shape(), param=True) for name in "pq"[:gen.rng.randint(1, 2)]]
    rets = () if gen.rng.random() < 0.6 else (gen.random_shape((6, 2, 0)),)
    source = gen.function(f"sub{k}", params, rets, gen.rng.randint(1, 4))
    gen.subroutines.append(Helper(f"sub{k}", tuple(p.shape for p in params), rets))
    return source


# bodies of a helper that takes a function `fn` and calls it on `p` (of any shape)
_TAKER_BODIES = [
    "    return 0.5 * fn(p) + p",
    "    y = fn(p)\n    return np.sin(y) * p",
    "    y = p\n    for _ in range(3):\n        y = y + 0.1 * fn(y)\n    return y",
    "    return fn(fn(p) * 0.5)",
]


def _function_taker(gen: BodyGen, k: int) -> str:
    """`def ap0(fn, p)`: a helper the program calls with a function (numpy's, or one of its own
    shape-keeping helpers), which srcgrad differentiates with that function in place of `fn`."""
    gen.function_takers.append(f"ap{k}")
    return f"def ap{k}(fn, p):\n" + gen.rng.choice(_TAKER_BODIES) + "\n"


def _wrt(rng: random.Random, params: list):
    floats = [k for k, p in enumerate(params) if p.int_value is None]
    chosen = floats if rng.random() < 0.5 else sorted(rng.sample(floats, rng.randint(1, len(floats))))
    if len(chosen) == 1 and rng.random() < 0.8:
        return chosen[0]
    return tuple(chosen)
