"""Streaming safetensors writer: shards are planned up front, tensors written as they come.

Because every name, dtype and shape is known before any data is produced
(validated from headers), each shard's header can be written first and each
tensor's bytes written straight to its place. Nothing waits in memory for a
shard to fill, so peak memory is the tensors in flight, whatever the shard
size. Output is ordinary safetensors + a transformers-style index.
"""
import json
import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

import torch

from .tensor_io import DTYPE_NAMES

SAFETENSORS_FILE = 'model.safetensors'
SAFETENSORS_INDEX = 'model.safetensors.index.json'
DEFAULT_SHARD_BYTES = 2 * 1024**3

Spec = Tuple[torch.dtype, Tuple[int, ...]]


def _nbytes(spec: Spec) -> int:
    numel = 1
    for d in spec[1]:
        numel *= d
    return numel * torch.empty((), dtype=spec[0]).element_size()


def parse_size(size: Union[int, str]) -> int:
    """``'2GB'``, ``'500MiB'``, ``1000000`` -> bytes."""
    if isinstance(size, int):
        return size
    text = size.strip().upper().replace(' ', '')
    units = {'KIB': 1024, 'MIB': 1024**2, 'GIB': 1024**3, 'KB': 10**3, 'MB': 10**6, 'GB': 10**9, 'B': 1}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(float(text[:-len(unit)]) * factor)
    return int(text)


class ShardedSafetensorsWriter:
    """Write a planned set of tensors into one file or numbered shards.

    Args:
        out_dir: an existing directory.
        specs: ``name -> (dtype, shape)`` in the order tensors will be produced.
        max_shard_bytes: shard size limit (a larger single tensor gets its own shard).
        prefix: file name stem (``model`` -> ``model-00001-of-00003.safetensors``).
    """

    def __init__(self, out_dir: Union[str, os.PathLike], specs: Dict[str, Spec],
                 max_shard_bytes: int = DEFAULT_SHARD_BYTES, prefix: str = 'model',
                 metadata: Optional[Dict[str, str]] = None) -> None:
        self.out_dir = Path(out_dir)
        self.specs = dict(specs)
        groups: List[List[str]] = [[]]
        size = 0
        for name, spec in self.specs.items():
            nbytes = _nbytes(spec)
            if groups[-1] and size + nbytes > max_shard_bytes:
                groups.append([])
                size = 0
            groups[-1].append(name)
            size += nbytes
        self.file_of: Dict[str, Path] = {}
        self.offset_of: Dict[str, int] = {}
        self._handles: Dict[Path, object] = {}
        self._remaining: Dict[Path, set] = {}
        single = len(groups) == 1
        for i, names in enumerate(groups, 1):
            file = self.out_dir / (f'{prefix}.safetensors' if single else
                                   f'{prefix}-{i:05d}-of-{len(groups):05d}.safetensors')
            self._start_file(file, names, metadata or {'format': 'pt'})
        self.total_size = sum(_nbytes(s) for s in self.specs.values())
        self.index_file = None if single else self.out_dir / f'{prefix}.safetensors.index.json'

    def _start_file(self, file: Path, names: List[str], metadata: Dict[str, str]) -> None:
        # Widest dtypes first keeps every tensor aligned to its element size (no holes are allowed).
        ordered = sorted(names, key=lambda n: -torch.empty((), dtype=self.specs[n][0]).element_size())
        header, offset = {'__metadata__': metadata}, 0
        for name in ordered:
            dtype, shape = self.specs[name]
            nbytes = _nbytes(self.specs[name])
            header[name] = {'dtype': DTYPE_NAMES[dtype], 'shape': list(shape),
                            'data_offsets': [offset, offset + nbytes]}
            self.offset_of[name] = offset
            self.file_of[name] = file
            offset += nbytes
        raw = json.dumps(header, separators=(',', ':')).encode()
        raw += b' ' * (-len(raw) % 8)
        handle = open(file, 'wb')
        handle.write(len(raw).to_bytes(8, 'little') + raw)
        data_start = 8 + len(raw)
        handle.truncate(data_start + offset)
        for name in names:
            self.offset_of[name] += data_start
        self._handles[file] = handle
        self._remaining[file] = set(names)

    def write(self, name: str, tensor: torch.Tensor) -> None:
        """Write one planned tensor (any order). Dtype and shape must match the plan."""
        if name not in self.specs:
            raise KeyError(f'Tensor {name!r} was not planned for this output')
        dtype, shape = self.specs[name]
        if tensor.dtype != dtype or tuple(tensor.shape) != tuple(shape):
            raise ValueError(f'Tensor {name!r}: planned {dtype} {tuple(shape)}, got {tensor.dtype} '
                             f'{tuple(tensor.shape)}')
        file = self.file_of[name]
        if name not in self._remaining.get(file, ()):
            raise ValueError(f'Tensor {name!r} written twice')
        handle = self._handles[file]
        handle.seek(self.offset_of[name])
        if tensor.numel():
            handle.write(tensor.detach().contiguous().reshape(-1).view(torch.uint8).numpy().data)
        self._remaining[file].discard(name)
        if not self._remaining[file]:
            handle.close()
            del self._handles[file]

    def write_all(self, items: Iterable[Tuple[str, torch.Tensor]]) -> List[Path]:
        """Write every planned tensor, then the index; files are closed even on failure."""
        try:
            for name, tensor in items:
                self.write(name, tensor)
        except BaseException:
            self.abort()
            raise
        return self.close()

    def close(self) -> List[Path]:
        """Check everything was written, write the index; the files written."""
        missing = sorted(n for names in self._remaining.values() for n in names)
        self.abort()
        if missing:
            raise RuntimeError(f'{len(missing)} planned tensors were never written, e.g. {missing[:3]}')
        if self.index_file is not None:
            index = {'metadata': {'total_size': self.total_size},
                     'weight_map': {n: f.name for n, f in self.file_of.items()}}
            self.index_file.write_text(json.dumps(index, indent=2))
        files = list(dict.fromkeys(self.file_of.values()))
        return files + ([self.index_file] if self.index_file else [])

    def abort(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


def write_safetensors(out_dir: Union[str, os.PathLike], tensors: Dict[str, torch.Tensor],
                      max_shard_bytes: int = DEFAULT_SHARD_BYTES, prefix: str = 'model') -> List[Path]:
    """Write an in-memory state dict (same layout as the streaming writer)."""
    writer = ShardedSafetensorsWriter(out_dir, {n: (t.dtype, tuple(t.shape)) for n, t in tensors.items()},
                                      max_shard_bytes, prefix)
    return writer.write_all(tensors.items())
