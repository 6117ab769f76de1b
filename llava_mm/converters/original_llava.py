"""Original LLaVA (haotian-liu/LLaVA ``LlavaLlamaForCausalLM``) directories -> llava_mm.

These checkpoints (v1 deltas, merged v1.5 such as ``liuhaotian/llava-v1.5-7b``)
hold the language model and ``mm_projector`` only; the vision tower is the
CLIP checkpoint that ``config.json`` names in ``mm_vision_tower``. Like original
LLaVA's builder, which runs the tower in the language model's half precision,
the CLIP weights are cast to the language model's dtype.
"""
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple, Union

import torch
from mmengine.config import Config
from transformers import CLIPVisionConfig

from .fetch import fetch_model_dir
from .hf_config import (clip_vision_config, clip_vision_kwargs, data_preprocessor_from_image_processor,
                        image_processor_config, llama_kwargs, pipeline_from_image_processor, read_json)
from .key_maps import CLIP_VISION, ORIGINAL_LLAVA, vision_names
from .tensor_io import TensorSource, TensorStream

DEFAULT_VISION_TOWER = 'openai/clip-vit-large-patch14'
#: The CLIP checkpoints LLaVA was trained with, by input resolution.
CLIP_BY_IMAGE_SIZE = {224: 'openai/clip-vit-large-patch14', 336: 'openai/clip-vit-large-patch14-336'}
_PROJECTORS = {'linear': 'LinearProjector', 'mlp2x_gelu': 'MLPProjector'}
_FEATURES = {'patch': 'patch', 'cls_patch': 'cls_patch'}
EMBED = 'language_model.model.embed_tokens.weight'


def is_original_llava_config(raw: dict) -> bool:
    return 'text_config' not in raw and ('mm_vision_tower' in raw or 'mm_hidden_size' in raw or any(
        a.startswith('Llava') and 'ForCausalLM' in a for a in raw.get('architectures') or ()))


def config_from_original(config_json: Union[dict, str, Path],
                         vision_config: Union[CLIPVisionConfig, dict],
                         image_processor: Optional[dict] = None) -> Config:
    """llava_mm config for an original LLaVA ``config.json`` (delta or merged) and its CLIP tower.

    Args:
        config_json: the parsed ``config.json`` (or its path).
        vision_config: the CLIP vision config (object or kwargs) of ``mm_vision_tower``.
        image_processor: the CLIP checkpoint's image processor settings, if it has any.
    """
    source = 'config.json'
    if not isinstance(config_json, dict):
        source = str(config_json)
        config_json = read_json(Path(config_json))
    raw = config_json
    vision = vision_config if isinstance(vision_config, CLIPVisionConfig) else CLIPVisionConfig(**vision_config)
    text = llama_kwargs(raw, source)
    projector = raw.get('mm_projector_type', 'linear')
    if projector not in _PROJECTORS:
        raise ValueError(f'{source}: mm_projector_type={projector!r} is not supported '
                         f'(supported: {sorted(_PROJECTORS)})')
    feature = raw.get('mm_vision_select_feature', 'patch')
    if feature not in _FEATURES:
        raise ValueError(f'{source}: mm_vision_select_feature={feature!r} is not supported')
    aspect = raw.get('image_aspect_ratio', 'square')
    if aspect not in ('square', 'pad', None) or raw.get('mm_patch_merge_type', 'flat') != 'flat':
        raise ValueError(f'{source}: image_aspect_ratio={aspect!r} / mm_patch_merge_type='
                         f'{raw.get("mm_patch_merge_type")!r} (LLaVA-NeXT any-resolution) is not supported')
    mm_hidden = raw.get('mm_hidden_size', vision.hidden_size)
    if mm_hidden != vision.hidden_size:
        raise ValueError(f'{source}: mm_hidden_size={mm_hidden} but the CLIP vision tower has hidden_size '
                         f'{vision.hidden_size}: wrong vision tower?')
    ip = dict(image_processor or dict(size={'shortest_edge': vision.image_size},
                                      crop_size={'height': vision.image_size, 'width': vision.image_size}))
    ip['do_pad'] = aspect == 'pad'
    model = dict(
        type='Llava',
        vision_tower=dict(type='CLIPVisionTower', vision_config=clip_vision_kwargs(vision),
                          feature_layer=raw.get('mm_vision_select_layer', -2), feature_select=_FEATURES[feature]),
        projector=dict(type=_PROJECTORS[projector], in_features=vision.hidden_size, out_features=text['hidden_size']),
        language_model=dict(type='LlamaForCausalLM', **text),
        tokenizer=dict(type='AutoTokenizer', name_or_path='.'),
        prompt_template='llava_v1' if raw.get('mm_use_im_start_end') else 'vicuna_v1',
        task='caption',
        generation_cfg=dict(max_new_tokens=128, num_beams=1),
        data_preprocessor=data_preprocessor_from_image_processor(ip),
    )
    return Config(dict(default_scope='llava_mm', model=model,
                       test_pipeline=pipeline_from_image_processor(ip, source)))


def vision_tower_id(raw: dict, override: Optional[str] = None) -> str:
    return override or raw.get('mm_vision_tower') or DEFAULT_VISION_TOWER


def clip_dir(name_or_path: str) -> Path:
    try:
        return fetch_model_dir(name_or_path)
    except (OSError, FileNotFoundError) as err:
        raise OSError(f'The vision tower comes from the CLIP checkpoint {name_or_path!r}, which is not '
                      f'available: {err} Pass a local CLIP directory with --vision-tower (vision_tower=).') from err


def clip_vision_tensors(path: Path, dtype: Optional[torch.dtype] = None) -> Iterator[Tuple[str, torch.Tensor]]:
    """``vision_tower.*`` tensors of a transformers CLIP (vision) checkpoint."""
    for name, tensor in CLIP_VISION.convert(TensorSource(path)):
        yield name, tensor if dtype is None else tensor.to(dtype)


def clip_vision_specs(path: Path, dtype: Optional[torch.dtype] = None) -> Dict[str, Tuple[torch.dtype, tuple]]:
    specs = CLIP_VISION.convert_specs(TensorSource(path).dtype_shapes())
    return {n: (dtype or d, s) for n, (d, s) in specs.items()}


def clip_config(path: Path) -> Tuple[CLIPVisionConfig, Optional[dict]]:
    if not (path / 'config.json').is_file():
        raise FileNotFoundError(f'{path} has no config.json: not a transformers CLIP checkpoint')
    return clip_vision_config(read_json(path / 'config.json'), str(path)), image_processor_config(path)


def config_from_original_dir(path: Path, vision_tower: Optional[str] = None) -> Config:
    raw = read_json(path / 'config.json')
    vision, ip = clip_config(clip_dir(vision_tower_id(raw, vision_tower)))
    cfg = config_from_original(raw, vision, ip)
    cfg.model.tokenizer.name_or_path = str(path)
    return cfg


def with_clip_vision(stream: TensorStream, clip: Path, dtype: torch.dtype) -> TensorStream:
    """``stream`` plus the vision tower of a CLIP checkpoint (cast to ``dtype``), vision first."""
    specs = {**clip_vision_specs(clip, dtype), **stream.specs}

    def tensors():
        yield from clip_vision_tensors(clip, dtype)
        yield from stream.tensors

    return TensorStream(specs, tensors(), stream.tokenizer_dir)


def original_llava_stream(path: Path, vision_tower: Optional[str] = None) -> TensorStream:
    """llava_mm-named tensors of an original LLaVA directory, vision tower from its CLIP checkpoint."""
    path = Path(path)
    raw = read_json(path / 'config.json')
    source = TensorSource(path)
    stream = TensorStream(ORIGINAL_LLAVA.convert_specs(source.dtype_shapes()), ORIGINAL_LLAVA.convert(source), path)
    if vision_names(stream.specs):
        return stream
    dtype = stream.specs[EMBED][0]
    return with_clip_vision(stream, clip_dir(vision_tower_id(raw, vision_tower)), dtype)


def complete_vision_tower(stream: TensorStream, cfg: Optional[Config], vision_tower: Optional[str],
                          source: str) -> TensorStream:
    """Add CLIP vision weights to a checkpoint saved without them (original LLaVA / mmpretrain files)."""
    if vision_names(stream.specs) or EMBED not in stream.specs:
        return stream
    if vision_tower is None:
        if cfg is None:
            raise ValueError(f'{source} has no vision tower weights; pass the config (cfg=) or the CLIP '
                             'checkpoint (vision_tower=) to take them from')
        image_size = cfg.model.vision_tower.vision_config.get('image_size', 224)
        vision_tower = CLIP_BY_IMAGE_SIZE.get(image_size)
        if vision_tower is None:
            raise ValueError(f'{source} has no vision tower weights and no standard CLIP checkpoint has image size '
                             f'{image_size}; pass vision_tower=')
    return with_clip_vision(stream, clip_dir(vision_tower), stream.specs[EMBED][0])
