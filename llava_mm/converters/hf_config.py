"""Translating transformers configs (``config.json``, image processor JSON) into llava_mm config pieces.

Shared by the llava-hf and original-LLaVA readers and by the llava-hf export.
"""
import json
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from transformers import CLIPVisionConfig, LlamaConfig, PretrainedConfig

from llava_mm.models.data_preprocessor import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

#: Attributes every transformers config has that say nothing about the architecture.
_GENERIC_KEYS = {
    '_name_or_path', 'architectures', 'transformers_version', 'model_type', 'dtype', 'torch_dtype',
    'output_attentions', 'output_hidden_states', 'return_dict', 'id2label', 'label2id', 'problem_type',
    'chunk_size_feed_forward', 'is_encoder_decoder', 'use_cache', 'pretraining_tp', 'initializer_range',
    'initializer_factor', '_attn_implementation_autoset', 'tokenizer_class',
}
LLAMA_KEYS = ('vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads',
              'num_key_value_heads', 'max_position_embeddings', 'rms_norm_eps', 'bos_token_id', 'eos_token_id',
              'pad_token_id', 'tie_word_embeddings')
CLIP_VISION_KEYS = ('hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'image_size',
                    'patch_size', 'projection_dim', 'hidden_act', 'layer_norm_eps')
PIL_RESAMPLE = {0: 'nearest', 2: 'bilinear', 3: 'bicubic'}
RESAMPLE_PIL = {v: k for k, v in PIL_RESAMPLE.items()}


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f'Cannot read {path}: {err}') from err


def config_kwargs(config: PretrainedConfig, essential: Iterable[str]) -> Dict:
    """The keyword arguments that rebuild ``config``: the essential architecture keys always,
    anything else only where it differs from the class default."""
    values = config.to_dict()
    defaults = type(config)().to_dict()
    kwargs = {k: values[k] for k in essential if k in values}
    for key, value in values.items():
        if key not in kwargs and key not in _GENERIC_KEYS and not key.startswith('_') \
                and (key not in defaults or defaults[key] != value):
            kwargs[key] = value
    return kwargs


def llama_kwargs(raw: dict, source: str) -> Dict:
    """``LlamaForCausalLM`` kwargs from a text config dict; anything but LLaMA is refused."""
    model_type = raw.get('model_type', 'llama')
    if model_type not in ('llama', 'llava', 'llava_llama'):
        raise ValueError(f'{source}: the language model is {model_type!r}; llava_mm supports LLaMA '
                         f'(LlamaForCausalLM) language models only')
    known = set(LlamaConfig().to_dict()) | {'rope_theta', 'rope_scaling'}
    config = LlamaConfig(**{k: v for k, v in raw.items() if k in known and k not in _GENERIC_KEYS})
    return config_kwargs(config, LLAMA_KEYS)


def clip_vision_kwargs(config: CLIPVisionConfig) -> Dict:
    return config_kwargs(config, CLIP_VISION_KEYS)


def clip_vision_config(raw: dict, source: str) -> CLIPVisionConfig:
    model_type = raw.get('model_type', 'clip_vision_model')
    if model_type == 'clip':
        raw = raw.get('vision_config') or {}
        model_type = raw.get('model_type', 'clip_vision_model')
    if model_type != 'clip_vision_model':
        raise ValueError(f'{source}: the vision tower is {model_type!r}; llava_mm supports CLIP vision towers only')
    known = set(CLIPVisionConfig().to_dict())
    return CLIPVisionConfig(**{k: v for k, v in raw.items() if k in known and k not in _GENERIC_KEYS})


def image_processor_config(path: Path) -> Optional[dict]:
    """The image processor settings of a directory (``preprocessor_config.json`` or, as
    transformers 5 writes it, inside ``processor_config.json``)."""
    if (path / 'preprocessor_config.json').is_file():
        return read_json(path / 'preprocessor_config.json')
    if (path / 'processor_config.json').is_file():
        return read_json(path / 'processor_config.json').get('image_processor')
    return None


def _edge(value, name: str, source: str) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        if 'shortest_edge' in value:
            return int(value['shortest_edge'])
        if value.get('height') == value.get('width') and value.get('height'):
            return int(value['height'])
    raise ValueError(f'{source}: image processor {name}={value!r} is not supported (llava_mm resizes the shortest '
                     'edge and centre-crops a square)')


def pipeline_from_image_processor(ip: dict, source: str) -> List[dict]:
    """llava_mm ``test_pipeline`` equivalent to a CLIP / LLaVA image processor."""
    mean = ip.get('image_mean', (0.48145466, 0.4578275, 0.40821073))
    steps: List[dict] = [dict(type='LoadLlavaImage')]
    if ip.get('do_pad'):
        steps.append(dict(type='PadToSquare', background=tuple(int(x * 255) for x in mean)))
    if ip.get('do_resize', True):
        size = ip.get('size', {'shortest_edge': 224})
        if isinstance(size, dict) and 'shortest_edge' not in size:
            raise ValueError(f'{source}: image processor size={size!r} (a fixed, non aspect preserving resize) is '
                             'not supported; llava_mm resizes the shortest edge')
        resample = ip.get('resample', 3)
        if resample not in PIL_RESAMPLE:
            raise ValueError(f'{source}: image processor resample={resample} is not supported '
                             f'(supported: {PIL_RESAMPLE})')
        steps.append(dict(type='ResizeShortestEdge', size=_edge(size, 'size', source),
                          interpolation=PIL_RESAMPLE[resample]))
    if ip.get('do_center_crop', True):
        steps.append(dict(type='CenterCropSquare', size=_edge(ip.get('crop_size', 224), 'crop_size', source)))
    steps.append(dict(type='PackLlavaInputs'))
    return steps


def data_preprocessor_from_image_processor(ip: dict) -> dict:
    return dict(type='LlavaDataPreprocessor',
                mean=tuple(ip.get('image_mean', OPENAI_CLIP_MEAN)),
                std=tuple(ip.get('image_std', OPENAI_CLIP_STD)),
                rescale_factor=ip.get('rescale_factor', 1 / 255))


def image_processor_from_pipeline(pipeline: List[dict], data_preprocessor: Optional[dict]) -> dict:
    """The inverse of ``pipeline_from_image_processor`` (for export)."""
    dp = data_preprocessor or {}
    ip = dict(do_convert_rgb=True, do_normalize=True, do_rescale=True,
              rescale_factor=dp.get('rescale_factor', 1 / 255),
              image_mean=list(dp.get('mean', OPENAI_CLIP_MEAN)), image_std=list(dp.get('std', OPENAI_CLIP_STD)),
              do_pad=False, do_resize=False, do_center_crop=False)
    for step in pipeline:
        kind = step['type']
        if kind == 'PadToSquare':
            expected = tuple(int(x * 255) for x in ip['image_mean'])
            if tuple(step.get('background', expected)) != expected:
                raise ValueError(f'PadToSquare background {step["background"]} differs from the mean colour '
                                 f'{expected} that transformers pads with')
            ip['do_pad'] = True
        elif kind == 'ResizeShortestEdge':
            ip.update(do_resize=True, size={'shortest_edge': step['size']},
                      resample=RESAMPLE_PIL[step.get('interpolation', 'bicubic')])
        elif kind == 'CenterCropSquare':
            ip.update(do_center_crop=True, crop_size={'height': step['size'], 'width': step['size']})
        elif kind not in ('LoadLlavaImage', 'LoadImageFromFile', 'PackLlavaInputs'):
            raise ValueError(f'Pipeline step {kind} has no transformers image processor equivalent')
    return ip
