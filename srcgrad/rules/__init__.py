"""Derivative rules; importing this package registers every built-in rule exactly once."""
from . import arrays, composite, einsum, elementwise, linalg  # noqa: F401  (registration happens on import)
from . import runtime  # noqa: F401  (last: it covers the helpers the others emit)
from .registry import all_rules, lookup, register_elementwise  # noqa: F401
