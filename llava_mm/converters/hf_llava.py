"""transformers llava-hf directories (``LlavaForConditionalGeneration``) -> llava_mm.

The export direction (llava_mm -> llava-hf) lives in ``hf_export``.
"""
from pathlib import Path
from mmengine.config import Config

from llava_mm.models.builder import llava_test_pipeline

from .hf_config import (clip_vision_config, clip_vision_kwargs, data_preprocessor_from_image_processor,
                        image_processor_config, llama_kwargs, pipeline_from_image_processor, read_json)
from .key_maps import HF_LLAVA
from .tensor_io import TensorSource, TensorStream

#: llava_mm settings an export stores in config.json so a round trip keeps them.
LLAVA_MM_EXTRAS = 'llava_mm'
_STRATEGIES = {'default': 'patch', 'full': 'cls_patch'}


def is_hf_llava_config(raw: dict) -> bool:
    return raw.get('model_type') == 'llava' and ('text_config' in raw or 'vision_config' in raw or any(
        a.startswith('LlavaForConditionalGeneration') for a in raw.get('architectures') or ()))


def config_from_hf_llava(path: Path) -> Config:
    """The llava_mm config equivalent to a llava-hf ``config.json`` (+ image processor)."""
    path = Path(path)
    source = str(path / 'config.json')
    raw = read_json(path / 'config.json')
    text = llama_kwargs(raw.get('text_config') or {}, source)
    vision = clip_vision_config(raw.get('vision_config') or {}, source)
    layer = raw.get('vision_feature_layer', -2)
    if not isinstance(layer, int):
        raise ValueError(f'{source}: vision_feature_layer={layer!r} (several layers) is not supported')
    strategy = raw.get('vision_feature_select_strategy', 'default')
    if strategy not in _STRATEGIES:
        raise ValueError(f'{source}: vision_feature_select_strategy={strategy!r} is not supported '
                         f'(supported: {sorted(_STRATEGIES)})')
    if raw.get('projector_hidden_act', 'gelu') != 'gelu':
        raise ValueError(f'{source}: projector_hidden_act={raw["projector_hidden_act"]!r}; llava_mm\'s MLP '
                         "projector uses 'gelu'")
    if not raw.get('multimodal_projector_bias', True):
        raise ValueError(f'{source}: projectors without bias (multimodal_projector_bias=false) are not supported')
    ip = image_processor_config(path)
    if ip is not None:
        pipeline = pipeline_from_image_processor(ip, str(path))
        data_preprocessor = data_preprocessor_from_image_processor(ip)
    else:
        pipeline = llava_test_pipeline(vision.image_size, pad_to_square=True)
        data_preprocessor = dict(type='LlavaDataPreprocessor')
    model = dict(
        type='Llava',
        vision_tower=dict(type='CLIPVisionTower', vision_config=clip_vision_kwargs(vision), feature_layer=layer,
                          feature_select=_STRATEGIES[strategy]),
        projector=dict(type='MLPProjector', in_features=vision.hidden_size, out_features=text['hidden_size']),
        language_model=dict(type='LlamaForCausalLM', **text),
        tokenizer=dict(type='AutoTokenizer', name_or_path=str(path)),
        prompt_template='vicuna_v1',
        task='caption',
        question_template='{question}',
        generation_cfg=dict(max_new_tokens=128, num_beams=1),
        data_preprocessor=data_preprocessor,
    )
    model.update(raw.get(LLAVA_MM_EXTRAS) or {})
    return Config(dict(default_scope='llava_mm', model=model, test_pipeline=pipeline))


def hf_llava_stream(path: Path) -> TensorStream:
    """llava_mm-named tensors of a llava-hf directory, one at a time (with their specs up front)."""
    path = Path(path)
    raw = read_json(path / 'config.json')
    tied = bool((raw.get('text_config') or {}).get('tie_word_embeddings', raw.get('tie_word_embeddings', False)))
    source = TensorSource(path)
    specs = HF_LLAVA.convert_specs(source.dtype_shapes())
    lm_head = 'language_model.lm_head.weight'
    embed = 'language_model.model.embed_tokens.weight'
    tie = tied and lm_head not in specs and embed in specs
    if tie:
        specs[lm_head] = specs[embed]

    def tensors():
        for name, tensor in HF_LLAVA.convert(source):
            yield name, tensor
            if tie and name == embed:
                yield lm_head, tensor.clone()

    return TensorStream(specs, tensors(), path)
