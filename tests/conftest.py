"""What `python -m pytest` runs: the quick suite, about ten minutes on two cores. `--slow` adds the rest.

Compiling with numba is most of the suite's time. The quick suite keeps every test on
backend="python" (where the derivative's logic is checked) and, of the tests that repeat a case
on backend="numba", one in SAMPLE (the same ones in every run), so numba still compiles generated
code of each kind; tests marked `slow` (whole examples, compile-heavy checks of generated code)
and the rest of the numba repeats run with `python -m pytest --slow` (about half an hour).
"""
import zlib

SAMPLE = 8   # one numba repeat in SAMPLE stays in the quick suite


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run the slow tests: every numba repeat of a case and the tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    quick, slow = [], []
    for item in items:
        (slow if item.get_closest_marker("slow") or _unsampled_numba_repeat(item) else quick).append(item)
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = quick


def pytest_report_header(config):
    if not config.getoption("--slow"):
        return "quick suite: slow tests and most numba repeats deselected (python -m pytest --slow runs them)"


def _unsampled_numba_repeat(item) -> bool:
    """A case parametrized by backend, on numba, and not the one in SAMPLE kept (by a hash of its id)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    on_numba = any(name in ("backend", "b") and value == "numba" for name, value in params.items())
    return on_numba and zlib.crc32(item.nodeid.encode()) % SAMPLE != 0
