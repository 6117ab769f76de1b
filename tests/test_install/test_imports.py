"""The package's import graph: no cycles, no product module importing test fixtures, any import order works.

The static check reads every module's top-level imports (what runs at import time) and proves there is no cycle
among llava_mm's modules, so no import order can hit a partially initialised module; fresh interpreters then
import every module in several orders to confirm it.
"""
import ast
import random
import subprocess
import sys
from pathlib import Path
from typing import Dict, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / 'llava_mm'


def module_names() -> Dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
        name = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
        names[name] = path
    return names


def top_level_imports(name: str, path: Path, modules: Set[str]) -> Set[str]:
    """llava_mm modules a module imports when it is imported (``if TYPE_CHECKING`` blocks excluded)."""
    package = name if path.name == '__init__.py' else name.rsplit('.', 1)[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and 'TYPE_CHECKING' in ast.dump(node.test):
            continue
        nodes = [node] + (list(ast.walk(node)) if isinstance(node, (ast.Try, ast.If)) else [])
        for item in nodes:
            if isinstance(item, ast.Import):
                found |= {a.name for a in item.names if a.name.split('.')[0] == 'llava_mm'}
            elif isinstance(item, ast.ImportFrom):
                base = item.module or ''
                if item.level:
                    anchor = package.split('.')
                    anchor = anchor[:len(anchor) - item.level + 1]
                    base = '.'.join(anchor + ([item.module] if item.module else []))
                if base.split('.')[0] != 'llava_mm':
                    continue
                for alias in item.names:
                    sub = f'{base}.{alias.name}'
                    found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != name}


def test_no_import_cycles_and_no_fixtures_in_the_product():
    modules = module_names()
    graph = {name: top_level_imports(name, path, set(modules)) for name, path in modules.items()}
    product_uses_testing = sorted(f'{a} -> {b}' for a, deps in graph.items() for b in deps
                                  if b.startswith('llava_mm.testing') and not a.startswith('llava_mm.testing'))
    assert not product_uses_testing
    state, stack = {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for dep in graph[node]:
            if state.get(dep) == 'open':
                raise AssertionError('import cycle: ' + ' -> '.join(stack[stack.index(dep):] + [dep]))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 'done'

    for name in graph:
        if name not in state:
            visit(name)
    assert len(graph) > 50  # the walk saw the package


@pytest.mark.parametrize('order', ['forward', 'reverse', 'shuffle-1', 'shuffle-2'])
def test_every_module_imports_in_any_order(order):
    names = [n for n in module_names() if n != 'llava_mm']
    if order == 'reverse':
        names.reverse()
    elif order.startswith('shuffle'):
        random.Random(int(order[-1])).shuffle(names)
    code = 'import importlib\nfor name in %r:\n    importlib.import_module(name)\n' % names
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300,
                            cwd=str(PACKAGE.parent))
    assert result.returncode == 0, result.stderr[-3000:]
