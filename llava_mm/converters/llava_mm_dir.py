"""The native llava_mm model directory: ``config.py`` + safetensors + tokenizer.

``config.py`` is an mmengine config with ``model`` (its tokenizer points at the
directory itself, written as ``'.'``) and ``test_pipeline``. Weights are
``model.safetensors`` or shards with a ``model.safetensors.index.json`` in
transformers' layout, so hub tooling understands them. Directories are written
atomically (temporary sibling, then rename) and tensor by tensor.
"""
import os
import shutil
from pathlib import Path
from typing import Dict, Iterable, Iterator, Tuple, Union

import torch
from mmengine.config import Config

from ..fileio import atomic_output
from .safetensors_writer import (DEFAULT_SHARD_BYTES, SAFETENSORS_FILE, SAFETENSORS_INDEX,
                                 ShardedSafetensorsWriter)
from .tensor_io import read_safetensors_header, read_tensor, read_weight_map

CONFIG_FILE = 'config.py'
#: Files that make up a tokenizer (copied verbatim when a tokenizer is given as a directory).
TOKENIZER_FILES = ('tokenizer.json', 'tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json',
                   'added_tokens.json', 'vocab.json', 'merges.txt', 'chat_template.jinja', 'chat_template.json')

PathLike = Union[str, os.PathLike]
Spec = Tuple[torch.dtype, Tuple[int, ...]]


def is_llava_mm_dir(path: PathLike) -> bool:
    path = Path(path)
    return path.is_dir() and (path / CONFIG_FILE).is_file()


def read_config(path: PathLike) -> Config:
    """The directory's config with its tokenizer resolved to the directory."""
    path = Path(path)
    cfg = Config.fromfile(str(path / CONFIG_FILE))
    tokenizer = cfg.model.get('tokenizer')
    if isinstance(tokenizer, dict) and tokenizer.get('name_or_path') in ('.', './', None):
        tokenizer['name_or_path'] = str(path)
    return cfg


def safetensors_files(path: PathLike) -> Dict[str, Path]:
    """Map of tensor name -> file holding it, for a single file or an index."""
    path = Path(path)
    index = path / SAFETENSORS_INDEX
    if index.is_file():
        return {name: path / file for name, file in read_weight_map(index).items()}
    single = path / SAFETENSORS_FILE
    if not single.is_file():
        raise FileNotFoundError(f'No {SAFETENSORS_FILE} or {SAFETENSORS_INDEX} in {path}')
    return {name: single for name in read_safetensors_header(single)}


def iter_safetensors(path: PathLike) -> Iterator[Tuple[str, torch.Tensor]]:
    """Tensors of a directory one by one, file by file (bounded memory)."""
    by_file: Dict[Path, list] = {}
    for name, file in safetensors_files(path).items():
        by_file.setdefault(file, []).append(name)
    for file, names in by_file.items():
        specs = read_safetensors_header(file)
        missing = [n for n in names if n not in specs]
        if missing:
            raise KeyError(f'{file} lacks tensors its index lists: {missing[:3]}')
        with open(file, 'rb') as f:
            for name in names:
                yield name, read_tensor(specs[name], f)


def has_tokenizer_files(folder: PathLike) -> bool:
    """Whether ``folder`` is a directory holding a tokenizer."""
    folder = Path(folder)
    return folder.is_dir() and any((folder / name).is_file() for name in TOKENIZER_FILES)


def _as_config(cfg: Union[Config, dict]) -> Config:
    return cfg.copy() if isinstance(cfg, Config) else Config(dict(cfg))


def save_tokenizer(tokenizer, out_dir: Path) -> None:
    """A tokenizer object (``save_pretrained``) or a directory whose tokenizer files are copied."""
    if isinstance(tokenizer, (str, os.PathLike)):
        src = Path(tokenizer)
        copied = [name for name in TOKENIZER_FILES if (src / name).is_file()]
        if not copied:
            raise FileNotFoundError(f'No tokenizer files ({", ".join(TOKENIZER_FILES)}) in {src}')
        for name in copied:
            shutil.copyfile(src / name, out_dir / name)
    else:
        tokenizer.save_pretrained(str(out_dir))


def stream_llava_mm_dir(out_dir: PathLike,
                        specs: Dict[str, Spec],
                        tensors: Iterable[Tuple[str, torch.Tensor]],
                        cfg: Union[Config, dict],
                        tokenizer=None,
                        max_shard_bytes: int = DEFAULT_SHARD_BYTES,
                        overwrite: bool = False) -> Path:
    """Write a model directory from tensors produced one at a time.

    ``specs`` (name -> dtype, shape) must be known up front: the shards are
    planned from it and every tensor is checked against it as it arrives.
    """
    cfg = _as_config(cfg)
    with atomic_output(out_dir, force=overwrite) as tmp:
        if tokenizer is not None and isinstance(cfg.model.get('tokenizer'), dict):
            cfg.model.tokenizer.name_or_path = '.'
        cfg.dump(str(tmp / CONFIG_FILE))
        ShardedSafetensorsWriter(tmp, specs, max_shard_bytes).write_all(tensors)
        if tokenizer is not None:
            save_tokenizer(tokenizer, tmp)
    return Path(out_dir)


def write_llava_mm_dir(out_dir: PathLike,
                       state_dict: Dict[str, torch.Tensor],
                       cfg: Union[Config, dict],
                       tokenizer=None,
                       max_shard_bytes: int = DEFAULT_SHARD_BYTES,
                       overwrite: bool = False) -> Path:
    """Write a complete directory atomically (temporary sibling, then rename)."""
    specs = {n: (t.dtype, tuple(t.shape)) for n, t in state_dict.items()}
    return stream_llava_mm_dir(out_dir, specs, state_dict.items(), cfg, tokenizer, max_shard_bytes, overwrite)
