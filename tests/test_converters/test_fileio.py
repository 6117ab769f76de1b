"""Outputs are all or nothing, never replace what they must not, and leave nothing behind when killed.

    python tools/model_converters/llava2llava_mm.py SRC OUT --force   # replaces a previous OUT only
    kill -TERM <converter>     # Slurm time limit: the temporary goes with it, exit status 143
    kill -KILL <converter>     # OOM killer: the next run removes the temporary and says so
"""
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from llava_mm import fileio
from llava_mm.fileio import (OutputConflictError, atomic_output, check_output, remove_stale_temporaries,
                             write_bytes_atomic)

#: A writer that stops half-way: it opens OUT's temporary, writes into it, says so and waits to be killed.
WRITER = textwrap.dedent('''
    import sys, time
    from llava_mm.fileio import atomic_output
    with atomic_output(sys.argv[1]) as tmp:
        (tmp / 'model-00001-of-00002.safetensors').write_bytes(b'x' * 4096)
        print('writing', flush=True)
        time.sleep(60)
''')


def start_writer(out):
    proc = subprocess.Popen([sys.executable, '-c', WRITER, str(out)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path)})
    assert proc.stdout.readline().strip() == 'writing'
    return proc


def temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith('.'))


def test_sigterm_removes_the_temporary_and_exits_143(tmp_path):
    out = tmp_path / 'llava-out'
    proc = start_writer(out)
    assert len(temporaries(tmp_path)) == 1  # the write is under way
    assert remove_stale_temporaries(out) == []  # a live writer's temporary is left alone
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    assert os.listdir(tmp_path) == []  # no OUT, no temporary


def test_sigkill_leftover_is_removed_by_the_next_run_and_reported(tmp_path, caplog):
    out = tmp_path / 'llava-out'
    proc = start_writer(out)
    proc.kill()
    proc.wait(timeout=30)
    left = temporaries(tmp_path)
    assert len(left) == 1 and f'-{proc.pid}-' in left[0]  # SIGKILL cannot be caught: it stays ...
    other = tmp_path / '.other-out.tmp-x'  # ... and what belongs to other outputs is not touched
    other.mkdir()
    with caplog.at_level(logging.WARNING, logger='llava_mm.fileio'):
        with atomic_output(out) as tmp:
            (tmp / 'config.py').write_text('')
    assert sorted(os.listdir(tmp_path)) == ['.other-out.tmp-x', 'llava-out']
    assert any(left[0] in r.getMessage() and str(proc.pid) in r.getMessage() for r in caplog.records)


def test_sigterm_handler_is_installed_only_while_writing(tmp_path):
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with atomic_output(tmp_path / 'out.json', is_dir=False):
            assert signal.getsignal(signal.SIGTERM) is fileio._on_sigterm
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_file_never_replaces_a_directory(tmp_path):
    """``tools/test.py --out X.json`` where X.json is a directory: refused, the directory and its files stay."""
    out = tmp_path / 'results.json'
    out.mkdir()
    (out / 'precious.txt').write_text('keep me')
    with pytest.raises(OutputConflictError, match=r'results\.json is a directory'):
        write_bytes_atomic(out, b'{}')
    with pytest.raises(OutputConflictError, match='is a directory'):
        check_output(out, force=True, kind='file')
    assert (out / 'precious.txt').read_text() == 'keep me' and temporaries(tmp_path) == []


def test_a_directory_never_replaces_a_file_or_a_foreign_directory(tmp_path):
    model_dir = lambda path: (path / 'config.py').is_file()  # noqa: E731
    a_file = tmp_path / 'notes.txt'
    a_file.write_text('keep me')
    with pytest.raises(OutputConflictError, match='is a file'):
        check_output(a_file, force=True, kind='dir')
    foreign = tmp_path / 'photos'
    foreign.mkdir()
    with pytest.raises(OutputConflictError, match='not a previous output'):
        check_output(foreign, force=True, kind='dir', is_same_kind=model_dir)
    with pytest.raises(FileExistsError, match='--force'):  # and nothing is replaced without force
        check_output(tmp_path / 'notes.txt', kind='file')
    previous = tmp_path / 'model'
    previous.mkdir()
    (previous / 'config.py').write_text('old')
    with atomic_output(previous, force=True, is_same_kind=model_dir) as tmp:
        (tmp / 'config.py').write_text('new')
    assert (previous / 'config.py').read_text() == 'new'
    assert a_file.read_text() == 'keep me' and foreign.is_dir() and temporaries(tmp_path) == []


def test_a_previous_file_is_replaced_atomically(tmp_path):
    out = tmp_path / 'results.json'
    out.write_text('old')
    write_bytes_atomic(out, b'new')
    assert out.read_text() == 'new' and os.listdir(tmp_path) == ['results.json']


def test_live_writers_of_the_same_out_are_not_disturbed(tmp_path):
    out = tmp_path / 'llava-out'
    proc = start_writer(out)
    try:
        with atomic_output(tmp_path / 'other') as tmp:
            (tmp / 'x').write_text('')
        time.sleep(0.1)
        assert remove_stale_temporaries(out) == [] and len(temporaries(tmp_path)) == 1
    finally:
        proc.kill()
        proc.wait(timeout=30)
