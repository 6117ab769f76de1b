"""Component builders: the one place a ``Llava`` model config and its image pipeline are assembled.

Every reader of a checkpoint format (llava-hf, original LLaVA, the tiny test
models) describes its model with these two functions instead of writing the
nested dict by hand, as torchtune's component builders do.
"""
import os
from typing import Dict, List, Literal, Optional, Sequence

CLIP_MEAN_RGB = (122, 116, 104)  # tuple(int(x * 255) for x in CLIP's image_mean): LLaVA's pad colour
PROJECTORS = {'linear': 'LinearProjector', 'mlp2x_gelu': 'MLPProjector'}


def llava_model_config(vision_config: Dict,
                       text_config: Dict,
                       projector: Literal['linear', 'mlp2x_gelu'] = 'mlp2x_gelu',
                       feature_layer: int = -2,
                       feature_select: Literal['patch', 'cls_patch'] = 'patch',
                       tokenizer: str = '.',
                       prompt_template: str = 'vicuna_v1',
                       task: Literal['caption', 'vqa'] = 'caption',
                       generation_cfg: Optional[Dict] = None,
                       data_preprocessor: Optional[Dict] = None,
                       **extra) -> Dict:
    """The ``Llava`` model config for a CLIP vision config, a LLaMA text config and a projector kind.

    ``vision_config`` / ``text_config`` are keyword arguments of transformers'
    ``CLIPVisionConfig`` / ``LlamaConfig``; ``tokenizer`` is a tokenizer
    directory or hub id (``'.'``: the model directory itself).
    """
    if projector not in PROJECTORS:
        raise ValueError(f'projector must be one of {sorted(PROJECTORS)}, got {projector!r}')
    model = dict(
        type='Llava',
        vision_tower=dict(type='CLIPVisionTower', vision_config=dict(vision_config), feature_layer=feature_layer,
                          feature_select=feature_select),
        projector=dict(type=PROJECTORS[projector], in_features=vision_config['hidden_size'],
                       out_features=text_config['hidden_size']),
        language_model=dict(type='LlamaForCausalLM', **text_config),
        tokenizer=dict(type='AutoTokenizer', name_or_path=tokenizer),
        prompt_template=prompt_template,
        task=task,
        generation_cfg=dict(generation_cfg or dict(max_new_tokens=128, num_beams=1)),
    )
    if data_preprocessor is not None:
        model['data_preprocessor'] = dict(data_preprocessor)
    model.update(extra)
    return model


def llava_test_pipeline(image_size: int, pad_to_square: bool = True,
                        background: Sequence[int] = CLIP_MEAN_RGB, interpolation: str = 'bicubic',
                        crop_size: Optional[int] = None) -> List[Dict]:
    """LLaVA's image pipeline: v1.5 pads to a square (``pad_to_square``), v1 does not; then shortest edge
    to ``image_size`` and a centre crop (a no-op after padding)."""
    steps: List[Dict] = [dict(type='LoadLlavaImage')]
    if pad_to_square:
        steps.append(dict(type='PadToSquare', background=tuple(background)))
    steps.append(dict(type='ResizeShortestEdge', size=image_size, interpolation=interpolation))
    steps.append(dict(type='CenterCropSquare', size=crop_size or image_size))
    steps.append(dict(type='PackLlavaInputs'))
    return steps


def resolve_local_tokenizer(model_cfg: Dict, base_dir: str) -> None:
    """Point a relative tokenizer path (``'.'``, ``'./tok'``) of a config file at the config's own directory,
    so the config works from any working directory (hub ids and absolute paths are left alone)."""
    tokenizer = model_cfg.get('tokenizer')
    if not isinstance(tokenizer, dict):
        return
    name = tokenizer.get('name_or_path')
    if name in (None, '', '.', './') or (isinstance(name, str) and name.startswith(('./', '../'))):
        tokenizer['name_or_path'] = os.path.normpath(os.path.join(base_dir, name or '.'))
    elif isinstance(name, str) and os.path.isabs(name):  # e.g. '{{ fileDirname }}/../../demo/llava-tiny'
        tokenizer['name_or_path'] = os.path.normpath(name)
