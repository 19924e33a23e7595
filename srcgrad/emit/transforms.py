"""The transform cache: a derivative request's generated module found on disk, so that a new
process loads it (and numba's machine code for it) without running srcgrad's compiler again.

An entry is a small file `srcgrad_idx_<key>.pickle` beside the modules, in the same private
directory. The key hashes everything the generated code depends on: srcgrad's own sources and
runtime, the Python, NumPy and numba versions, the request (mode, wrt, backend, options,
argument kinds) and the portable fingerprint of the function and everything it calls (their
normalized code, where they are, the globals they read). The entry names the module and the
function in it; the module file is verified byte for byte as any other, so a missing, edited or
evicted module only means the compiler runs again.
"""
from __future__ import annotations

import hashlib
import pickle
import platform
import sys
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from .cache import INDEX_PREFIX as PREFIX, usable_cache_dir
from .module import write_atomically

@dataclass
class Entry:
    """What a request built: its module, the function to call in it, and its result's kind."""

    module: str
    function: str
    return_kind: object
    bound: dict   # name in the module -> print of the array bound to it after import
    warnings: tuple = ()   # (category, message) the compiler warned while building: said again on each load
    relied: tuple = ()     # positions of the arguments whose lengths the code relies on (small arrays)


def request_key(request: tuple, fingerprint: list) -> str | None:
    """The entry's key, or None when part of the request has no text that means the same in
    another process (an object shown by its address)."""
    text = repr((_compiler_fingerprint(), request, fingerprint))
    if " at 0x" in text:
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def lookup(key: str) -> Entry | None:
    """The entry stored under `key`, or None (missing, unreadable, or from another layout)."""
    path = usable_cache_dir() / f"{PREFIX}{key}.pickle"
    try:
        entry = pickle.loads(path.read_bytes())
    except Exception:   # missing, truncated, or written by another srcgrad: build again
        return None
    return entry if isinstance(entry, Entry) else None


def store(key: str, entry: Entry) -> None:
    """Write the entry; a cache that cannot be written only means the compiler runs next time."""
    directory = usable_cache_dir()
    with suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
        data = pickle.dumps(entry)
        write_atomically(directory, f"{PREFIX}{key}", data, suffix=".pickle")


def _compiler_fingerprint() -> str:
    """srcgrad's and its runtime's sources, and the versions of what shapes the generated code."""
    if not hasattr(_compiler_fingerprint, "value"):
        import srcgrad_runtime
        digest = hashlib.sha256()
        for package in (Path(__file__).parent.parent, Path(srcgrad_runtime.__file__).parent):
            for path in sorted(package.rglob("*.py")):
                digest.update(str(path.relative_to(package)).encode() + path.read_bytes())
        versions = (sys.version, platform.machine(), np.__version__, numba.__version__)
        _compiler_fingerprint.value = digest.hexdigest() + repr(versions)
    return _compiler_fingerprint.value
