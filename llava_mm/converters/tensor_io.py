"""Checkpoint tensors in and out, one at a time, safely: the one I/O module of the converters.

Reading:

* safetensors files are read with plain ``seek`` + ``readinto`` into a fresh
  tensor: no memory map, so a process's RSS holds only the tensors it is
  working on, not every page of the shards it has touched.
* PyTorch pickles (``.bin`` / ``.pth`` / ``.pt``) are loaded with
  ``weights_only=True`` (memory-mapped when the file allows). A pickle that
  needs anything beyond tensors and containers - e.g. a ``__reduce__`` code
  payload - is refused with ``UnsafeCheckpointError``; the payload never runs.

Writing (``ShardedSafetensorsWriter``): every name, dtype and shape is known
before any data is produced, so each shard's header is written first and each
tensor's bytes go straight to their place. Nothing waits in memory for a shard
to fill: peak memory is the tensors in flight, whatever the shard size. Output
is ordinary safetensors + a transformers-style index.
"""
import importlib
import json
import os
import pickle
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from tqdm import tqdm

PathLike = Union[str, os.PathLike]
#: What is known of a tensor before reading it: ``(dtype, shape)``.
Spec = Tuple[torch.dtype, Tuple[int, ...]]
NamedTensors = Iterable[Tuple[str, torch.Tensor]]

SAFETENSORS_DTYPES = {
    'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
    'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8,
    'BOOL': torch.bool, 'F8_E4M3': torch.float8_e4m3fn, 'F8_E5M2': torch.float8_e5m2,
}
DTYPE_NAMES = {v: k for k, v in SAFETENSORS_DTYPES.items()}
PICKLE_SUFFIXES = ('.bin', '.pth', '.pt', '.ckpt')
MAX_HEADER_BYTES = 100 * 1024 * 1024
SAFETENSORS_FILE = 'model.safetensors'
SAFETENSORS_INDEX = 'model.safetensors.index.json'
PICKLE_INDEX = 'pytorch_model.bin.index.json'
DEFAULT_SHARD_BYTES = 2 * 1024**3


def nbytes(dtype: torch.dtype, shape: Iterable[int]) -> int:
    """Bytes of a tensor of ``dtype`` and ``shape``."""
    numel = 1
    for d in shape:
        numel *= d
    return numel * dtype.itemsize


def total_bytes(specs: Dict[str, Spec]) -> int:
    return sum(nbytes(dtype, shape) for dtype, shape in specs.values())


def with_progress(items: NamedTensors, total: int, desc: str,
                  enabled: bool = True) -> Iterator[Tuple[str, torch.Tensor]]:
    """Pass ``(name, tensor)`` items through, with a tqdm bar counting bytes."""
    if not enabled:
        yield from items
        return
    with tqdm(total=total, unit='B', unit_scale=True, unit_divisor=1024, desc=desc) as bar:
        for name, tensor in items:
            yield name, tensor
            bar.update(tensor.nbytes)


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A pickle checkpoint that cannot be loaded without running code from the file."""


@dataclass(frozen=True)
class TensorSpec:
    """Where a tensor lives and what it is, known without reading its data."""
    dtype: torch.dtype
    shape: Tuple[int, ...]
    file: Path
    offset: int = 0  # absolute byte offset (safetensors only)

    @property
    def nbytes(self) -> int:
        return nbytes(self.dtype, self.shape)


def read_safetensors_header(file: PathLike) -> Dict[str, TensorSpec]:
    """Specs of every tensor in a safetensors file, in file order."""
    file = Path(file)
    with open(file, 'rb') as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f'{file} is not a safetensors file (truncated header)')
        (size, ) = struct.unpack('<Q', raw)
        if size > MAX_HEADER_BYTES:
            raise ValueError(f'{file} is not a safetensors file (header of {size} bytes)')
        try:
            header = json.loads(f.read(size))
        except ValueError as err:
            raise ValueError(f'{file} is not a safetensors file ({err})') from err
    specs = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] not in SAFETENSORS_DTYPES:
            raise ValueError(f'{file}: tensor {name!r} has unsupported dtype {info["dtype"]}')
        begin, _ = info['data_offsets']
        specs[name] = TensorSpec(SAFETENSORS_DTYPES[info['dtype']], tuple(info['shape']), file, 8 + size + begin)
    return dict(sorted(specs.items(), key=lambda kv: kv[1].offset))


def scratch_view(scratch: torch.Tensor, spec: TensorSpec) -> torch.Tensor:
    """A tensor of ``spec``'s dtype and shape over the start of a uint8 scratch buffer."""
    if scratch.numel() < spec.nbytes:
        raise ValueError(f'scratch buffer of {scratch.numel()} bytes is too small for {spec.nbytes}')
    return scratch[:spec.nbytes].view(spec.dtype).reshape(spec.shape)


def read_tensor(spec: TensorSpec, handle=None, scratch: Optional[torch.Tensor] = None) -> torch.Tensor:
    """One safetensors tensor, read into its own memory (or into ``scratch``, a reusable uint8 buffer: large
    fresh allocations cost a page fault and a zeroed page per 4 KiB, reused ones do not)."""
    tensor = torch.empty(spec.shape, dtype=spec.dtype) if scratch is None else scratch_view(scratch, spec)
    if spec.nbytes == 0:
        return tensor
    own = handle is None
    f = open(spec.file, 'rb') if own else handle
    try:
        f.seek(spec.offset)
        view = tensor.reshape(-1).view(torch.uint8).numpy()
        if f.readinto(view) != spec.nbytes:
            raise ValueError(f'{spec.file} is truncated: cannot read a tensor of {spec.nbytes} bytes '
                             f'at offset {spec.offset}')
    finally:
        if own:
            f.close()
    return tensor


#: Plain-data globals that mmengine / mmpretrain checkpoints carry in their ``meta`` (numpy scalars, dtypes,
#: arrays). Their reconstruction runs no user code and their contents still go through the restricted unpickler.
_DATA_GLOBALS = re.compile(r'numpy\.(dtype|ndarray|_?core\.multiarray\.(scalar|_reconstruct)|dtypes\.\w+DType)')


def _numpy_dtype_classes() -> list:
    return [v for k, v in vars(np.dtypes).items() if k.endswith('DType') and isinstance(v, type)]


def _load(file: Path, mmap: bool) -> dict:
    try:
        return torch.load(file, map_location='cpu', weights_only=True, mmap=mmap)
    except RuntimeError as err:
        if mmap and ('mmap' in str(err) or 'zipfile' in str(err)):  # legacy (non-zip) format
            return torch.load(file, map_location='cpu', weights_only=True)
        raise


def _unsafe_globals(file: Path) -> List[str]:
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(str(file)))
    except Exception:  # legacy format or unreadable: no list, the load error stands
        return []


def load_pickle_checkpoint(file: PathLike, mmap: bool = True) -> dict:
    """``torch.load(weights_only=True)`` with a clear refusal for anything that is not data.

    numpy scalars / arrays in a checkpoint's ``meta`` are allowed; any other
    global (a class, a function such as ``os.system``) makes the file refused,
    and nothing from it runs.
    """
    file = Path(file)
    try:
        return _load(file, mmap)
    except pickle.UnpicklingError as err:
        unsafe = _unsafe_globals(file)
        if unsafe and all(_DATA_GLOBALS.fullmatch(name) for name in unsafe):
            allowed = [getattr(importlib.import_module(n.rsplit('.', 1)[0]), n.rsplit('.', 1)[1]) for n in unsafe]
            allowed += _numpy_dtype_classes()  # rebuilt by numpy.dtype, so not listed above
            with torch.serialization.safe_globals(allowed):
                return _load(file, mmap)
        if unsafe:
            reason = 'it references ' + ', '.join(n for n in unsafe if not _DATA_GLOBALS.fullmatch(n))
        else:
            lines = [line.strip() for line in str(err).splitlines() if line.strip()]
            reason = next((line for line in lines if 'unsupported' in line.lower() or 'GLOBAL' in line),
                          lines[0] if lines else type(err).__name__)
        raise UnsafeCheckpointError(
            f'Refusing to load {file}: it is a pickle that needs more than tensors to load ({reason}). '
            'Loading it could run arbitrary code, so llava_mm does not unpickle it. If you trust the file, '
            'convert it to safetensors in a trusted environment.') from None


def unwrap_state_dict(checkpoint, source: str = 'checkpoint') -> Dict[str, torch.Tensor]:
    """The tensors of an mmengine / plain checkpoint (``state_dict`` / ``model`` wrappers allowed)."""
    if isinstance(checkpoint, dict):
        for key in ('state_dict', 'model', 'module'):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise ValueError(f'{source} does not hold a state dict of tensors')
    return dict(checkpoint)


class TensorSource:
    """The tensors of a checkpoint file or directory: names and shapes up front, data on demand.

    Directories may hold ``*.safetensors`` (with or without an index) or
    ``*.bin`` / ``*.pth`` shards; safetensors win when both are present.
    """

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        self.files = checkpoint_files(self.path)
        self.is_safetensors = self.files[0].suffix == '.safetensors'
        self._pickles: Dict[Path, Dict[str, torch.Tensor]] = {}
        self.specs: Dict[str, TensorSpec] = {}
        for file in self.files:
            for name, spec in self._file_specs(file).items():
                if name in self.specs:
                    raise ValueError(f'Tensor {name!r} is stored twice: in {self.specs[name].file} and {file}')
                self.specs[name] = spec

    def _file_specs(self, file: Path) -> Dict[str, TensorSpec]:
        if file.suffix == '.safetensors':
            return read_safetensors_header(file)
        tensors = self._pickle(file)
        return {n: TensorSpec(t.dtype, tuple(t.shape), file) for n, t in tensors.items()}

    def _pickle(self, file: Path) -> Dict[str, torch.Tensor]:
        if file not in self._pickles:
            self._pickles.clear()  # one pickle shard mapped at a time
            self._pickles[file] = unwrap_state_dict(load_pickle_checkpoint(file), str(file))
        return self._pickles[file]

    def __contains__(self, name: str) -> bool:
        return name in self.specs

    def names(self) -> List[str]:
        return list(self.specs)

    def read(self, name: str, scratch: Optional[torch.Tensor] = None) -> torch.Tensor:
        """A tensor in memory of its own, or over ``scratch`` (valid until the scratch buffer is reused)."""
        spec = self.specs[name]
        if spec.file.suffix == '.safetensors':
            return read_tensor(spec, scratch=scratch)
        stored = self._pickle(spec.file)[name]
        return stored.clone() if scratch is None else scratch_view(scratch, spec).copy_(stored)

    def max_nbytes(self) -> int:
        return max((s.nbytes for s in self.specs.values()), default=0)

    def __iter__(self) -> Iterator[Tuple[str, torch.Tensor]]:
        """Every tensor, file by file in storage order (sequential reads)."""
        for file in self.files:
            names = [n for n, s in self.specs.items() if s.file == file]
            if file.suffix == '.safetensors':
                with open(file, 'rb') as f:
                    for name in names:
                        yield name, read_tensor(self.specs[name], f)
            else:
                tensors = self._pickle(file)
                for name in names:
                    yield name, tensors[name].clone()
        self._pickles.clear()

    def dtype_shapes(self) -> Dict[str, Spec]:
        return {n: (s.dtype, s.shape) for n, s in self.specs.items()}

    def memory_mapped(self) -> Dict[str, torch.Tensor]:
        """Every tensor at once without a copy in memory: safetensors data behind copy-on-write memory
        maps, pickles memory-mapped by ``torch.load``. Valid while the files exist."""
        tensors, pickles = {}, {}
        for name, spec in self.specs.items():
            if spec.file.suffix != '.safetensors':
                if spec.file not in pickles:
                    pickles[spec.file] = unwrap_state_dict(load_pickle_checkpoint(spec.file), str(spec.file))
                tensors[name] = pickles[spec.file][name]
            elif spec.nbytes == 0:
                tensors[name] = torch.empty(spec.shape, dtype=spec.dtype)
            else:
                raw = np.memmap(spec.file, dtype=np.uint8, mode='c', offset=spec.offset, shape=(spec.nbytes, ))
                tensors[name] = torch.from_numpy(raw).view(spec.dtype).reshape(spec.shape)
        return tensors


@dataclass
class TensorStream:
    """A model's tensors in llava_mm names: ``specs`` (name -> dtype, shape) known before any data is read,
    then ``tensors`` one at a time (in ``specs`` order or not)."""
    specs: Dict[str, Spec]
    tensors: Iterator[Tuple[str, torch.Tensor]]
    tokenizer_dir: Optional[Path] = None

    def to_dict(self) -> Dict[str, torch.Tensor]:
        return dict(self.tensors)


def iter_safetensors(path: PathLike) -> Iterator[Tuple[str, torch.Tensor]]:
    """The tensors of a checkpoint file or model directory one by one, file by file (bounded memory)."""
    yield from TensorSource(path)


def read_weight_map(index: Path) -> Dict[str, str]:
    """``weight_map`` (tensor name -> shard file name) of a transformers-style shard index."""
    try:
        return json.loads(index.read_text())['weight_map']
    except (ValueError, KeyError) as err:
        raise ValueError(f'{index} is not a valid checkpoint index: {err}') from err


def checkpoint_files(path: PathLike) -> List[Path]:
    """The weight files of a checkpoint file or model directory, in index order."""
    path = Path(path)
    if path.is_file():
        if path.suffix != '.safetensors' and path.suffix not in PICKLE_SUFFIXES:
            raise ValueError(f'{path}: unknown checkpoint format (expected .safetensors, .bin, .pth or .pt)')
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f'Checkpoint not found: {path}')
    for index_name in (SAFETENSORS_INDEX, PICKLE_INDEX):
        index = path / index_name
        if index.is_file():
            files = list(dict.fromkeys(path / f for f in read_weight_map(index).values()))
            missing = [str(f) for f in files if not f.is_file()]
            if missing:
                raise FileNotFoundError(f'{index} lists shards that are missing: {", ".join(missing)}')
            return files
    for pattern in ('*.safetensors', '*.bin', '*.pth', '*.pt'):
        files = sorted(f for f in path.glob(pattern) if not f.name.startswith(('training_args', 'optimizer')))
        if files:
            return files
    raise FileNotFoundError(f'No weights in {path} (looked for *.safetensors, *.bin, *.pth)')


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
            size_of = nbytes(*spec)
            if groups[-1] and size + size_of > max_shard_bytes:
                groups.append([])
                size = 0
            groups[-1].append(name)
            size += size_of
        self.file_of: Dict[str, Path] = {}
        self.offset_of: Dict[str, int] = {}
        self._handles: Dict[Path, object] = {}
        self._remaining: Dict[Path, set] = {}
        single = len(groups) == 1
        for i, names in enumerate(groups, 1):
            file = self.out_dir / (f'{prefix}.safetensors' if single else
                                   f'{prefix}-{i:05d}-of-{len(groups):05d}.safetensors')
            self._start_file(file, names, metadata or {'format': 'pt'})
        self.total_size = total_bytes(self.specs)
        self.index_file = None if single else self.out_dir / f'{prefix}.safetensors.index.json'

    def _start_file(self, file: Path, names: List[str], metadata: Dict[str, str]) -> None:
        # Widest dtypes first keeps every tensor aligned to its element size (no holes are allowed).
        ordered = sorted(names, key=lambda n: -self.specs[n][0].itemsize)
        header, offset = {'__metadata__': metadata}, 0
        for name in ordered:
            dtype, shape = self.specs[name]
            size = nbytes(dtype, shape)
            header[name] = {'dtype': DTYPE_NAMES[dtype], 'shape': list(shape),
                            'data_offsets': [offset, offset + size]}
            self.offset_of[name] = offset
            self.file_of[name] = file
            offset += size
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

    def write_all(self, items: NamedTensors) -> List[Path]:
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
