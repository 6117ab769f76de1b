"""The native llava_mm model directory: ``config.py`` + safetensors + tokenizer.

``config.py`` is an mmengine config with ``model`` (its tokenizer points at the
directory itself, written as ``'.'``) and ``test_pipeline``. Weights are
``model.safetensors`` or shards with a ``model.safetensors.index.json`` in
transformers' layout, so hub tooling understands them. Directories are written
atomically (temporary sibling, then rename) and tensor by tensor. Before
anything is written the tensors are checked against the model the config
describes (``check_fits_model``).
"""
import os
import shutil
from pathlib import Path
from typing import Dict, List, Union

import torch
from mmengine.config import Config

import llava_mm.models  # noqa: F401  (registers Llava, which check_fits_model builds)
from llava_mm.fileio import atomic_output
from llava_mm.registry import MODELS
from .tensor_io import DEFAULT_SHARD_BYTES, NamedTensors, PathLike, ShardedSafetensorsWriter, Spec

CONFIG_FILE = 'config.py'
#: Files that make up a tokenizer (copied verbatim when a tokenizer is given as a directory).
TOKENIZER_FILES = ('tokenizer.json', 'tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json',
                   'added_tokens.json', 'vocab.json', 'merges.txt', 'chat_template.jinja', 'chat_template.json')


class CheckpointMismatchError(ValueError):
    """Tensors that do not fit the model (names or shapes); raised before anything is written."""

    @classmethod
    def listing(cls, what: str, problems: List[str]) -> 'CheckpointMismatchError':
        """``what``, then one line per problem (the first 20)."""
        shown = '\n  '.join(problems[:20]) + (f'\n  ... ({len(problems)} in all)' if len(problems) > 20 else '')
        return cls(f'{what}:\n  {shown}')


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


def has_tokenizer_files(folder: PathLike) -> bool:
    """Whether ``folder`` is a directory holding a tokenizer."""
    folder = Path(folder)
    return folder.is_dir() and any((folder / name).is_file() for name in TOKENIZER_FILES)


def check_fits_model(config: Config, specs: Dict[str, Spec], source: str) -> None:
    """The tensors must be exactly the model's parameters: same names, same shapes.

    The model is built on the meta device from ``config`` (no memory, no tokenizer).
    """
    model_cfg = config.model.copy()
    model_cfg.tokenizer = None  # not needed for shapes
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    expected = {n: tuple(t.shape) for n, t in model.state_dict().items()}
    problems = [f'{n}: missing' for n in expected if n not in specs]
    problems += [f'{n}: not a parameter of the model' for n in specs if n not in expected]
    problems += [f'{n}: shape {tuple(specs[n][1])} but the model expects {expected[n]}'
                 for n in specs if n in expected and tuple(specs[n][1]) != expected[n]]
    if problems:
        raise CheckpointMismatchError.listing(f'The weights of {source} do not fit the model its config describes',
                                              problems)


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


def write_llava_mm_files(folder: Path, specs: Dict[str, Spec], tensors: NamedTensors, cfg: Union[Config, dict],
                         tokenizer=None, max_shard_bytes: int = DEFAULT_SHARD_BYTES) -> None:
    """Fill an existing (temporary) folder: ``config.py``, the safetensors, the tokenizer."""
    cfg = cfg.copy() if isinstance(cfg, Config) else Config(dict(cfg))
    if tokenizer is not None and isinstance(cfg.model.get('tokenizer'), dict):
        cfg.model.tokenizer.name_or_path = '.'
    cfg.dump(str(folder / CONFIG_FILE))
    ShardedSafetensorsWriter(folder, specs, max_shard_bytes).write_all(tensors)
    if tokenizer is not None:
        save_tokenizer(tokenizer, folder)


def stream_llava_mm_dir(out_dir: PathLike, specs: Dict[str, Spec], tensors: NamedTensors, cfg: Union[Config, dict],
                        tokenizer=None, max_shard_bytes: int = DEFAULT_SHARD_BYTES, overwrite: bool = False) -> Path:
    """Write a model directory atomically from tensors produced one at a time.

    ``specs`` (name -> dtype, shape) must be known up front: the shards are
    planned from it and every tensor is checked against it as it arrives.
    ``tokenizer``: an object with ``save_pretrained`` or a folder of tokenizer
    files (``None``: keep the config's tokenizer reference).
    """
    with atomic_output(out_dir, force=overwrite, is_same_kind=is_llava_mm_dir) as tmp:
        write_llava_mm_files(tmp, specs, tensors, cfg, tokenizer, max_shard_bytes)
    return Path(out_dir)


def write_llava_mm_dir(out_dir: PathLike, state_dict: Dict[str, torch.Tensor], cfg: Union[Config, dict],
                       tokenizer=None, max_shard_bytes: int = DEFAULT_SHARD_BYTES, overwrite: bool = False) -> Path:
    """Write a complete directory from an in-memory state dict, atomically."""
    specs = {n: (t.dtype, tuple(t.shape)) for n, t in state_dict.items()}
    return stream_llava_mm_dir(out_dir, specs, state_dict.items(), cfg, tokenizer, max_shard_bytes, overwrite)

