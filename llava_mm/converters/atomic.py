"""All-or-nothing outputs: build under a temporary sibling name, then rename.

An interrupted or failed conversion leaves no half-written OUT (and an
existing OUT replaced with ``force`` stays intact until the new one is
complete).
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
    if not (out.exists() or out.is_symlink()):
        os.replace(tmp, out)
        return
    backup = Path(tempfile.mkdtemp(prefix=f'.{out.name}.old-', dir=out.parent)) / 'old'
    os.replace(out, backup)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(backup, out)
        raise
    _remove(backup.parent)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
