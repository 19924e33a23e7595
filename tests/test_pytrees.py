"""Parameters in (nested) tuples and dicts: gradients and tangents come back in the same structure."""
import numpy as np
import pytest

from gradcheck import check_jvp, check_vjp, dot_product_test

import pytree_functions as pf
import srcgrad

RNG = np.random.default_rng(3)
X, Y = RNG.standard_normal((6, 4)), RNG.standard_normal(6)
W1, B1, W2 = RNG.standard_normal((4, 5)), 0.1 * RNG.standard_normal(5), RNG.standard_normal(5)
AS_TUPLES = ((W1, B1), (W2, 0.3), 0.5)
AS_DICT = {"hidden": {"W": W1, "b": B1}, "out": {"W": W2, "b": 0.3}, "scale": 0.5}


def _as_tuples(tree):
    return ((tree["hidden"]["W"], tree["hidden"]["b"]), (tree["out"]["W"], tree["out"]["b"]), tree["scale"])


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_nested_tuples_against_finite_differences_and_each_other(backend):
    check_jvp(pf.mlp_loss_tuples, (AS_TUPLES, X, Y), 0, backend)
    check_vjp(pf.mlp_loss_tuples, (AS_TUPLES, X, Y), 0, backend)
    dot_product_test(pf.mlp_loss_tuples, (AS_TUPLES, X, Y), 0, backend)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_dict_gradient_is_a_dict_with_the_tuple_version_values(backend):
    value, grads = srcgrad.value_and_grad(pf.mlp_loss, backend=backend)(AS_DICT, X, Y)
    expected_value, expected = srcgrad.value_and_grad(pf.mlp_loss_tuples, backend=backend)(AS_TUPLES, X, Y)
    assert value == pytest.approx(expected_value, rel=1e-12)
    assert set(grads) == {"hidden", "out", "scale"} and set(grads["hidden"]) == {"W", "b"}
    for got, want in zip(_flat(_as_tuples(grads)), _flat(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    step = 1e-6   # one entry against central differences, through the dict itself
    up, down = _with_scale(AS_DICT, 0.5 + step), _with_scale(AS_DICT, 0.5 - step)
    numeric = (pf.mlp_loss(up, X, Y) - pf.mlp_loss(down, X, Y)) / (2 * step)
    assert grads["scale"] == pytest.approx(numeric, rel=1e-6)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_dict_tangent_in_forward_mode(backend):
    tangent = {"hidden": {"W": np.ones_like(W1), "b": np.zeros(5)}, "out": {"W": W2, "b": 1.0}, "scale": -1.0}
    value, derivative = srcgrad.jvp(pf.mlp_loss, backend=backend)(AS_DICT, X, Y, tangent)
    _, expected = srcgrad.jvp(pf.mlp_loss_tuples, backend=backend)(AS_TUPLES, X, Y, _as_tuples(tangent))
    assert derivative == pytest.approx(expected, rel=1e-12)
    grads = srcgrad.grad(pf.mlp_loss, backend=backend)(AS_DICT, X, Y)
    assert derivative == pytest.approx(sum(np.sum(g * t) for g, t in zip(_flat(_as_tuples(grads)),
                                                                        _flat(_as_tuples(tangent)))), rel=1e-10)


LAYERS = ((RNG.standard_normal((4, 5)), RNG.standard_normal(5)), (RNG.standard_normal((5, 3)), RNG.standard_normal(3)),
          (RNG.standard_normal((3, 2)), RNG.standard_normal(2)))


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_loop_over_a_tuple_of_layers(backend):
    """`for W, b in layers:` over layers of different shapes, and `enumerate(zip(...))` of a dict's
    tuples: each item has its own adjoint and tangent (the loop is unrolled once kinds give the
    tuple's length); refused as "indexing a tuple with a variable" before."""
    check_vjp(pf.deep_mlp_loss, (LAYERS, X, Y), (0, 1), backend)
    check_jvp(pf.deep_mlp_loss, (LAYERS, X, Y), (0, 1), backend)
    expected = srcgrad.grad(pf.deep_mlp_loss_unrolled, backend=backend)(LAYERS, X, Y)
    for looped in (pf.deep_mlp_loss, pf.deep_mlp_loss_indexed):
        for got, want in zip(_flat(srcgrad.grad(looped, backend=backend)(LAYERS, X, Y)), _flat(expected)):
            np.testing.assert_allclose(got, want, rtol=1e-12)
    params = {"weights": tuple(W for W, _ in LAYERS), "biases": tuple(b for _, b in LAYERS)}
    grads = srcgrad.grad(pf.deep_mlp_loss_dict, backend=backend)(params, X, Y)
    step, W = 1e-6, params["weights"][1]
    for index in [(0, 0), (4, 2)]:
        up, down = W.copy(), W.copy()
        up[index] += step
        down[index] -= step
        numeric = (pf.deep_mlp_loss_dict(dict(params, weights=(params["weights"][0], up, params["weights"][2])), X, Y)
                   - pf.deep_mlp_loss_dict(dict(params, weights=(params["weights"][0], down, params["weights"][2])), X, Y)) / (2 * step)
        assert grads["weights"][1][index] == pytest.approx(numeric, rel=1e-6, abs=1e-9)
    written_out = (X[0], LAYERS[0][0].T, LAYERS[1][0].T)
    check_vjp(pf.over_tuples_written_out, written_out, (0, 1, 2), backend)
    check_jvp(pf.over_tuples_written_out, written_out, (0, 1, 2), backend)
    hessian = srcgrad.hessian(pf.deep_mlp_loss, wrt=2, backend="python")(LAYERS, X, Y)
    np.testing.assert_allclose(hessian, np.diag(np.full(6, 2.0 / 6)), atol=1e-12)   # the loss is (h - y)^2 / 6


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_breaking_out_of_a_loop_over_a_tuple(backend):
    """`break` leaves all the items after (a flag in reverse mode, a loop run once in forward mode),
    `continue` its own item."""
    x = np.array([0.3, -0.2, 0.5])
    saturating = (np.eye(3) * 9.0, np.eye(3) * 0.5)   # the first layer saturates: the second never runs
    for layers in (LAYERS_3, saturating):
        check_vjp(pf.stopped_early, (layers, x), (0, 1), backend)
        check_jvp(pf.stopped_early, (layers, x), (0, 1), backend)
    grads = srcgrad.grad(pf.stopped_early, backend=backend)(saturating, x)
    assert not np.any(grads[1])
    skipped = (np.eye(3) * 0.5, -np.eye(3), np.eye(3) * 30.0, np.eye(3) * 0.2)   # the second skipped, the fourth never run
    for layers in (skipped, LAYERS_3):
        check_vjp(pf.switched_off_or_stopped, (layers, x), (0, 1), backend)
        check_jvp(pf.switched_off_or_stopped, (layers, x), (0, 1), backend)
    grads = srcgrad.grad(pf.switched_off_or_stopped, backend=backend)(skipped, x)
    assert not np.any(grads[1]) and not np.any(grads[3]) and np.any(grads[2])


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_one_name_rebound_to_pairs_of_other_shapes(backend):
    args = (LAYERS[0][0].T, LAYERS[0][1], LAYERS[1][0].T, LAYERS[1][1], X[0])
    check_vjp(pf.two_layers_through_one_name, args, (0, 1, 2, 3, 4), backend)
    check_jvp(pf.two_layers_through_one_name, args, (0, 1, 2, 3, 4), backend)


LAYERS_3 = (0.5 * RNG.standard_normal((3, 3)), 0.5 * RNG.standard_normal((3, 3)))


def test_a_key_the_dict_lacks_is_refused_by_name():
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match=r"params\['weights'\].*\['bias', 'scale'\]"):
        srcgrad.grad(pf.unknown_key, backend="python")({"bias": X[0], "scale": 1.0}, X[0])


def _flat(tree):
    if isinstance(tree, tuple):
        return [leaf for item in tree for leaf in _flat(item)]
    return [tree]


def _with_scale(tree, scale):
    return {**tree, "scale": scale}


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_has_aux_returns_the_loss_gradient_and_the_aux_values(backend):
    w = RNG.standard_normal(4)
    (value, (prediction, worst)), grads = srcgrad.value_and_grad(pf.loss_with_aux, has_aux=True, backend=backend)(w, X, Y)
    grads_only, aux = srcgrad.grad(pf.loss_with_aux, has_aux=True, backend=backend)(w, X, Y)
    np.testing.assert_allclose(grads, 2 * X.T @ (X @ w - Y) / X.shape[0], rtol=1e-12)   # by hand
    np.testing.assert_allclose(grads_only, srcgrad.grad(pf.loss_only, backend=backend)(w, X, Y), rtol=1e-12)
    np.testing.assert_allclose(prediction, X @ w, rtol=1e-12)
    assert worst == pytest.approx(np.max(np.abs(X @ w - Y))) and aux[1] == pytest.approx(worst)
    assert value == pytest.approx(pf.loss_only(w, X, Y))


def test_has_aux_needs_a_pair():
    with pytest.raises(srcgrad.SrcgradError, match="has_aux=True needs loss_only to return a pair"):
        srcgrad.grad(pf.loss_only, has_aux=True, backend="python")(RNG.standard_normal(4), X, Y)


W_SMALL, X32 = np.array([0.3, -0.2]), np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.1]])


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_dict_results_come_back_as_dicts(backend):
    g, aux = srcgrad.grad(pf.metrics_as_aux, has_aux=True, backend=backend)(W_SMALL, X32)
    pred = np.tanh(X32 @ W_SMALL)
    assert set(aux) == {"mean", "first"} and np.isclose(aux["mean"], np.mean(pred)) and np.isclose(aux["first"], pred[0])
    value, tangent = srcgrad.jvp(pf.named_outputs, backend=backend)(W_SMALL, np.array([1.0, 0.5]))
    assert list(value) == ["energy", "force", "peak"]
    assert np.isclose(tangent["energy"], W_SMALL @ np.array([1.0, 0.5])) and np.allclose(tangent["force"], [-2.0, -1.0])
    # a cotangent dict in another key order than the function's: matched by key
    _, grads = srcgrad.vjp(pf.named_outputs, backend=backend)(W_SMALL, {"peak": 1.0, "force": np.ones(2), "energy": 2.0})
    np.testing.assert_allclose(grads, 2.0 * W_SMALL - 2.0 + np.array([1.0, 0.0]), rtol=1e-13)
    with pytest.raises(srcgrad.SrcgradError, match="keys"):
        srcgrad.vjp(pf.named_outputs, backend=backend)(W_SMALL, {"energy": 1.0})


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_list_argument_is_read_as_the_tuple_of_its_items(backend):
    rng = np.random.default_rng(5)
    maps, x = [rng.normal(size=(3, 3)), rng.normal(size=(2, 3))], rng.normal(size=3)
    check_vjp(pf.chained_maps, (tuple(maps), x), (0, 1), backend=backend)
    grads = srcgrad.grad(pf.chained_maps, wrt=(0, 1), backend=backend)(maps, x)
    expected = srcgrad.grad(pf.chained_maps, wrt=(0, 1), backend=backend)(tuple(maps), x)
    assert isinstance(grads[0], tuple) and len(grads[0]) == 2
    for got, want in zip((*grads[0], grads[1]), (*expected[0], expected[1])):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_dict_indexed_by_a_loop_over_its_keys(backend):
    rng = np.random.default_rng(6)
    params = {"l1": {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}, "l2": {"W": rng.normal(size=(4, 2)), "b": rng.normal(size=2)}}
    x, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    grads = srcgrad.grad(pf.layers_by_name, backend=backend)(params, x, y)
    h, W = 1e-6, params["l2"]["W"]
    for k in np.ndindex(W.shape):
        W[k] += h
        up = pf.layers_by_name(params, x, y)
        W[k] -= 2 * h
        down = pf.layers_by_name(params, x, y)
        W[k] += h
        assert abs(grads["l2"]["W"][k] - (up - down) / (2 * h)) < 1e-7
    assert set(grads) == {"l1", "l2"} and grads["l1"]["b"].shape == (4,)
