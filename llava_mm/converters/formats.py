"""The converters' entry points: detect any supported checkpoint, load it, convert it.

``config_from_dir`` / ``load_state_dict`` are what ``get_model`` uses;
``convert_to_llava_mm`` / ``export_hf_llava`` (+ their command-line options)
are what tools/model_converters run; ``original_llava.merge_delta`` is the
third. Every supported checkpoint shape is recognised here and turned into
llava_mm-named tensors through the key maps of ``key_maps``:

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
import argparse
import os
from pathlib import Path
from typing import Any, Dict, Optional

import torch
from mmengine.config import Config

from llava_mm.fileio import check_output
from .fetch import fetch_checkpoint
from .hf_config import read_json
from .hf_llava import (config_from_hf_llava, hf_llava_stream, is_hf_llava_config, is_hf_llava_dir, restore_exported,
                       write_hf_llava_dir)
from .key_maps import LAYOUTS, LLAVA_MM, ORIGINAL_LLAVA, detect_layout
from .llava_mm_dir import check_fits_model, has_tokenizer_files, is_llava_mm_dir, read_config, stream_llava_mm_dir
from .original_llava import (clip_dir, clip_vision_tensors, complete_vision_tower, config_from_original_dir, is_original_llava_config,
                             original_llava_stream)
from .tensor_io import DEFAULT_SHARD_BYTES, TensorSource, TensorStream, parse_size, total_bytes, with_progress


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


#: What each part of a LLaVA model can start from in a training config's ``init_from``.
PART_SOURCES = {
    'vision_tower': 'a CLIP checkpoint (transformers CLIPModel / CLIPVisionModel directory or hub id)',
    'language_model': 'a LLaMA / Vicuna checkpoint (transformers LlamaForCausalLM directory or hub id)',
    'projector': 'any checkpoint with a projector (a llava_mm model directory, LLaVA mm_projector.bin, ...)',
}


def load_part(part: str, path: str) -> Dict[str, torch.Tensor]:
    """The llava_mm-named tensors of one part (``vision_tower.*``, ``language_model.*`` or ``projector.*``) from
    a checkpoint of that part, as LLaVA's training starts from Vicuna + CLIP (+ a stage-1 projector)."""
    if part not in PART_SOURCES:
        raise ValueError(f'init_from: unknown part {part!r}; the parts are {sorted(PART_SOURCES)}')
    try:
        tensors = _part_tensors(part, path)
    except KeyError as err:  # a tensor no rule of the expected layout knows
        raise ValueError(f'init_from.{part}={path!r} is not {PART_SOURCES[part]}: {err}') from None
    tensors = {k: v for k, v in tensors.items() if k.startswith(part + '.')}
    if not tensors:
        raise ValueError(f'init_from.{part}={path!r} holds no {part} weights; expected {PART_SOURCES[part]}')
    return tensors


def _part_tensors(part: str, path: str) -> Dict[str, torch.Tensor]:
    if part == 'vision_tower':
        return dict(clip_vision_tensors(clip_dir(path)))
    source = TensorSource(fetch_checkpoint(str(path)))
    if part == 'language_model':
        return dict(ORIGINAL_LLAVA.convert(source))  # a LLaMA checkpoint is a subset of original LLaVA's names
    # The projector alone: read by tensor names, so an original LLaVA directory needs no CLIP checkpoint.
    layout = 'llava_mm' if is_llava_mm_dir(source.path) else detect_layout(source.names(), str(source.path))
    return dict(LAYOUTS[layout].convert(source))


def _tokenizer_source(cfg: Config, stream: TensorStream) -> Optional[Path]:
    """Where an output's tokenizer files come from (``None``: keep the config's tokenizer reference)."""
    for candidate in (stream.tokenizer_dir, cfg.model.get('tokenizer', {}).get('name_or_path')):
        if candidate and has_tokenizer_files(candidate):
            return Path(candidate)
    return None


def convert_to_llava_mm(src: str, out: str, config: Optional[Config] = None, vision_tower: Optional[str] = None,
                        force: bool = False, max_shard_bytes: int = DEFAULT_SHARD_BYTES,
                        progress: bool = True) -> Path:
    """Write ``out``, a llava_mm model directory with the weights of ``src``.

    Args:
        src: a llava-hf / original LLaVA / llava_mm directory, a checkpoint file
            (``.pth`` / ``.bin`` / ``.safetensors``), URL or hub id.
        config: the model config; required for checkpoint files, overrides a
            directory's own otherwise (``llava_mm.apis.model_zoo.resolve_model``
            turns a model name or config file into one).
        vision_tower: CLIP checkpoint for sources without vision weights.
    """
    check_output(out, force, 'dir', is_llava_mm_dir)
    local = fetch_checkpoint(str(src))
    if config is None and not local.is_dir():
        raise ValueError(f'{src} is a checkpoint file: pass the config it belongs to (a model name from '
                         'llava_mm.list_models() or a config file) with --config')
    cfg = config if config is not None else config_from_dir(local, vision_tower)
    stream = open_weights(str(local), cfg, vision_tower)
    tokenizer = _tokenizer_source(cfg, stream)
    if config is None and detect_dir_format(local) == 'hf_llava':
        cfg, stream, tokenizer = restore_exported(local, cfg, stream)  # undo what llava_mm's export added
    check_fits_model(cfg, stream.specs, str(src))
    tensors = with_progress(stream.tensors, total_bytes(stream.specs), 'Converting', progress)
    return stream_llava_mm_dir(out, stream.specs, tensors, cfg, tokenizer, max_shard_bytes, overwrite=force)


def export_hf_llava(src: str, out: str, pad_vocab_to: int = 64, force: bool = False,
                    max_shard_bytes: int = DEFAULT_SHARD_BYTES, progress: bool = False) -> Path:
    """Write ``out``: a directory ``LlavaForConditionalGeneration`` / ``AutoProcessor`` load.

    Args:
        src: a llava_mm model directory (or any directory ``get_model`` reads).
        pad_vocab_to: embedding rows are padded to a multiple of this.
        force: replace an existing ``out``.
    """
    check_output(out, force, 'dir', is_hf_llava_dir)
    return write_hf_llava_dir(out, config_from_dir(src), open_weights(str(src)), pad_vocab_to, force,
                              max_shard_bytes, progress)


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--max-shard-size``, ``--force`` and ``--no-progress``: the output options of every converter script."""
    parser.add_argument('--max-shard-size', default='2GiB',
                        help='safetensors shard size of a directory OUT (default 2GiB; memory use does not '
                        'depend on it)')
    parser.add_argument('--force', action='store_true', help='replace OUT if it exists')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')


def output_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    """The keyword arguments the converters take for those options."""
    return dict(force=args.force, max_shard_bytes=parse_size(args.max_shard_size), progress=not args.no_progress)
