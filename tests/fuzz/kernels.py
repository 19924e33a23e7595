"""Random programs shaped for a prange kernel: a loop over data points whose body computes with
numbers only (element reads, inner loops over features, branches, calls of helpers of floats) and
adds into a sum or writes its own output element. The general generator's programs compute with
whole arrays, which target="cuda" runs on the host only when they stay outside the loops; these
reach the kernels. A campaign seed beginning with "kernel" draws them (`--seed kernels1`)."""
from __future__ import annotations

import random

from .program import Param, Program

HEADER = "import math\n\nimport numpy as np\n"
UNARY = ["math.sin({0})", "math.cos({0})", "math.tanh({0})", "math.exp(math.tanh({0}))", "({0}) * ({0})",
         "({0}) / (1.0 + ({0}) * ({0}))", "math.log(1.0 + ({0}) * ({0}))"]


class _Kernel:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.d, self.k = rng.choice([2, 3]), rng.choice([2, 3])
        self.params = [Param("x", (rng.choice([5, 6, 8]),))]
        n = self.params[0].shape[0]
        for name, shape, p in (("X", (n, self.d), 0.6), ("w", (self.d,), 0.7), ("p", (self.k,), 0.5), ("a", (), 0.6)):
            if rng.random() < p:
                self.params.append(Param(name, shape))
        self.has = {p.name for p in self.params}
        self.numbers: list = []   # names of numbers bound in the loop body so far
        self.count = 0

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    # ----- expressions ------------------------------------------------------------------------
    def atom(self, inner: str | None) -> str:
        if inner and self.rng.random() < 0.6:   # an inner loop reads the features it runs over
            return self.rng.choice([f"X[i, {inner}]"] * ("X" in self.has) + [f"w[{inner}]"] * ("w" in self.has))
        choices = ["x[i]", "x[i]", str(self.rng.choice([0.5, 1.3, 2.0, -0.7]))] + self.numbers[-4:]
        if "a" in self.has:
            choices.append("a")
        if "X" in self.has:
            choices.append(f"X[i, {inner}]" if inner else f"X[i, {self.rng.randrange(self.d)}]")
        if "w" in self.has:
            choices.append(f"w[{inner}]" if inner else f"w[{self.rng.randrange(self.d)}]")
        if "p" in self.has:
            choices.append(f"p[{self.rng.randrange(self.k)}]")
        return self.rng.choice(choices)

    def expr(self, depth: int = 2, inner: str | None = None) -> str:
        """A number: atoms under smooth, bounded functions and + - *; `inner` names an inner loop's index."""
        roll = self.rng.random()
        if depth == 0 or roll < 0.3:
            return self.atom(inner)
        if roll < 0.55:
            return self.rng.choice(UNARY).format(self.expr(depth - 1, inner))
        op = self.rng.choice(["+", "-", "*", "*"])
        return f"({self.expr(depth - 1, inner)} {op} {self.expr(depth - 1, inner)})"

    def features(self) -> str:
        """An inner loop's trip count: the number of features, as a shape or a constant."""
        return self.rng.choice(["w.shape[0]"] * ("w" in self.has) + ["X.shape[1]"] * ("X" in self.has) + [str(self.d)])

    # ----- statements -------------------------------------------------------------------------
    def statement(self, helpers: list) -> list:
        kind = self.rng.choice(["assign", "assign", "branch", "feature_sum", "carried", "components", "helper"])
        if kind == "feature_sum" and {"X", "w"} & self.has:
            s = self.fresh("s")
            lines = [f"{s} = 0.0", f"for j in range({self.features()}):", f"    {s} += {self.expr(2, 'j')}"]
        elif kind == "carried" and {"X", "w"} & self.has:
            m = self.fresh("m")
            lines = [f"{m} = {self.expr(1)}", f"for j in range({self.features()}):",
                     f"    {m} = 0.5 * {m} + {self.expr(1, 'j')}"]
            if self.rng.random() < 0.5:
                lines += [f"    if {m} > {self.expr(1, 'j')}:", f"        {m} = {m} * 0.8"]
            s = m
        elif kind == "components" and "p" in self.has:
            s = self.fresh("c")
            lines = [f"{s} = 0.0", f"for k in range({self.k}):", f"    {s} += p[k] * {self.expr(1)}"]
        elif kind == "branch":
            s = self.fresh("t")
            lines = [f"if {self.expr(1)} > {self.expr(1)}:", f"    {s} = {self.expr(2)}", "else:", f"    {s} = {self.expr(2)}"]
        elif kind == "helper" and helpers:
            s = self.fresh("t")
            lines = [f"{s} = {self.rng.choice(helpers)}({self.expr(1)}, {self.expr(1)})"]
        else:
            s = self.fresh("t")
            lines = [f"{s} = {self.expr()}"]
        self.numbers.append(s)
        return lines


def _helper(rng: random.Random, name: str) -> str:
    body = rng.choice(["return math.tanh(u) * v + 0.5 * u",
                       "if u > v:\n        return u * v\n    return u - 0.3 * v * v",
                       "s = 0.0\n    for q in range(3):\n        s = s * 0.5 + math.sin(u + q * v)\n    return s"])
    return f"def {name}(u, v):\n    {body}\n"


def generate_kernel(seed: str) -> Program:
    """A program whose f loops over the points of x with a body of numbers (see the module docstring)."""
    rng = random.Random(seed)
    kernel = _Kernel(rng)
    helpers = [f"g{k}" for k in range(rng.choice([0, 1, 1, 2]))]
    vector_output = rng.random() < 0.3
    body = []
    for _ in range(rng.randint(2, 5)):
        body += kernel.statement(helpers)
    last = f"{kernel.expr(1)} * {kernel.numbers[-1]} + {kernel.rng.choice(UNARY).format(kernel.numbers[0])}"
    lines = ["n = x.shape[0]", "total = 0.0"] + (["out = np.zeros(n)"] if vector_output else [])
    lines += ["for i in range(n):"] + ["    " + line for line in body]
    lines.append(f"    out[i] = {last}" if vector_output else f"    total += {last}")
    if vector_output:
        lines.append("return out")
    else:
        lines.append(rng.choice(["return total", "return total / n", "return total * total / n"] +
                                (["return total + a * a"] if "a" in kernel.has else [])))
    params = kernel.params
    source = HEADER + "".join("\n\n" + _helper(rng, h) for h in helpers)
    source += f"\n\ndef f({', '.join(p.name for p in params)}):\n" + "".join(f"    {line}\n" for line in lines)
    floats = list(range(len(params)))
    chosen = tuple(sorted(rng.sample(floats, rng.randint(1, len(floats)))))
    return Program(seed=seed, source=source, params=tuple(params), wrt=chosen[0] if len(chosen) == 1 else chosen)
