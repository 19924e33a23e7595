"""Fresh, readable names that never collide with the user's."""
from __future__ import annotations

import keyword
import re


class NameGenerator:
    """Hands out names derived from a readable base, unique within one generated function."""

    def __init__(self, taken: set[str] = ()):
        self.taken = set(taken) | set(keyword.kwlist)
        # base -> the first suffix that may be free: names are only ever taken, never released, so
        # the search for `base_k` resumes there (long code asks for thousands of `mul_k`)
        self._next_suffix: dict[str, int] = {}

    def reserve(self, names) -> None:
        self.taken.update(names)

    def fresh(self, base: str) -> str:
        base = re.sub(r"\W", "_", base).strip("_") or "t"
        if base[0].isdigit():
            base = "t" + base
        if base not in self.taken:
            self.taken.add(base)
            return base
        k = self._next_suffix.get(base, 1)
        while f"{base}_{k}" in self.taken:
            k += 1
        self._next_suffix[base] = k + 1
        self.taken.add(f"{base}_{k}")
        return f"{base}_{k}"

    def derived(self, base: str, prefix: str = "", suffix: str = "") -> str:
        """`dx`, `x_bar`: the conventional derived name when free, else a unique variant."""
        return self.fresh(f"{prefix}{base}{suffix}")


def rename_reserved(fn, names: NameGenerator, reserved: set[str]) -> None:
    """Rename the function's own variables that share a name with something generated code calls
    (`np`, `math`, `max`, `len`, a runtime helper such as `clip`): `max = 0.0` becomes `max_1 = 0.0`.

    After this pass no parameter or assigned name of the function is in `reserved`.
    """
    from .. import syntax
    local = set(syntax.param_names(fn)) | syntax.stored_names(fn.body)
    clashes = {name: names.fresh(name) for name in sorted(local & reserved)}
    if clashes:
        syntax.rename(fn, clashes)
