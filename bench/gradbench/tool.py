"""The srcgrad tool's side of GradBench's protocol: JSON lines on stdin, answers on stdout.

Run as `python bench/gradbench/tool.py` (the driver bench/gradbench.py does this): this folder is
then first on sys.path, so `import lse` finds the eval module here and `import gradbench` finds
GradBench's own package, not bench/gradbench.py.
"""

import json
import os
import sys
import time
import traceback
from importlib import import_module

TOOL = "srcgrad"


def define(module):
    """Import the eval's module; srcgrad and numba compile lazily, at the first evaluate."""
    try:
        import_module(module)
        return {"success": True}
    except Exception as exc:
        return {"success": False, "error": "".join(traceback.format_exception(exc))}


def evaluate(message, checked):
    """Run one function under GradBench's timing; after a module's first derivative, its own check."""
    module = import_module(message["module"])
    function = message["function"]
    try:
        response = implementation(module, function).wrapped(message["input"])
    except Exception as exc:
        return {"success": False, "error": "".join(traceback.format_exception_only(exc)).strip()}
    if function == module.DERIVATIVE and message["module"] not in checked:
        checked.add(message["module"])
        report(message["module"], run_check(module, message["input"]))
    return response


def implementation(module, function):
    """The module's `<function>_<variant>` where GB_SRCGRAD_VARIANT names one it has, else `function`."""
    variant = os.environ.get("GB_SRCGRAD_VARIANT", "")
    return getattr(module, f"{function}_{variant}", None) or getattr(module, function)


def run_check(module, input_raw):
    """The module's finite-difference check (untimed); a failure is reported, never fatal."""
    start = time.perf_counter()
    try:
        result = module.check(input_raw)
    except Exception as exc:
        result = {"ok": False, "error": "".join(traceback.format_exception_only(exc)).strip()}
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result


def report(module, result):
    """Side channel to the driver: GradBench's protocol has no place for our own checks."""
    path = os.environ.get("GB_SRCGRAD_REPORT")
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps({"module": module, "check": result}) + "\n")


def main():
    checked = set()
    for line in sys.stdin:
        message = json.loads(line)
        response = {}
        if message["kind"] == "start":
            response["tool"] = TOOL
        elif message["kind"] == "define":
            response = define(message["module"])
        elif message["kind"] == "evaluate":
            response = evaluate(message, checked)
        print(json.dumps({"id": message["id"]} | response), flush=True)


if __name__ == "__main__":
    main()
