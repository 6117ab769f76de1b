"""Format detection and loading entry points used by ``get_model``.

Every supported checkpoint layout is turned into a llava_mm-layout state dict
here; per-format key maps live in their own modules.
"""
import os
import re
from pathlib import Path
from typing import Dict, Optional

import torch
from mmengine.config import Config

from .llava_mm_dir import is_llava_mm_dir, iter_safetensors, read_config

_HUB_ID = re.compile(r'^[A-Za-z0-9][\w.-]*/[\w.-]+$')


def looks_like_hub_id(name: str) -> bool:
    """``owner/name`` that is not a local path."""
    return bool(_HUB_ID.match(name)) and not os.path.exists(name) and not name.endswith(('.py', '.pth'))


def fetch_model_dir(name_or_path: str) -> Path:
    """A local model directory, downloading a hub repository when needed."""
    if Path(name_or_path).is_dir():
        return Path(name_or_path)
    from huggingface_hub import snapshot_download
    try:
        return Path(snapshot_download(name_or_path))
    except Exception as err:  # offline, unknown repo, gated ...
        raise OSError(f'Cannot download {name_or_path!r} from the Hugging Face hub ({type(err).__name__}: '
                      f'{err}). Download it elsewhere and pass the local directory instead.') from err


def config_from_dir(path: os.PathLike) -> Config:
    """The llava_mm config (``model`` + ``test_pipeline``) of a model directory."""
    if is_llava_mm_dir(path):
        return read_config(path)
    raise ValueError(f'{path} is not a llava_mm model directory (no config.py) nor a supported format')


def load_state_dict(path: str, cfg: Optional[Config] = None) -> Dict[str, torch.Tensor]:
    """A llava_mm-layout state dict from a directory or a checkpoint file."""
    if Path(path).is_dir():
        if is_llava_mm_dir(path):
            return dict(iter_safetensors(path))
        raise ValueError(f'{path} is not a llava_mm model directory (no config.py) nor a supported format')
    if not Path(path).is_file():
        raise FileNotFoundError(f'Checkpoint not found: {path}')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    return checkpoint.get('state_dict', checkpoint)
