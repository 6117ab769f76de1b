"""All-or-nothing outputs: build under a temporary sibling name, then rename.

Used by every writer in llava_mm (converted checkpoints, ``--out``
predictions, submission files): an interrupted or failed write leaves no
half-written output, and an existing output replaced with ``force`` stays
intact until the new one is complete.

* Only a previous output of the same kind is ever replaced (``check_output``):
  a directory is never replaced by a file or the other way round, and a
  directory writer can insist on its own kind (e.g. a llava_mm model directory).
* Temporaries are named ``.OUT.tmp-HOST-PID-XXXX``. SIGTERM (Slurm time limits,
  ``kill``) while one is open removes it and exits with status 143; what a
  SIGKILL (the OOM killer) leaves behind is found by the next write of the same
  OUT - its process is gone - removed, and reported.
"""
import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterator, List, Literal, Optional, Union

PathLike = Union[str, os.PathLike]
Kind = Literal['file', 'dir']

logger = logging.getLogger(__name__)
_HOST = re.sub(r'[^A-Za-z0-9_]', '_', socket.gethostname()) or 'host'
#: Exit status of a process that ends because of SIGTERM (128 + 15), as shells report it.
SIGTERM_EXIT_CODE = 128 + signal.SIGTERM


class OutputConflictError(FileExistsError):
    """The output path holds something a write must not replace (not a previous output of the same kind)."""


def check_output(out: PathLike, force: bool = False, kind: Kind = 'file',
                 is_same_kind: Optional[Callable[[Path], bool]] = None) -> Path:
    """Fail early, before any work, unless writing ``out`` is safe.

    Nothing there: fine. Something there: refused without ``force``; with it,
    replaced only if it is a previous output of the same kind - a file for
    ``kind='file'``, a directory for ``kind='dir'``, and then also
    ``is_same_kind(out)`` when given (e.g. "is a llava_mm model directory").
    """
    out = Path(out)
    if not (out.exists() or out.is_symlink()):
        return out
    if not force:
        raise FileExistsError(f'{out} already exists; pass --force (force=True) to replace it')
    if out.is_symlink():
        return out  # the link is replaced, never what it points to
    if kind == 'file' and out.is_dir():
        raise OutputConflictError(f'{out} is a directory: refusing to replace it with a file, even with --force. '
                                  'Give a file path (or remove the directory yourself).')
    if kind == 'dir' and not out.is_dir():
        raise OutputConflictError(f'{out} is a file: refusing to replace it with a directory, even with --force.')
    if is_same_kind is not None and not is_same_kind(out):
        raise OutputConflictError(f'{out} exists but is not a previous output of this kind: refusing to replace it, '
                                  'even with --force. Choose another path (or remove it yourself).')
    return out


# ----------------------------------------------------------------------------------- temporaries
def _prefix(out: Path, role: str) -> str:
    return f'.{out.name}.{role}-{_HOST}-{os.getpid()}-'


def _owner_pid(out: Path, entry: str) -> Optional[int]:
    """The pid of a temporary of ``out`` made on this host, from its name (``None``: not one)."""
    m = re.fullmatch(re.escape(f'.{out.name}.') + r'(?:tmp|old)-' + re.escape(_HOST) + r'-(\d+)-[^/]+', entry)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(out: PathLike) -> List[Path]:
    """Remove the temporaries of ``out`` whose process is gone (killed mid-write); the paths removed."""
    out = Path(out)
    parent = out.parent if str(out.parent) else Path('.')
    if not parent.is_dir():
        return []
    removed = []
    for entry in sorted(os.listdir(parent)):
        pid = _owner_pid(out, entry)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        path = parent / entry
        _remove(path)
        removed.append(path)
        logger.warning('Removed %s: a temporary of %s left by process %d, which no longer runs (killed while '
                       'writing?)', path, out, pid)
    return removed


_live: List[Path] = []
_lock = threading.RLock()
_previous_handler = None


def _on_sigterm(signum, frame):
    """Unwind the writes in progress (their ``finally`` removes the temporaries), then exit as terminated."""
    previous = _previous_handler
    if callable(previous):
        previous(signum, frame)
    raise SystemExit(SIGTERM_EXIT_CODE)


def _register(path: Path) -> None:
    global _previous_handler
    with _lock:
        if not _live and threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGTERM)
            if current is not signal.SIG_IGN:  # an ignored SIGTERM stays ignored
                _previous_handler = current
                signal.signal(signal.SIGTERM, _on_sigterm)
        _live.append(path)


def _unregister(path: Path) -> None:
    global _previous_handler
    with _lock:
        _live.remove(path)
        if not _live and signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, _previous_handler if _previous_handler is not None else signal.SIG_DFL)
            _previous_handler = None


@contextlib.contextmanager
def _temporary(out: Path, role: str, is_dir: bool) -> Iterator[Path]:
    """A fresh temporary next to ``out``, named after its owner; removed on failure, SIGTERM or exit."""
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=_prefix(out, role), dir=out.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=_prefix(out, role), dir=out.parent)
        os.close(fd)
        tmp = Path(name)
    os.chmod(tmp, (0o777 if is_dir else 0o666) & ~_umask())  # mkdtemp/mkstemp are private (0700/0600)
    _register(tmp)
    try:
        yield tmp
    finally:
        _unregister(tmp)
        _remove(tmp)


@contextlib.contextmanager
def atomic_output(out: PathLike, force: bool = False, is_dir: bool = True,
                  is_same_kind: Optional[Callable[[Path], bool]] = None) -> Iterator[Path]:
    """Yield a temporary path next to ``out``; on success it becomes ``out``.

    ``force`` / ``is_same_kind``: see ``check_output``. Stale temporaries of
    ``out`` from killed processes are removed first (and reported).
    """
    out = check_output(out, force, 'dir' if is_dir else 'file', is_same_kind)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    with _temporary(out, 'tmp', is_dir) as tmp:
        yield tmp
        _replace(tmp, out)


@contextlib.contextmanager
def scratch_dir(out: PathLike) -> Iterator[Path]:
    """A working directory next to ``out`` (same disk), removed afterwards - and after SIGTERM or SIGKILL like
    the temporaries of ``atomic_output``."""
    out = Path(out)
    with _temporary(out, 'tmp', True) as tmp:
        yield tmp


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace(tmp: Path, out: Path) -> None:
    if not out.is_dir() or out.is_symlink():
        os.replace(tmp, out)  # atomic for a file, and for a directory that does not exist yet
        return
    # A non-empty directory cannot be renamed over: move the old one aside first.
    with _temporary(out, 'old', True) as aside:
        os.replace(out, aside / 'old')
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(aside / 'old', out)
            raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def write_bytes_atomic(path: PathLike, payload: bytes) -> None:
    """Replace the file ``path`` with ``payload``: readers see the old file or the whole new one (never
    a directory there: that is refused)."""
    with atomic_output(path, force=True, is_dir=False) as tmp:
        with open(tmp, 'wb') as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
