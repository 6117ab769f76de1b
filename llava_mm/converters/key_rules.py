"""A tiny rule language for renaming checkpoint tensors, in both directions.

A layout is described by a list of declarative rules instead of a loop of
``str.replace`` calls, so the same table converts names (for validation before
anything is read), meta tensors (to plan shapes) and real tensors (streaming),
and can be inverted for export.

Templates are tensor names with placeholders: ``{rest}`` matches anything
(dots included), any other ``{name}`` matches one dotted component, e.g.
``'model.layers.{n}.attn.qkv.{p}'``.
"""
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch

from .tensor_io import NamedTensors, Spec

TensorFn = Callable[[torch.Tensor], torch.Tensor]

_PLACEHOLDER = re.compile(r'\{(\w+)\}')


def _compile(template: str) -> 're.Pattern':
    pattern, pos = '', 0
    for m in _PLACEHOLDER.finditer(template):
        pattern += re.escape(template[pos:m.start()])
        pattern += f'(?P<{m.group(1)}>.+)' if m.group(1) == 'rest' else f'(?P<{m.group(1)}>[^.]+)'
        pos = m.end()
    return re.compile(pattern + re.escape(template[pos:]) + r'\Z')


def _fill(template: str, groups: Dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: groups[m.group(1)], template)


@dataclass(frozen=True)
class Rename:
    """``src`` -> ``dst``, optionally changing the tensor (``to_dst`` / ``to_src``).

    ``aliases`` are other source spellings accepted when reading (different
    library versions); the inverse writes ``src`` only.
    """
    src: str
    dst: str
    to_dst: Optional[TensorFn] = None
    to_src: Optional[TensorFn] = None
    aliases: Tuple[str, ...] = ()

    def inverse(self) -> 'Rename':
        return Rename(self.dst, self.src, self.to_src, self.to_dst)


@dataclass(frozen=True)
class Split:
    """One fused tensor -> equal chunks along ``dim`` (e.g. qkv -> q, k, v)."""
    src: str
    dst: Tuple[str, ...]
    dim: int = 0

    def inverse(self) -> 'Fuse':
        return Fuse(self.dst, self.src, self.dim)


@dataclass(frozen=True)
class Fuse:
    """Several tensors -> one, concatenated along ``dim`` (the inverse of ``Split``)."""
    src: Tuple[str, ...]
    dst: str
    dim: int = 0

    def inverse(self) -> Split:
        return Split(self.dst, self.src, self.dim)


@dataclass(frozen=True)
class Drop:
    """Tensors that carry nothing the target needs (rotary caches, unused heads)."""
    src: str

    def inverse(self) -> 'Drop':
        raise ValueError(f'A dropped tensor ({self.src}) cannot be recreated by inverting a key map')


Rule = Union[Rename, Split, Fuse, Drop]


class UnmappedTensorError(KeyError):
    """A tensor name that no rule of the layout accepts."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class KeyMap:
    """An ordered rule table: the first rule whose source template matches wins."""
    name: str
    rules: List[Rule]
    _compiled: list = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        for rule in self.rules:
            if isinstance(rule, Fuse):
                for i, src in enumerate(rule.src):
                    self._compiled.append((_compile(src), rule, i))
            else:
                for src in (rule.src, *getattr(rule, 'aliases', ())):
                    self._compiled.append((_compile(src), rule, None))

    def inverse(self, name: Optional[str] = None) -> 'KeyMap':
        return KeyMap(name or f'inverse of {self.name}',
                      [rule.inverse() for rule in self.rules if not isinstance(rule, Drop)])

    def match(self, name: str) -> Optional[Tuple[Rule, Dict[str, str], Optional[int]]]:
        for pattern, rule, part in self._compiled:
            m = pattern.match(name)
            if m:
                return rule, m.groupdict(), part
        return None

    def accepts(self, name: str) -> bool:
        return self.match(name) is not None

    def convert(self, items: NamedTensors) -> Iterator[Tuple[str, torch.Tensor]]:
        """Renamed tensors, one by one. Fused groups are held only until complete."""
        pending: Dict[str, Dict[int, torch.Tensor]] = {}
        for name, tensor in items:
            found = self.match(name)
            if found is None:
                raise UnmappedTensorError(f'Tensor {name!r} is not part of the {self.name} layout '
                                          '(no conversion rule matches it)')
            rule, groups, part = found
            if isinstance(rule, Drop):
                continue
            if isinstance(rule, Rename):
                yield _fill(rule.dst, groups), rule.to_dst(tensor) if rule.to_dst else tensor
            elif isinstance(rule, Split):
                chunks = torch.chunk(tensor, len(rule.dst), dim=rule.dim)
                if len({c.shape for c in chunks}) != 1 or tensor.shape[rule.dim] % len(rule.dst):
                    raise ValueError(f'Tensor {name!r} of shape {tuple(tensor.shape)} cannot be split into '
                                     f'{len(rule.dst)} equal parts along dim {rule.dim}')
                for dst, chunk in zip(rule.dst, chunks):
                    yield _fill(dst, groups), chunk
            else:  # Fuse
                dst = _fill(rule.dst, groups)
                parts = pending.setdefault(dst, {})
                parts[part] = tensor
                if len(parts) == len(rule.src):
                    del pending[dst]
                    yield dst, torch.cat([parts[i] for i in range(len(rule.src))], dim=rule.dim)
        if pending:
            dst, parts = next(iter(pending.items()))
            raise KeyError(f'{self.name}: {dst!r} needs {len(self._fuse_of(dst))} tensors to be fused, '
                           f'got only {len(parts)}')

    def _fuse_of(self, dst: str) -> Sequence[str]:
        for rule in self.rules:
            if isinstance(rule, Fuse) and _compile(rule.dst).match(dst):
                return rule.src
        return ()

    def convert_specs(self, specs: Dict[str, Spec]) -> Dict[str, Spec]:
        """Names, dtypes and shapes after conversion, computed on the meta device (no data read)."""
        metas = ((n, torch.empty(shape, dtype=dtype, device='meta')) for n, (dtype, shape) in specs.items())
        return {n: (t.dtype, tuple(t.shape)) for n, t in self.convert(metas)}
