"""Format detection and loading entry points used by ``get_model``.

Every supported checkpoint shape is recognised here and turned into a
llava_mm-layout state dict through the key maps of ``key_maps``:

=====================  ===========================================  ==========================
format                 recognised by                                reader
=====================  ===========================================  ==========================
llava_mm directory     ``config.py``                                ``llava_mm_dir``
llava-hf directory     ``config.json`` ``model_type: llava`` +      ``hf_llava``
                       ``text_config`` / ``vision_config``
original LLaVA dir     ``config.json`` with ``mm_vision_tower`` /   ``original_llava``
                       ``mm_hidden_size`` (deltas, v1.5 merged)
checkpoint file        ``.safetensors`` / ``.pth`` / ``.bin``;      ``detect_layout``: llava_mm,
                       layout told by tensor names                  mmpretrain, llava-hf, original
=====================  ===========================================  ==========================
"""
import os
from pathlib import Path
from typing import Dict, Optional

import torch
from mmengine.config import Config

from .fetch import fetch_checkpoint, fetch_model_dir, looks_like_hub_id
from .hf_config import read_json
from .hf_llava import config_from_hf_llava, hf_llava_stream, is_hf_llava_config
from .key_maps import LAYOUTS, LLAVA_MM, detect_layout
from .llava_mm_dir import is_llava_mm_dir, read_config
from .original_llava import (complete_vision_tower, config_from_original_dir, is_original_llava_config,
                             original_llava_stream)
from .tensor_io import TensorSource, TensorStream

__all__ = ['config_from_dir', 'detect_dir_format', 'fetch_model_dir', 'load_state_dict', 'looks_like_hub_id',
           'open_weights']


def detect_dir_format(path: os.PathLike) -> str:
    """``'llava_mm'``, ``'hf_llava'`` or ``'original_llava'``; ``ValueError`` otherwise."""
    path = Path(path)
    if is_llava_mm_dir(path):
        return 'llava_mm'
    if (path / 'config.json').is_file():
        raw = read_json(path / 'config.json')
        if is_hf_llava_config(raw):
            return 'hf_llava'
        if is_original_llava_config(raw):
            return 'original_llava'
        kind = raw.get('model_type', 'unknown')
        raise ValueError(f'{path} holds a {kind!r} model (config.json), which is not a LLaVA model llava_mm can '
                         'load: expected a llava_mm directory (config.py), a transformers llava-hf directory '
                         '(model_type "llava") or an original LLaVA directory (mm_vision_tower in config.json)')
    raise ValueError(f'{path} is not a model directory llava_mm can load: no config.py (llava_mm) or '
                     'config.json (llava-hf / original LLaVA)')


def config_from_dir(path: os.PathLike, vision_tower: Optional[str] = None) -> Config:
    """The llava_mm config (``model`` + ``test_pipeline``) of a model directory of any supported format.

    ``vision_tower`` overrides the CLIP checkpoint an original LLaVA directory names.
    """
    kind = detect_dir_format(path)
    if kind == 'llava_mm':
        return read_config(path)
    if kind == 'hf_llava':
        return config_from_hf_llava(Path(path))
    return config_from_original_dir(Path(path), vision_tower)


def open_weights(path: str, cfg: Optional[Config] = None, vision_tower: Optional[str] = None) -> TensorStream:
    """The llava_mm-named tensors of any supported checkpoint, streamed, with their specs up front.

    See ``load_state_dict`` for the arguments.
    """
    local = fetch_checkpoint(str(path))
    if local.is_dir():
        kind = detect_dir_format(local)
        if kind == 'hf_llava':
            return hf_llava_stream(local)
        if kind == 'original_llava':
            return original_llava_stream(local, vision_tower)
        source = TensorSource(local)
        return TensorStream(LLAVA_MM.convert_specs(source.dtype_shapes()), LLAVA_MM.convert(source), local)
    source = TensorSource(local)
    layout = detect_layout(source.names(), str(local))
    key_map = LAYOUTS[layout]
    stream = TensorStream(key_map.convert_specs(source.dtype_shapes()), key_map.convert(source))
    return stream if layout == 'llava_mm' else complete_vision_tower(stream, cfg, vision_tower, str(local))


def load_state_dict(path: str, cfg: Optional[Config] = None,
                    vision_tower: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """A llava_mm-layout state dict from a directory, checkpoint file, URL or hub id.

    Args:
        path: a model directory (any supported format), a ``.safetensors`` /
            ``.pth`` / ``.bin`` file, an ``https://`` URL, ``hf://owner/name``
            or a hub id.
        cfg: the config of the model being loaded; used to pick the CLIP
            vision tower when the checkpoint has none (original LLaVA,
            mmpretrain checkpoints saved without vision weights).
        vision_tower: the CLIP checkpoint (directory or hub id) to take vision
            weights from instead of the one the checkpoint / config names.
    """
    return open_weights(path, cfg, vision_tower).to_dict()
