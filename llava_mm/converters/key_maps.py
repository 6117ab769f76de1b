"""Every checkpoint layout llava_mm reads or writes, as declarative key maps.

Target (llava_mm) names::

    vision_tower.{embeddings,pre_layrnorm,encoder}.*   CLIP vision model, no post_layernorm
    projector.linear_1.* [, projector.linear_2.*]       v1 linear / v1.5 MLP
    language_model.model.* , language_model.lm_head.*   LlamaForCausalLM

Sources and what their names look like:

* ``HF_LLAVA``: transformers ``LlavaForConditionalGeneration``. Hub checkpoints
  use ``vision_tower.vision_model.*``, ``multi_modal_projector.*``,
  ``language_model.model.*``, ``language_model.lm_head.*``; transformers 5
  in memory uses ``model.vision_tower.*``, ``model.language_model.*``,
  ``lm_head.*`` and ``save_pretrained`` writes ``vision_tower.*`` (no
  ``vision_model``). All are read; the hub spelling is written.
* ``ORIGINAL_LLAVA``: haotian-liu/LLaVA ``LlavaLlamaForCausalLM`` (v1 deltas,
  v1.5 merged): LLaMA names plus ``model.mm_projector[.0/.2]`` and, rarely,
  ``model.vision_tower.vision_tower.vision_model.*``. A plain LLaMA checkpoint
  (a delta's base) is a subset.
* ``MMPRETRAIN_LLAVA``: mmpretrain ``Llava``: ``model.lang_encoder.*`` (the
  projector inside as ``model.mm_projector``) and ``model.vision_tower.*`` in
  mmpretrain's ViT layout (fused ``qkv``, ``cls_token`` (1, 1, C)).
* ``CLIP_VISION``: transformers CLIP checkpoints (``CLIPModel`` /
  ``CLIPVisionModel``), of which only the vision encoder is kept.
"""
from typing import Iterable, List

from .key_rules import Drop, KeyMap, Rename, Split

ROTARY_CACHE = Drop('{rest}.rotary_emb.inv_freq')


def _clip_vision_rules(prefix: str, aliases=()) -> list:
    """CLIP vision model under ``prefix`` (or any alias) -> ``vision_tower.*``. ``post_layernorm`` is
    dropped: LLaVA reads a hidden state before it."""
    prefixes = (prefix, *aliases)
    rules = [Drop(p + 'post_layernorm.{rest}') for p in prefixes]
    rules += [Drop(p + 'embeddings.position_ids') for p in prefixes]
    for sub in ('embeddings', 'pre_layrnorm', 'encoder'):
        rules.append(Rename(f'{prefix}{sub}.{{rest}}', f'vision_tower.{sub}.{{rest}}',
                            aliases=tuple(f'{a}{sub}.{{rest}}' for a in aliases)))
    return rules


def _language_model_rules(model: str, lm_head: str, model_aliases=(), head_aliases=()) -> list:
    return [
        ROTARY_CACHE,
        Rename(lm_head + '{rest}', 'language_model.lm_head.{rest}', aliases=tuple(a + '{rest}' for a in head_aliases)),
        Rename(model + '{rest}', 'language_model.model.{rest}', aliases=tuple(a + '{rest}' for a in model_aliases)),
    ]


LLAVA_MM = KeyMap('llava_mm', [
    Rename('vision_tower.{rest}', 'vision_tower.{rest}'),
    Rename('projector.{rest}', 'projector.{rest}'),
    Rename('language_model.{rest}', 'language_model.{rest}'),
])

HF_LLAVA = KeyMap('transformers llava-hf', [
    *_clip_vision_rules('vision_tower.vision_model.',
                        aliases=('model.vision_tower.vision_model.', 'model.vision_tower.', 'vision_tower.')),
    Rename('multi_modal_projector.{rest}', 'projector.{rest}', aliases=('model.multi_modal_projector.{rest}', )),
    *_language_model_rules('language_model.model.', 'language_model.lm_head.',
                           model_aliases=('model.language_model.', ), head_aliases=('lm_head.', )),
])

#: llava_mm -> llava-hf (hub spelling), for export.
TO_HF_LLAVA = HF_LLAVA.inverse('llava_mm -> transformers llava-hf')


def _mm_projector_rules(prefix: str) -> list:
    """LLaVA's ``mm_projector`` under ``prefix``: one ``nn.Linear`` (v1) or ``nn.Sequential`` with the two
    linears at 0 and 2 (v1.5 ``mlp2x_gelu``)."""
    return [
        Rename(prefix + 'mm_projector.weight', 'projector.linear_1.weight'),
        Rename(prefix + 'mm_projector.bias', 'projector.linear_1.bias'),
        Rename(prefix + 'mm_projector.0.{rest}', 'projector.linear_1.{rest}'),
        Rename(prefix + 'mm_projector.2.{rest}', 'projector.linear_2.{rest}'),
    ]


ORIGINAL_LLAVA = KeyMap('original LLaVA (LlavaLlamaForCausalLM)', [
    *_mm_projector_rules('model.'),
    *_clip_vision_rules('model.vision_tower.vision_tower.vision_model.'),
    *_language_model_rules('model.', 'lm_head.'),
])

CLIP_VISION = KeyMap('transformers CLIP', [
    Drop('text_model.{rest}'), Drop('text_projection.{rest}'), Drop('visual_projection.{rest}'),
    Drop('logit_scale'),
    *_clip_vision_rules('vision_model.', aliases=('', )),
])


def _mmpretrain_vit_rules(prefix: str) -> list:
    """mmpretrain ``VisionTransformer`` (CLIP flavour: ``pre_norm``, no patch bias) -> ``vision_tower.*``."""
    layer, dst = prefix + 'layers.{n}.', 'vision_tower.encoder.layers.{n}.'
    return [
        Rename(prefix + 'cls_token', 'vision_tower.embeddings.class_embedding',
               to_dst=lambda t: t.reshape(t.shape[-1]), to_src=lambda t: t.reshape(1, 1, -1)),
        Rename(prefix + 'pos_embed', 'vision_tower.embeddings.position_embedding.weight',
               to_dst=lambda t: t.reshape(t.shape[-2:]), to_src=lambda t: t.unsqueeze(0)),
        Rename(prefix + 'patch_embed.projection.weight', 'vision_tower.embeddings.patch_embedding.weight'),
        Rename(prefix + 'pre_norm.{p}', 'vision_tower.pre_layrnorm.{p}'),
        Rename(layer + 'ln1.{p}', dst + 'layer_norm1.{p}'),
        Split(layer + 'attn.qkv.{p}', (dst + 'self_attn.q_proj.{p}', dst + 'self_attn.k_proj.{p}',
                                       dst + 'self_attn.v_proj.{p}')),
        Rename(layer + 'attn.proj.{p}', dst + 'self_attn.out_proj.{p}'),
        Rename(layer + 'ln2.{p}', dst + 'layer_norm2.{p}'),
        Rename(layer + 'ffn.layers.0.0.{p}', dst + 'mlp.fc1.{p}'),
        Rename(layer + 'ffn.layers.1.{p}', dst + 'mlp.fc2.{p}'),
        Drop(prefix + 'ln1.{p}'),  # final norm (final_norm=True checkpoints); LLaVA never uses it
    ]


MMPRETRAIN_LLAVA = KeyMap('mmpretrain Llava', [
    *_mm_projector_rules('model.lang_encoder.model.'),
    *_mmpretrain_vit_rules('model.vision_tower.'),
    *_language_model_rules('model.lang_encoder.model.', 'model.lang_encoder.lm_head.'),
])

#: Every layout that can be recognised from tensor names alone, most specific first.
LAYOUTS = {
    'llava_mm': LLAVA_MM,
    'mmpretrain': MMPRETRAIN_LLAVA,
    'hf_llava': HF_LLAVA,
    'original_llava': ORIGINAL_LLAVA,
}

#: A name that only this layout has (used to tell layouts apart).
_SIGNATURES = {
    'llava_mm': ('projector.', 'language_model.lm_head.'),
    'mmpretrain': ('model.lang_encoder.', ),
    'hf_llava': ('multi_modal_projector.', 'model.multi_modal_projector.'),
    'original_llava': ('model.mm_projector', 'model.embed_tokens.'),
}


def detect_layout(names: Iterable[str], source: str = 'checkpoint') -> str:
    """The layout whose signature and rules fit every tensor name."""
    names = list(names)
    for layout, prefixes in _SIGNATURES.items():
        if any(n.startswith(prefixes) for n in names) and all(LAYOUTS[layout].accepts(n) for n in names):
            return layout
    sample = ', '.join(sorted(names)[:5])
    raise ValueError(f'Cannot tell the layout of {source}: its tensor names ({sample}, ...) match none of '
                     f'{sorted(LAYOUTS)}')


def vision_names(names: Iterable[str]) -> List[str]:
    return [n for n in names if n.startswith('vision_tower.')]
