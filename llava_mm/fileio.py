"""All-or-nothing outputs: build under a temporary sibling name, then rename.

Used by every writer in llava_mm (converted checkpoints, ``--out``
predictions, submission files): an interrupted or failed write leaves no
half-written output, and an existing output replaced with ``force`` stays
intact until the new one is complete.
"""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Union


def check_output(out: Union[str, os.PathLike], force: bool = False) -> Path:
    """Refuse an existing output unless ``force``; fail early, before any work."""
    out = Path(out)
    if (out.exists() or out.is_symlink()) and not force:
        raise FileExistsError(f'{out} already exists; pass --force (force=True) to replace it')
    return out


@contextlib.contextmanager
def atomic_output(out: Union[str, os.PathLike], force: bool = False, is_dir: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``out``; on success it becomes ``out``."""
    out = check_output(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=f'.{out.name}.tmp-', dir=out.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f'.{out.name}.tmp-', dir=out.parent)
        os.close(fd)
        tmp = Path(name)
    os.chmod(tmp, (0o777 if is_dir else 0o666) & ~_umask())  # mkdtemp/mkstemp are private (0700/0600)
    try:
        yield tmp
        _replace(tmp, out)
    except BaseException:
        _remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace(tmp: Path, out: Path) -> None:
    if not out.is_dir() or out.is_symlink():
        os.replace(tmp, out)  # atomic for a file, and for a directory that does not exist yet
        return
    # A non-empty directory cannot be renamed over: move the old one aside first.
    aside = Path(tempfile.mkdtemp(prefix=f'.{out.name}.old-', dir=out.parent))
    try:
        os.replace(out, aside / 'old')
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(aside / 'old', out)
            raise
    finally:
        _remove(aside)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def write_bytes_atomic(path: Union[str, os.PathLike], payload: bytes) -> None:
    """Replace the file ``path`` with ``payload``: readers see the old file or the whole new one."""
    with atomic_output(path, force=True, is_dir=False) as tmp:
        with open(tmp, 'wb') as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
