"""Asserts each hand-written adjoint matches central finite differences of the plain workload, at small size.

Run alone with `python bench/check_adjoints.py`; run.py calls check_all() before timing anything.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hand_adjoints import HAND_GRADIENTS  # noqa: E402
from measure import gradient_parts  # noqa: E402
from workloads import WORKLOADS, gmm_inputs, lorenz_inputs, rosenbrock_inputs  # noqa: E402

SMALL_INPUTS = {
    "rosenbrock_loop": lambda: rosenbrock_inputs(20),
    "lorenz": lambda: lorenz_inputs(3000, horizon=3.0),
    "rosenbrock_vec": lambda: rosenbrock_inputs(20),
    "gmm_loglik": lambda: gmm_inputs(40, components=4),
}


def central_differences(function, args, wrt, step=1e-6):
    """Gradient of function(*args) w.r.t. the array arguments listed in wrt, by central differences."""
    gradients = []
    for position in wrt:
        base = args[position]
        gradient = np.empty_like(base)
        for index in range(base.size):
            gradient.flat[index] = directional_difference(function, args, position, index, step)
        gradients.append(gradient)
    return gradients


def directional_difference(function, args, position, index, step):
    h = step * max(1.0, abs(args[position].flat[index]))
    values = []
    for sign in (1.0, -1.0):
        shifted = args[position].copy()
        shifted.flat[index] += sign * h
        values.append(function(*replace(args, position, shifted)))
    return (values[0] - values[1]) / (2.0 * h)


def replace(args, position, value):
    return args[:position] + (value,) + args[position + 1:]


def check_workload(name, rtol=1e-5, atol=1e-6):
    workload = WORKLOADS[name]
    args = SMALL_INPUTS[name]()
    expected = central_differences(workload.function, args, workload.wrt_tuple)
    actual = gradient_parts(HAND_GRADIENTS[name](*args))
    assert len(actual) == len(expected), f"{name}: {len(actual)} gradient parts, expected {len(expected)}"
    for part, (got, want) in enumerate(zip(actual, expected)):
        scale = np.max(np.abs(want))
        np.testing.assert_allclose(got, want.ravel(), rtol=rtol, atol=atol * max(scale, 1.0),
                                   err_msg=f"hand adjoint of {name}, gradient part {part}")


def check_all():
    for name in WORKLOADS:
        check_workload(name)
    return sorted(WORKLOADS)


if __name__ == "__main__":
    print("hand adjoints match central differences:", ", ".join(check_all()))
