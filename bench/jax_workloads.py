"""JAX rewrites of the workloads with loops in lax form, and their jitted gradients (float64)."""

import math

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402


def rosenbrock_loop(x):
    def body(i, s):
        return s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return lax.fori_loop(0, x.shape[0] - 1, body, 0.0)


def lorenz(state, params, dt, T):
    sigma = params[0]
    rho = params[1]
    beta = params[2]

    def body(t, carry):
        x, y, z = carry
        dx = sigma * (y - x)
        dy = x * (rho - z) - y
        dz = x * y - beta * z
        return (x + dt * dx, y + dt * dy, z + dt * dz)

    x, y, z = lax.fori_loop(0, T, body, (state[0], state[1], state[2]))
    return x * x + y * y + z * z


def rosenbrock_vec(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def gmm_loglik(x, w, mu, sig):
    """Loop over points in lax form; the inner K loop is a length-K vector op, as a JAX user writes it."""
    sqrt2pi = math.sqrt(2.0 * math.pi)

    def body(i, ll):
        z = (x[i] - mu) / sig
        s = jnp.sum(w * jnp.exp(-0.5 * z * z) / (sig * sqrt2pi))
        return ll + jnp.log(s)

    return lax.fori_loop(0, x.shape[0], body, 0.0)


JAX_FUNCTIONS = {
    "rosenbrock_loop": rosenbrock_loop,
    "lorenz": lorenz,
    "rosenbrock_vec": rosenbrock_vec,
    "gmm_loglik": gmm_loglik,
}

STATIC_ARGNUMS = {"lorenz": (3,)}  # T is a trip count


def jitted_grad(workload):
    function = JAX_FUNCTIONS[workload.name]
    return jax.jit(jax.grad(function, argnums=workload.wrt),
                   static_argnums=STATIC_ARGNUMS.get(workload.name, ()))


def jitted_primal(workload):
    function = JAX_FUNCTIONS[workload.name]
    return jax.jit(function, static_argnums=STATIC_ARGNUMS.get(workload.name, ()))


def to_device(args):
    """Arrays become jax arrays; Python scalars (dt, T) stay as they are."""
    return tuple(jnp.asarray(a) if hasattr(a, "shape") else a for a in args)
