"""Quick start: differentiate a small ODE simulation written as a plain Python loop.

The model is a damped, driven pendulum integrated with explicit Euler. srcgrad reads the function's
source, writes derivative code (forward and reverse mode), compiles it with numba, and here we
check both against central finite differences and print the generated reverse-mode code.
"""
import math
import time

import numpy as np

import srcgrad
from checks import central_differences


def pendulum_loss(state, params, dt, steps):
    """Squared distance of the pendulum's final angle from pi/2."""
    theta = state[0]
    omega = state[1]
    damping = params[0]
    drive = params[1]
    for step in range(steps):
        t = step * dt
        accel = -math.sin(theta) - damping * omega + drive * math.cos(0.7 * t)
        theta = theta + dt * omega
        omega = omega + dt * accel
    miss = theta - math.pi / 2
    return miss * miss


def main() -> None:
    state, params, dt, steps = np.array([0.3, 0.0]), np.array([0.25, 1.1]), 0.01, 2000

    # Reverse mode: the gradient with respect to the initial state and the parameters.
    gradient = srcgrad.value_and_grad(pendulum_loss, wrt=(0, 1))
    start = time.perf_counter()
    loss, (d_state, d_params) = gradient(state, params, dt, steps)
    first_call = time.perf_counter() - start

    # Forward mode: the directional derivative along the first parameter.
    tangent = srcgrad.jvp(pendulum_loss, wrt=1)
    _, d_loss_d_damping = tangent(state, params, dt, steps, np.array([1.0, 0.0]))

    fd_state = central_differences(lambda s: pendulum_loss(s, params, dt, steps), state)
    fd_params = central_differences(lambda p: pendulum_loss(state, p, dt, steps), params)

    print("Generated reverse-mode code (srcgrad.source(gradient)):\n")
    print(srcgrad.source(gradient))
    print(f"loss                     = {loss:.10f}")
    print(f"d loss / d state         = {d_state}   finite differences: {fd_state}")
    print(f"d loss / d params        = {d_params}   finite differences: {fd_params}")
    print(f"forward mode, d/d damping = {d_loss_d_damping:.10f}   (reverse mode: {d_params[0]:.10f})")
    print(f"first call (transform + numba compile, or cache load): {first_call:.2f} s")

    assert np.allclose(d_state, fd_state, rtol=1e-5, atol=1e-7)
    assert np.allclose(d_params, fd_params, rtol=1e-5, atol=1e-7)
    assert math.isclose(d_loss_d_damping, d_params[0], rel_tol=1e-10)
    print("\nOK: forward mode, reverse mode and finite differences agree.")


if __name__ == "__main__":
    main()
