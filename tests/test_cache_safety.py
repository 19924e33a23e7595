"""The on-disk cache is safe: damaged generated files are rewritten, never run; unsafe or unwritable directories are not used."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
import srcgrad
from srcgrad.emit import cache

USER_CODE = """
import numpy as np


def f(x):
    return np.sum(np.sin(x) * x)


def h(x):
    return np.sum(x * x * x)
"""
X = np.linspace(-1.0, 2.0, 25)   # longer than small arrays held as scalars: the edits below find an element loop
BACKENDS = ["python", "numba"]
ROOT = Path(__file__).resolve().parents[1]


def df(x):
    return np.cos(x) * x + np.sin(x)


@pytest.fixture(autouse=True)
def fresh_process_state():
    """Each test starts, and leaves, the cache module as a new process would find it."""
    cache.reset_for_tests()
    yield
    cache.reset_for_tests()


@pytest.fixture
def user(tmp_path):
    """The user's functions, in a real file (srcgrad reads their source)."""
    path = tmp_path / "user" / "cache_safety_functions.py"
    path.parent.mkdir()
    path.write_text(USER_CODE)
    spec = importlib.util.spec_from_file_location(f"cache_safety_functions_{tmp_path.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cache_path(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(path))
    return path


def generated_file(g) -> Path:
    """The generated .py file behind the latest specialization of `g`."""
    function = g._specializations.last[0]
    function = getattr(function, "dispatcher", function)  # unwrap srcgrad's error-reporting wrapper
    function = getattr(function, "py_func", function)  # and numba's dispatcher
    return Path(function.__code__.co_filename)


def numba_stats(g) -> tuple:
    dispatcher = g._specializations.last[0].dispatcher
    return sum(dispatcher.stats.cache_hits.values()), sum(dispatcher.stats.cache_misses.values())


def cache_warnings(record) -> list:
    return [w for w in record if issubclass(w.category, srcgrad.CacheWarning)]


def gradient_recording_warnings(function, backend="python"):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        g = srcgrad.grad(function, backend=backend)
        value = g(X)
    return g, value, cache_warnings(record)


def first_run(user, backend) -> Path:
    """Compile f's gradient into the cache as an earlier process would, and return its file."""
    g = srcgrad.grad(user.f, backend=backend)
    np.testing.assert_allclose(g(X), df(X))
    cache.reset_for_tests()  # what follows sees the cache as a new process does
    return generated_file(g)


# ----- damaged generated files ------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_an_edited_gradient_line_is_rewritten_not_run(user, cache_path, backend):
    path = first_run(user, backend)
    good = path.read_bytes()
    edited = good.replace(b"np.cos(x_k)", b"np.sin(x_k)")  # same size: numba's mtime+size stamp alone may miss it
    assert edited != good and len(edited) == len(good)
    path.write_bytes(edited)
    if backend == "numba":
        # As an unchecked import would: numba caches machine code built from the edited file.
        spec = importlib.util.spec_from_file_location("srcgrad_edited_copy", path)
        edited_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(edited_module)
        assert not np.allclose(edited_module.vjp_f(X, 1.0)[0], df(X))
        cache.reset_for_tests()

    g = srcgrad.grad(user.f, backend=backend)
    np.testing.assert_allclose(g(X), df(X))
    assert generated_file(g) == path and path.read_bytes() == good
    if backend == "numba":
        assert numba_stats(g) == (0, 1)  # recompiled, not the edited version's machine code
        cache.reset_for_tests()
        again = srcgrad.grad(user.f, backend=backend)
        np.testing.assert_allclose(again(X), df(X))
        assert numba_stats(again) == (1, 0)  # the repaired file is cached as usual


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_planted_statement_never_runs(user, cache_path, tmp_path, backend):
    path = first_run(user, backend)
    good = path.read_bytes()
    marker = tmp_path / "planted-code-ran"
    path.write_bytes(good.replace(b"import math\n", f"import math\nopen({str(marker)!r}, 'w').close()\n".encode()))
    for shadow in ("numpy.py", "math.py", "srcgrad_runtime.py"):  # would shadow imports if the cache were on sys.path
        (cache_path / shadow).write_text(f"open({str(marker)!r}, 'w').close()\n")

    g = srcgrad.grad(user.f, backend=backend)
    np.testing.assert_allclose(g(X), df(X))
    assert not marker.exists()
    assert path.read_bytes() == good
    assert str(cache_path) not in sys.path


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_truncated_and_empty_files_are_regenerated(user, cache_path, backend, damage):
    path = first_run(user, backend)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2] if damage == "truncated" else b"")

    g = srcgrad.grad(user.f, backend=backend)  # no SyntaxError, no AttributeError
    np.testing.assert_allclose(g(X), df(X))
    assert path.read_bytes() == good


def test_an_intact_file_is_imported_as_it_is(user, cache_path):
    path = first_run(user, "python")
    stamp = path.stat().st_mtime_ns
    g = srcgrad.grad(user.f, backend="python")
    np.testing.assert_allclose(g(X), df(X))
    assert generated_file(g) == path and path.stat().st_mtime_ns == stamp


def test_a_cache_directory_removed_while_running_is_made_again(user, cache_path):
    srcgrad.grad(user.f, backend="python")(X)
    shutil.rmtree(cache_path)
    g, value, warned = gradient_recording_warnings(user.h)
    np.testing.assert_allclose(value, 3 * X * X)
    assert not warned and generated_file(g).parent == cache_path
    assert (cache_path.stat().st_mode & 0o777) == 0o700


def test_a_file_that_cannot_be_replaced_falls_back(user, cache_path):
    path = first_run(user, "python")
    path.unlink()
    path.mkdir()  # a directory where the module should be: os.replace cannot put the file there
    g, value, warned = gradient_recording_warnings(user.f)
    np.testing.assert_allclose(value, df(X))
    assert_fell_back(g, cache_path, warned, "failed", "SRCGRAD_CACHE_DIR")


def test_processes_writing_the_same_module_at_once_all_succeed(user, cache_path, tmp_path):
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import importlib.util, json, numpy as np, srcgrad\n"
              f"spec = importlib.util.spec_from_file_location('user_functions', {user.__file__!r})\n"
              "user = importlib.util.module_from_spec(spec); spec.loader.exec_module(user)\n"
              f"print(json.dumps(srcgrad.grad(user.f, backend='python')(np.array({X.tolist()})).tolist()))\n")
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(cache_path))
    processes = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        np.testing.assert_allclose(json.loads(out), df(X))
    assert len(list(cache_path.glob("srcgrad_gen_*.py"))) == 1
    assert not [p for p in cache_path.iterdir() if p.name.endswith(".tmp")]


# ----- the cache directory ----------------------------------------------------------------------

def test_a_new_cache_directory_is_private(user, tmp_path, monkeypatch):
    cache_path = tmp_path / "new" / "nested" / "cache"
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(cache_path))
    old_umask = os.umask(0)  # even a permissive umask must not leave it open
    try:
        g, value, warned = gradient_recording_warnings(user.f)
    finally:
        os.umask(old_umask)
    np.testing.assert_allclose(value, df(X))
    assert not warned
    assert generated_file(g).parent == cache_path
    assert (cache_path.stat().st_mode & 0o777) == 0o700
    assert ((cache_path / "__pycache__").stat().st_mode & 0o777) == 0o700


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777], ids=oct)
def test_a_directory_others_can_write_to_is_not_used(user, cache_path, mode):
    cache_path.mkdir()
    cache_path.chmod(mode)
    g, value, warned = gradient_recording_warnings(user.f)
    np.testing.assert_allclose(value, df(X))
    assert_fell_back(g, cache_path, warned, "other users can write to", f"chmod 700 {cache_path}")
    assert not any(cache_path.iterdir())

    g2, value2, warned2 = gradient_recording_warnings(user.h)  # a second use in the same process
    np.testing.assert_allclose(value2, 3 * X * X)
    assert not warned2
    assert generated_file(g2).parent == generated_file(g).parent


def test_a_directory_owned_by_another_user_is_not_used(user, cache_path):
    cache_path.mkdir(mode=0o700)
    give_away(cache_path)
    g, value, warned = gradient_recording_warnings(user.f)
    np.testing.assert_allclose(value, df(X))
    assert_fell_back(g, cache_path, warned, "owned by another user", "SRCGRAD_CACHE_DIR")
    assert not any(cache_path.iterdir())


def test_a_symlink_owned_by_another_user_is_not_followed(user, tmp_path, monkeypatch):
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(target)
    give_away(link, follow=False)
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(link))
    g, value, warned = gradient_recording_warnings(user.f)
    np.testing.assert_allclose(value, df(X))
    assert_fell_back(g, link, warned, "symbolic link owned by another user", "SRCGRAD_CACHE_DIR")
    assert not any(target.iterdir())


def test_a_read_only_cache_directory_falls_back(user, cache_path):
    cache_path.mkdir(mode=0o700)
    with read_only(cache_path):
        g, value, warned = gradient_recording_warnings(user.f)
        np.testing.assert_allclose(value, df(X))
        assert_fell_back(g, cache_path, warned, "is not writable", str(cache_path))
        g2, value2, warned2 = gradient_recording_warnings(user.h)
        np.testing.assert_allclose(value2, 3 * X * X)
        assert not warned2
        assert not any(cache_path.iterdir())


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_a_cache_path_that_cannot_be_a_directory_falls_back(user, tmp_path, monkeypatch, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    cache_path = blocker if where == "a file" else blocker / "cache"
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(cache_path))
    g, value, warned = gradient_recording_warnings(user.f, backend="numba")
    np.testing.assert_allclose(value, df(X))
    assert_fell_back(g, cache_path, warned, str(cache_path), "SRCGRAD_CACHE_DIR")
    assert blocker.read_text() == "not a directory"


def test_no_usable_directory_at_all_is_a_clear_error(user, tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "tmp"))
    with pytest.raises(srcgrad.SrcgradError, match="private temporary directory") as error:
        srcgrad.grad(user.f, backend="python")(X)
    assert isinstance(error.value, srcgrad.CacheError) and str(blocker / "cache") in str(error.value)


def test_the_default_directory_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("SRCGRAD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache.cache_dir() == tmp_path / "xdg" / "srcgrad"
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"


# ----- helpers ----------------------------------------------------------------------------------

def assert_fell_back(g, refused: Path, warned: list, problem: str, fix: str) -> None:
    """Generated code went to a private temporary directory, after exactly one warning saying why and what to do."""
    assert len(warned) == 1, [str(w.message) for w in warned]
    message = str(warned[0].message)
    assert str(refused) in message and problem in message and fix in message, message
    used = generated_file(g).parent
    assert used != refused and used.parent == Path(tempfile.gettempdir())
    assert (used.stat().st_mode & 0o777) == 0o700 and used.stat().st_uid == os.geteuid()


def give_away(path: Path, follow: bool = True) -> None:
    """chown `path` to another user (nobody), or skip where this user cannot."""
    try:
        (os.chown if follow else os.lchown)(path, 65534, 65534)
    except (PermissionError, AttributeError):
        pytest.skip("changing a file's owner needs root")


class read_only:
    """A directory this process really cannot write to: chmod 500, and for root (whom modes do not stop) chattr +i."""

    def __init__(self, path: Path):
        self.path, self.immutable = path, False

    def __enter__(self):
        self.path.chmod(0o500)
        if not self._writable():
            return self
        chattr = shutil.which("chattr")
        if chattr and subprocess.run([chattr, "+i", str(self.path)], capture_output=True).returncode == 0:
            self.immutable = True
            if not self._writable():
                return self
        self.__exit__()
        pytest.skip("no way to make a directory read-only for this user here (root without chattr +i)")

    def __exit__(self, *exc):
        if self.immutable:
            subprocess.run([shutil.which("chattr"), "-i", str(self.path)], check=True)
        self.path.chmod(0o700)

    def _writable(self) -> bool:
        try:
            (self.path / "probe").touch()
        except OSError:
            return False
        (self.path / "probe").unlink()
        return True


# ----- machine code cached by different processes ------------------------------------------------

FACTORY = '''
import numba
import numpy as np
from numba.extending import overload, register_jitable


def _along(op):
    def typer(x):
        def along(x):
            out = np.empty(x.shape[0])
            for k in range(x.shape[0]):
                out[k] = op(x[k])
            return out
        return along
    return typer


def row_max(x):
    pass


def row_sum(x):
    pass


overload(row_max)(_along(register_jitable(lambda x: np.max(x))))
overload(row_sum)(_along(register_jitable(lambda x: np.sum(x))))


@numba.njit(cache=True)
def maxima(x):
    return row_max(x)


@numba.njit(cache=True)
def sums(x):
    return row_sum(x)
'''


def test_closures_cached_by_two_processes_keep_their_own_code(tmp_path):
    """Two closures of one factory (the runtime's reductions along an axis) compiled in two processes
    got the same numba symbol, `along$uid`; a third process loading both cached modules ran one in
    place of the other (a generated vjp's max became a product). srcgrad_runtime numbers numba's
    functions from a random start per process."""
    (tmp_path / "closures.py").write_text(FACTORY)
    script = ("import sys\nimport srcgrad_runtime\nimport numpy as np\nimport closures\n"
              "x = np.arange(12.0).reshape(3, 4)\n"
              "print([getattr(closures, name)(x).tolist() for name in sys.argv[1].split(',')])\n")
    run = lambda names: subprocess.run([sys.executable, "-c", script, names], cwd=tmp_path, capture_output=True,  # noqa: E731
                                       text=True, check=True).stdout.strip()
    run("maxima")
    run("sums")   # each cached by a process of its own
    assert run("maxima,sums") == "[[3.0, 7.0, 11.0], [6.0, 22.0, 38.0]]"
    assert run("sums,maxima") == "[[6.0, 22.0, 38.0], [3.0, 7.0, 11.0]]"
