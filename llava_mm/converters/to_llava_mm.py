"""Any supported checkpoint -> a native llava_mm model directory, streamed.

Sources: llava-hf directories, original LLaVA directories (vision tower from
the CLIP checkpoint they name), and checkpoint files in any layout
``detect_layout`` knows (mmpretrain, original LLaVA, llava-hf, llava_mm) given
the config they belong to.
"""
from pathlib import Path
from typing import Optional

from mmengine.config import Config

from ..fileio import check_output
from .checks import check_fits_model, total_bytes, with_progress
from .fetch import fetch_checkpoint
from .formats import config_from_dir, open_weights
from .llava_mm_dir import has_tokenizer_files, stream_llava_mm_dir
from .safetensors_writer import DEFAULT_SHARD_BYTES


def _config_for(src: Path, config: Optional[str], vision_tower: Optional[str]) -> Config:
    if config is not None:
        from llava_mm.apis.model_zoo import resolve_model
        return resolve_model(config)[0]
    if src.is_dir():
        return config_from_dir(src, vision_tower)
    raise ValueError(f'{src} is a checkpoint file: pass the config it belongs to (a model name from '
                     'llava_mm.list_models() or a config file) with --config')


def _tokenizer_source(tokenizer_dir: Optional[Path], cfg: Config):
    """Where the output's tokenizer files come from (``None``: keep the config's tokenizer reference)."""
    for candidate in (tokenizer_dir, cfg.model.get('tokenizer', {}).get('name_or_path')):
        if candidate and has_tokenizer_files(candidate):
            return Path(candidate)
    return None


def convert_to_llava_mm(src: str, out: str, config: Optional[str] = None, vision_tower: Optional[str] = None,
                        force: bool = False, max_shard_bytes: int = DEFAULT_SHARD_BYTES,
                        progress: bool = True) -> Path:
    """Write ``out``, a llava_mm model directory with the weights of ``src``.

    Args:
        src: a llava-hf / original LLaVA / llava_mm directory, a checkpoint file
            (``.pth`` / ``.bin`` / ``.safetensors``), URL or hub id.
        config: the model config (name or file); required for checkpoint files,
            overrides the directory's own otherwise.
        vision_tower: CLIP checkpoint for sources without vision weights.
    """
    check_output(out, force)
    local = fetch_checkpoint(str(src))
    cfg = _config_for(local, config, vision_tower)
    stream = open_weights(str(local), cfg, vision_tower)
    check_fits_model(cfg, stream.specs, str(src))
    tensors = with_progress(stream.tensors, total_bytes(stream.specs), 'Converting', progress)
    return stream_llava_mm_dir(out, stream.specs, tensors, cfg, _tokenizer_source(stream.tokenizer_dir, cfg),
                               max_shard_bytes, overwrite=force)
