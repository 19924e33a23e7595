"""Derivative rules; importing this package registers every built-in rule exactly once."""
from . import arrays, elementwise  # noqa: F401  (registration happens on import)
from .registry import all_rules, bilinear, elementwise as register_elementwise, inactive, linear, lookup  # noqa: F401
