"""The cache directory: private (0700, owned by the user, as ssh and pip require), else a fallback.

A directory others can write to would let them plant code that runs as the user, so srcgrad uses
it only after these checks, and otherwise falls back, with one CacheWarning, to a private
temporary directory for the rest of the process.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import stat
import tempfile
import time
import warnings
from pathlib import Path
from types import ModuleType

import platformdirs

from ..errors import CacheError, CacheWarning, outside_srcgrad

CACHE_ENV = "SRCGRAD_CACHE_DIR"
INDEX_PREFIX = "srcgrad_idx_"   # the transform cache's entries (emit/transforms.py), beside the modules


class _State:
    """Per-process cache state: directory verdicts, the private fallback, and verified modules."""

    def __init__(self):
        self.verdicts: dict[str, Path] = {}   # configured directory -> directory actually used
        self.fallback: Path | None = None
        self.loaded: dict[str, ModuleType] = {}  # module name -> module imported from verified bytes
        self.built: dict = {}   # derivative request (and the globals it read) -> what the API built


state = _State()


def reset_for_tests() -> None:
    """Forget directory verdicts, the fallback and loaded modules, as a fresh process would."""
    global state
    if state.fallback is not None:
        shutil.rmtree(state.fallback, ignore_errors=True)
    state = _State()


def cache_dir() -> Path:
    """$SRCGRAD_CACHE_DIR, else the user's cache directory ($XDG_CACHE_HOME/srcgrad or ~/.cache/srcgrad on Linux)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_cache_dir("srcgrad", appauthor=False))


def usable_cache_dir() -> Path:
    """cache_dir() if it passes the safety checks (created 0700 when missing), else this process's fallback."""
    configured = cache_dir()
    key = str(configured)
    if key not in state.verdicts:
        problem = prepare(configured)
        state.verdicts[key] = configured if problem is None else fall_back(configured, *problem)
    return state.verdicts[key]


def prepare(directory: Path) -> tuple[str, str] | None:
    """Create `directory` (and its __pycache__, where numba writes) if missing; (problem, fix) if unusable."""
    own = f"set {CACHE_ENV} to a directory that you own"
    for path in (directory, directory / "__pycache__"):
        try:
            _make_private(path)
        except OSError as exc:
            return f"{path} cannot be created ({why(exc)})", f"create it yourself or {own}"
        try:
            problem = _unsafe(path)
        except OSError as exc:  # removed or replaced since it was made
            problem = f"{path} cannot be checked ({why(exc)})", f"try again, or {own}"
        if problem:
            return problem
        try:
            _probe_writable(path)
        except OSError as exc:
            return f"{path} is not writable ({why(exc)})", f"run `chmod u+rwx {path}` or {own}"
    return None


def why(exc: OSError) -> str:
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
        return f"{exc.filename} is not a directory"  # mkdir's "File exists" would hide which path is in the way
    return exc.strerror or str(exc)


def _make_private(path: Path) -> None:
    """mkdir 0700 when missing; an existing directory is left as it is, for _unsafe to judge."""
    if os.path.lexists(path):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return  # another process made it first; _unsafe judges it like any existing directory
    os.chmod(path, 0o700)  # mkdir's mode is masked by the umask; make sure nothing stays open


def _unsafe(path: Path) -> tuple[str, str] | None:
    """Why others could plant code in `path` (ssh's rules: owned by us, not group/world-writable), else None."""
    if not hasattr(os, "geteuid"):
        return None  # Windows: no POSIX owners or mode bits to check
    uid, own = os.geteuid(), f"set {CACHE_ENV} to a directory that you own"
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        if st.st_uid not in (uid, 0):
            return f"{path} is a symbolic link owned by another user (uid {st.st_uid})", f"remove the link or {own}"
        try:
            st = os.stat(path)
        except OSError as exc:
            return f"{path} is a symbolic link that cannot be followed ({exc.strerror})", f"remove the link or {own}"
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a directory", f"remove it or {own}"
    if st.st_uid != uid:
        return f"{path} is owned by another user (uid {st.st_uid}; you are uid {uid})", own
    if st.st_mode & 0o022:
        return (f"other users can write to {path} (mode {stat.S_IMODE(st.st_mode):o})",
                f"run `chmod 700 {path}` or {own}")
    return None


def _probe_writable(path: Path) -> None:
    """Raise OSError unless a file can be created in `path` (os.access is wrong for root and ACLs)."""
    fd, probe = tempfile.mkstemp(dir=path, prefix=".srcgrad-probe-")
    os.close(fd)
    os.unlink(probe)


def fall_back(configured: Path, problem: str, fix: str) -> Path:
    """This process's private temporary directory, with one warning per configured directory refused."""
    if state.fallback is None:
        try:
            state.fallback = Path(tempfile.mkdtemp(prefix="srcgrad-"))  # mode 0700, a fresh name
        except OSError as exc:
            raise CacheError(f"srcgrad cannot use its cache directory {configured}: {problem}; and it cannot "
                             f"create a private temporary directory either ({exc}). To fix: {fix}.") from exc
        atexit.register(_remove_at_exit, state.fallback, os.getpid())
    warnings.warn(f"srcgrad is not using its cache directory {configured}: {problem}. Generated code goes to "
                  f"the private temporary directory {state.fallback} for this process instead, so nothing is "
                  f"reused across processes. To fix: {fix}.", CacheWarning, stacklevel=outside_srcgrad())
    return state.fallback


def _remove_at_exit(path: Path, owner_pid: int) -> None:
    if os.getpid() == owner_pid:  # a forked child exiting must not delete its parent's directory
        shutil.rmtree(path, ignore_errors=True)


# ----- what the cache holds ----------------------------------------------------------------

def _modules(directory: Path) -> dict:
    """module name -> its files: the generated .py and numba's index and machine code for it."""
    modules: dict = {}
    for path in directory.glob("srcgrad_gen_*.py"):
        modules.setdefault(path.stem, []).append(path)
    for path in (directory / "__pycache__").glob("srcgrad_gen_*"):
        modules.setdefault(path.name.split(".")[0], []).append(path)
    return modules


def _last_used(files: list) -> float:
    """When a module was last written or read (the file times the filesystem keeps)."""
    return max(max(f.stat().st_mtime, f.stat().st_atime) for f in files)


def info() -> dict:
    """The cache's location, its number of generated modules, their size in bytes (numba's
    machine code included), and how long ago the least recently used one was used (seconds)."""
    directory = cache_dir()
    modules = _modules(directory) if directory.is_dir() else {}
    now = time.time()
    files = [f for group in modules.values() for f in group]
    return {"location": str(directory), "modules": len(modules), "bytes": sum(f.stat().st_size for f in files),
            "oldest": max((now - _last_used(group) for group in modules.values()), default=None)}


def clear(older_than: float | None = None) -> int:
    """Delete generated modules (with numba's files for them), or only those unused for
    `older_than` seconds; returns how many. Modules this process imported stay importable: Python
    and numba already hold their code."""
    directory = cache_dir()
    if not directory.is_dir():
        return 0
    now, removed = time.time(), 0
    for name, files in _modules(directory).items():
        if older_than is not None and now - _last_used(files) < older_than:
            continue
        for f in files:
            with contextlib.suppress(OSError):
                f.unlink()
        state.loaded.pop(name, None)
        removed += 1
    for entry in directory.glob(f"{INDEX_PREFIX}*.pickle"):
        if older_than is None or now - _last_used([entry]) >= older_than:
            with contextlib.suppress(OSError):
                entry.unlink()
    state.built.clear()   # what the API built may name files just deleted
    return removed


CAP_ENV = "SRCGRAD_CACHE_MAX_MB"
DEFAULT_CAP_MB = 500.0
RECENT_SECONDS = 600.0   # a module used this recently may be in use by another process: never removed


def enforce_cap(directory: Path) -> int:
    """Keep the cache under $SRCGRAD_CACHE_MAX_MB (default 500): delete the least recently used
    modules until it holds 90% of that, never one this process loaded or any process used in the
    last ten minutes. Returns how many were deleted."""
    cap = float(os.environ.get(CAP_ENV, DEFAULT_CAP_MB)) * 1e6
    modules = _modules(directory)
    sizes = {name: sum(f.stat().st_size for f in files) for name, files in modules.items()}
    total = sum(sizes.values())
    if total <= cap:
        return 0
    now, removed = time.time(), 0
    for name in sorted(modules, key=lambda n: _last_used(modules[n])):
        if total <= 0.9 * cap:
            break
        if name in state.loaded or now - _last_used(modules[name]) < RECENT_SECONDS:
            continue
        for f in modules[name]:
            with contextlib.suppress(OSError):
                f.unlink()
        total -= sizes[name]
        removed += 1
    return removed
