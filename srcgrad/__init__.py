"""srcgrad: source-transformation automatic differentiation for Python/NumPy, compiled with numba."""
from .api import (DerivativeFunction, derivative, grad, jacfwd, jacrev, jvp, source, value_and_grad,
                  vjp)
from .higher import hessian, hvp
from .check import GradientCheckError, check_grads
from .budget import checkpoint
from .custom import custom_jvp, custom_vjp
from srcgrad_runtime import stop_gradient
from .errors import (CacheError, CacheWarning, CompilationError, InternalError, MissingSourceError, NoRuleError, SrcgradError, StaleSourceError,
                     UnsupportedSyntaxError, WrtError)
from . import rules  # noqa: F401  (registers the built-in derivative rules)
from .emit.cache import clear as clear_cache, info as cache_info

__version__ = "0.1.0"
__all__ = ["jvp", "derivative", "jacfwd", "grad", "value_and_grad", "vjp", "jacrev", "hvp", "hessian", "check_grads", "GradientCheckError", "checkpoint", "custom_vjp", "custom_jvp", "stop_gradient", "source", "DerivativeFunction", "SrcgradError", "CacheError", "CacheWarning", "CompilationError", "InternalError", "StaleSourceError",
           "UnsupportedSyntaxError", "MissingSourceError", "NoRuleError", "WrtError", "cache_info", "clear_cache"]
