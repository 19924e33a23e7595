"""Generated modules are real files: a second process loads numba's cached machine code."""
import json
import os
import subprocess
import sys
from pathlib import Path

import gradcheck  # noqa: F401  (puts the checkout on sys.path)

SCRIPT = """
import json, sys, time
sys.path.insert(0, {tests!r})
import numpy as np
import golden_functions as gf
import srcgrad
g = srcgrad.grad(gf.rosenbrock)
start = time.perf_counter()
value = g(np.linspace(-1.0, 1.0, 7))
elapsed = time.perf_counter() - start
dispatcher = g._specializations.last[0].dispatcher
print(json.dumps({{"grad": value.tolist(), "hits": sum(dispatcher.stats.cache_hits.values()),
                  "misses": sum(dispatcher.stats.cache_misses.values()), "seconds": elapsed,
                  "file": dispatcher.py_func.__code__.co_filename}}))
"""


def _fresh_process(cache: Path) -> dict:
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(cache))
    script = SCRIPT.format(tests=str(Path(__file__).parent))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_loads_compiled_code_from_the_cache(tmp_path):
    first = _fresh_process(tmp_path)
    second = _fresh_process(tmp_path)
    assert first["misses"] == 1 and first["hits"] == 0
    assert second["hits"] == 1 and second["misses"] == 0
    assert first["grad"] == second["grad"]
    generated = Path(first["file"])
    assert generated.parent == tmp_path and generated.suffix == ".py"
    assert "def vjp_rosenbrock" in generated.read_text()


SUBJECT = """
import numpy as np


def ode_like(x, s):
    y = np.zeros(x.shape[0])
    for _ in range(s):
        k = x * y + 1.0
        y = y + 0.1 * (k + 2.0 * x * k)
    return y[-1] + np.sum(np.outer(x, y) @ x)
"""

RUNTIME_SCRIPT = """
import json, sys
sys.path.insert(0, {folder!r})
import numpy as np
from numba.core import event
import srcgrad

compiled = []

class RuntimeCompiles(event.Listener):
    def on_start(self, ev):
        module = getattr(ev.data["dispatcher"].py_func, "__module__", "") or ""
        if module.startswith("srcgrad_runtime"):
            compiled.append(ev.data["dispatcher"].py_func.__qualname__)
    def on_end(self, ev):
        pass

event.register("numba:compile", RuntimeCompiles())
from subject import ode_like
value = srcgrad.grad(ode_like)(np.linspace(0.1, 0.5, 4), 3)
print(json.dumps({{"grad": value.tolist(), "compiled": compiled}}))
"""


def test_runtime_helpers_compile_once_per_machine(tmp_path):
    """The runtime's helpers (sum_to, filled_like, zeroed_like, ...) come from numba's disk cache in
    a second process, for a derivative generated anew there."""
    (tmp_path / "subject.py").write_text(SUBJECT)

    def fresh(cache):
        env = dict(os.environ, SRCGRAD_CACHE_DIR=str(cache))
        script = RUNTIME_SCRIPT.format(folder=str(tmp_path))
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    first, second = fresh(tmp_path / "first"), fresh(tmp_path / "second")
    assert first["grad"] == second["grad"]
    cached = lambda names: [n for n in names if not n.startswith(INLINED)]  # noqa: E731
    assert cached(second["compiled"]) == [], second["compiled"]


# the tape helpers numba inlines into each caller (a call per cell cost lstm a fifth of its time):
# typed again in every process, and cheap to type, their slow paths being cached helpers
INLINED = ("_zeroed.", "_zeroed_like.", "_filled_like.", "_copy_into.", "_zeroed_from.", "_take_flat.",
           "_add_at_flat.", "_pushed_row.", "_row_at.")
