"""srcgrad_runtime.sum_to, the adjoint of broadcasting, in Python and compiled by numba, against
its definition on random pairs of shapes of ranks 0 to 3: g and x broadcast together, and each
element of that shape adds g's element it was broadcast from into x's. An axis where g has length
one spreads (the cotangent of `np.expand_dims(s, 2)` reaching x of shape (n, m, 2)); numba's
version once left all but the first column of such an x at zero (pairwise differences
`X[:, None, :] - X[None, :, :]`: half the gradient silently zero)."""
import numba
import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
from srcgrad_runtime import sum_to


@numba.njit
def compiled_sum_to(g, x):
    return sum_to(g, x)


def _defined(g, x):
    shape = np.broadcast_shapes(np.shape(g), np.shape(x))
    spread, out = np.broadcast_to(g, shape), np.zeros(np.shape(x))
    for index in np.ndindex(*shape):
        tail = index[len(shape) - out.ndim:]
        out[tuple(i if n != 1 else 0 for i, n in zip(tail, out.shape))] += spread[index]
    return out


def _pairs(seed: int):
    rng = np.random.default_rng(seed)
    for g_rank in range(4):
        for x_rank in range(4):
            for _ in range(4):
                full = rng.integers(1, 4, size=max(g_rank, x_rank))
                g_shape = tuple(int(n) if rng.random() < 0.7 else 1 for n in full[len(full) - g_rank:])
                x_shape = tuple(int(n) if rng.random() < 0.7 else 1 for n in full[len(full) - x_rank:])
                yield (rng.normal(size=g_shape) if g_rank else float(rng.normal())), (np.zeros(x_shape) if x_rank else 0.0)


@pytest.mark.parametrize("implementation", [sum_to, compiled_sum_to], ids=["python", "numba"])
def test_sum_to_is_the_adjoint_of_broadcasting(implementation):
    for g, x in _pairs(0):
        got = implementation(g, x)
        assert np.shape(got) == np.shape(x), (np.shape(g), np.shape(x))
        np.testing.assert_allclose(got, _defined(g, x), rtol=1e-13, atol=1e-13, err_msg=f"{np.shape(g)} -> {np.shape(x)}")
