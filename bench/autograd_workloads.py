"""Autograd gradients of the unchanged workload code, run with np/math rebound to autograd.numpy."""

import math
import types

import autograd
import autograd.numpy as anp


class _AutogradMath:
    """Stands in for the `math` module so that math.exp/log/sqrt on boxed scalars are traced."""
    pi = math.pi
    e = math.e
    exp = staticmethod(anp.exp)
    log = staticmethod(anp.log)
    sqrt = staticmethod(anp.sqrt)
    sin = staticmethod(anp.sin)
    cos = staticmethod(anp.cos)
    tanh = staticmethod(anp.tanh)


def traceable(function):
    """The same code object as `function`, with globals np -> autograd.numpy and math -> a traced shim."""
    new_globals = dict(function.__globals__)
    new_globals["np"] = anp
    new_globals["math"] = _AutogradMath
    return types.FunctionType(function.__code__, new_globals, function.__name__,
                              function.__defaults__, function.__closure__)


def autograd_grad(workload):
    return autograd.grad(traceable(workload.function), argnum=workload.wrt)
