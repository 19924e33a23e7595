"""Random-program fuzzer for srcgrad: generate programs in its subset, check every mode and backend.

generator.py (with statements.py, expressions.py, functions.py, scope.py) writes a program from a
seed string; checks.py runs it through jvp, vjp, value_and_grad and grad on each backend against
finite differences (numeric.py), the dot-product test, the plain function and the other backend;
pool.py runs programs in worker processes with a timeout; campaign.py, shrink.py, report.py and
__main__.py make the command line: ``python -m tests.fuzz --help`` (from the repository root).
tests/test_fuzz.py runs a fixed budget of programs in CI.
"""
