"""A generated program: its source, parameters, the differentiated positions, and its sample inputs."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import zlib
from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Param:
    name: str
    shape: tuple = ()            # () float, (n,) vector, (r, c) matrix
    int_value: int | None = None  # an int parameter (never differentiated)


@dataclass(frozen=True)
class Program:
    seed: str                    # "campaign-seed:index:attempt"; also seeds the inputs
    source: str                  # the whole module
    params: tuple                # Param per argument of `func`
    wrt: object                  # int or tuple of ints, as passed to srcgrad
    func: str = "f"
    lines_before_shrink: int = field(default=0, compare=False)

    def args(self) -> tuple:
        """The sample point: floats from a squashed normal, so inputs lie inside (-1.5, 1.5)."""
        rng = np.random.default_rng(zlib.crc32(self.seed.encode()))
        out = []
        for p in self.params:
            if p.int_value is not None:
                out.append(p.int_value)
            elif p.shape:
                out.append(1.5 * np.tanh(rng.normal(0.0, 0.7, p.shape)))
            else:
                out.append(float(1.5 * np.tanh(rng.normal(0.0, 0.7))))
        return tuple(out)

    @property
    def wrt_tuple(self) -> tuple:
        return self.wrt if isinstance(self.wrt, tuple) else (self.wrt,)

    def with_source(self, source: str, wrt=None) -> Program:
        return replace(self, source=source, wrt=self.wrt if wrt is None else wrt)

    def module_name(self) -> str:
        digest = hashlib.sha1(f"{self.seed}\n{self.source}".encode()).hexdigest()[:12]
        return f"fuzz_prog_{digest}"


def load(program: Program, directory: str):
    """Write the program to a real .py file (srcgrad reads the source) and import it."""
    name = program.module_name()
    path = os.path.join(directory, name + ".py")
    with open(path, "w") as f:
        f.write(program.source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def unload(module) -> None:
    sys.modules.pop(module.__name__, None)
    try:
        os.remove(module.__file__)
    except OSError:
        pass
