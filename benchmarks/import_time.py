"""Start-up cost of llava_mm: each statement timed in fresh interpreters, best and median of N.

    python benchmarks/import_time.py [--repeats 5] [--before GIT_REV]

Times (inside the new process, so without the ~20 ms interpreter start):
``import llava_mm``, ``from llava_mm import get_model``, and the first built
model (the shipped ``llava-tiny_caption`` with its weights); ``import torch``
is printed as the floor every model pays. With ``--before REV`` the same
statements also run on ``git archive REV`` of this repository, for a
before/after table. Timings are noisy on shared machines: compare the bests.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
STATEMENTS = {
    'import torch (floor)': 'import torch',
    'import llava_mm': 'import llava_mm',
    'from llava_mm import get_model': 'from llava_mm import get_model',
    "first model: get_model('llava-tiny_caption')": "import llava_mm; llava_mm.get_model('llava-tiny_caption')",
}
TIMER = 'import time; t0 = time.perf_counter(); exec({stmt!r}); print(time.perf_counter() - t0)'


def time_once(tree: Path, stmt: str, cwd: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, '-c', TIMER.format(stmt=stmt)], cwd=cwd, env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.split()[-1])


def measure(trees: Dict[str, Path], repeats: int) -> Dict[str, Dict[str, List[float]]]:
    """``{tree: {statement: [seconds]}}``; trees and statements interleave, so load changes hit all alike."""
    times = {label: {name: [] for name in STATEMENTS} for label in trees}
    with tempfile.TemporaryDirectory() as cwd:  # not the repository: only PYTHONPATH finds llava_mm
        for _ in range(repeats):
            for label, tree in trees.items():
                for name, stmt in STATEMENTS.items():
                    times[label][name].append(time_once(tree, stmt, cwd))
    return times


def checkout(rev: str, into: Path) -> Path:
    archive = subprocess.run(['git', '-C', str(REPO), 'archive', rev], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter='data')
    return into


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--before', metavar='GIT_REV', help='also time this revision (e.g. a commit before a change)')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        trees = {f'before ({args.before})': checkout(args.before, Path(tmp))} if args.before else {}
        columns = measure({**trees, 'now': REPO}, args.repeats)
    header = f'{"statement (fresh interpreter)":46s}' + ''.join(f' | {c[:22]:>22s}' for c in columns)
    print(f'best / median of {args.repeats} runs, seconds\n{header}\n{"-" * len(header)}')
    for name in STATEMENTS:
        cells = ''.join(f' | {min(t[name]):9.2f} / {statistics.median(t[name]):8.2f}' for t in columns.values())
        print(f'{name:46s}{cells}')


if __name__ == '__main__':
    main()
