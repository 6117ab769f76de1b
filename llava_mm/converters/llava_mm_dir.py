"""The native llava_mm model directory: ``config.py`` + safetensors + tokenizer.

``config.py`` is an mmengine config with ``model`` (its tokenizer points at the
directory itself, written as ``'.'``) and ``test_pipeline``. Weights are
``model.safetensors`` or shards with a ``model.safetensors.index.json`` in
transformers' layout, so hub tooling understands them.
"""
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple, Union

import torch
from mmengine.config import Config
from safetensors import safe_open
from safetensors.torch import save_file

CONFIG_FILE = 'config.py'
SAFETENSORS_FILE = 'model.safetensors'
SAFETENSORS_INDEX = 'model.safetensors.index.json'

PathLike = Union[str, os.PathLike]


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
        try:
            weight_map = json.loads(index.read_text())['weight_map']
        except (ValueError, KeyError) as err:
            raise ValueError(f'{index} is not a valid safetensors index: {err}') from err
        return {name: path / file for name, file in weight_map.items()}
    single = path / SAFETENSORS_FILE
    if not single.is_file():
        raise FileNotFoundError(f'No {SAFETENSORS_FILE} or {SAFETENSORS_INDEX} in {path}')
    with safe_open(str(single), framework='pt') as f:
        return {name: single for name in f.keys()}


def iter_safetensors(path: PathLike) -> Iterator[Tuple[str, torch.Tensor]]:
    """Tensors of a directory one by one, file by file (bounded memory)."""
    by_file: Dict[Path, list] = {}
    for name, file in safetensors_files(path).items():
        by_file.setdefault(file, []).append(name)
    for file, names in by_file.items():
        with safe_open(str(file), framework='pt') as f:
            for name in names:
                yield name, f.get_tensor(name)


def write_llava_mm_dir(out_dir: PathLike,
                       state_dict: Dict[str, torch.Tensor],
                       cfg: Union[Config, dict],
                       tokenizer=None,
                       max_shard_bytes: int = 5 * 1024**3,
                       overwrite: bool = False) -> Path:
    """Write a complete directory atomically (temporary sibling, then rename)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f'{out_dir} already exists (pass overwrite/--force to replace it)')
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{out_dir.name}.', dir=out_dir.parent))
    try:
        cfg = Config(dict(cfg)) if not isinstance(cfg, Config) else cfg.copy()
        if isinstance(cfg.model.get('tokenizer'), dict) and tokenizer is not None:
            cfg.model.tokenizer.name_or_path = '.'
        cfg.dump(str(tmp / CONFIG_FILE))
        _write_shards(tmp, state_dict, max_shard_bytes)
        if tokenizer is not None:
            tokenizer.save_pretrained(str(tmp))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _write_shards(out_dir: Path, state_dict: Dict[str, torch.Tensor], max_shard_bytes: int) -> None:
    shards, current, size = [], {}, 0
    for name, tensor in state_dict.items():
        nbytes = tensor.numel() * tensor.element_size()
        if current and size + nbytes > max_shard_bytes:
            shards.append(current)
            current, size = {}, 0
        current[name] = tensor.contiguous()
        size += nbytes
    shards.append(current)
    metadata = {'format': 'pt'}
    if len(shards) == 1:
        save_file(shards[0], str(out_dir / SAFETENSORS_FILE), metadata=metadata)
        return
    weight_map, total = {}, 0
    for i, shard in enumerate(shards, 1):
        file = f'model-{i:05d}-of-{len(shards):05d}.safetensors'
        save_file(shard, str(out_dir / file), metadata=metadata)
        for name, tensor in shard.items():
            weight_map[name] = file
            total += tensor.numel() * tensor.element_size()
    index = {'metadata': {'total_size': total}, 'weight_map': weight_map}
    (out_dir / SAFETENSORS_INDEX).write_text(json.dumps(index, indent=2))
