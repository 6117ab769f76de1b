"""llava_mm -> transformers llava-hf (``LlavaForConditionalGeneration``) directories.

So models made or fine-tuned here can be served by transformers, vLLM or SGLang.
What the export adds, as the official llava-hf conversion did:

* an ``<image>`` token in the tokenizer (``image_token_index``); the embedding
  and ``lm_head`` rows are padded to a multiple of ``pad_vocab_to`` (64, for
  fast matmuls; 1 = just the new token). New rows are the mean of the existing
  ones (LLaVA's own init for added tokens): the ``<image>`` embedding is never
  read (image features replace it) and a mean ``lm_head`` row scores the mean
  logit, so greedy decoding never picks a padding token.
* ``post_layernorm`` (weight 1, bias 0): transformers' CLIP has it, LLaVA never
  uses it (features come from a hidden state before it).
* ``processor_config.json`` (transformers 5) plus a flat
  ``preprocessor_config.json`` (older readers) for ``AutoProcessor``.
* the llava_mm-only settings (prompt template, task, generation) under the
  ``llava_mm`` key of ``config.json``, so llava-hf -> llava_mm restores them.

Weights keep their names' hub spelling (``vision_tower.vision_model.*``,
``multi_modal_projector.*``, ``language_model.model.*``,
``language_model.lm_head.*``) and their dtype; they are written tensor by tensor.
"""
import copy
import json
from pathlib import Path
from typing import Optional

import torch
from mmengine.config import Config

from ..fileio import atomic_output, check_output
from .formats import config_from_dir, open_weights
from .hf_config import image_processor_from_pipeline
from .hf_llava import LLAVA_MM_EXTRAS
from .key_maps import TO_HF_LLAVA
from .safetensors_writer import DEFAULT_SHARD_BYTES, ShardedSafetensorsWriter

IMAGE_TOKEN = '<image>'
EMBED = 'language_model.model.embed_tokens.weight'
LM_HEAD = 'language_model.lm_head.weight'
_EXTRA_KEYS = ('prompt_template', 'task', 'caption_prompt', 'question_template', 'generation_cfg')
_STRATEGIES = {'patch': 'default', 'cls_patch': 'full'}


def _check_exportable(model: dict) -> None:
    projector = model.get('projector', {}).get('type')
    if projector != 'MLPProjector':
        raise ValueError(f'Cannot export a model with a {projector}: LlavaForConditionalGeneration always has a '
                         '2-layer GELU MLP projector (LLaVA v1.5); v1 (linear projector) models have no llava-hf '
                         'equivalent')
    if model.get('language_model', {}).get('type') != 'LlamaForCausalLM':
        raise ValueError(f'Cannot export language model {model.get("language_model", {}).get("type")!r}')
    if model.get('vision_tower', {}).get('type') != 'CLIPVisionTower':
        raise ValueError(f'Cannot export vision tower {model.get("vision_tower", {}).get("type")!r}')


def _pad_rows(tensor: torch.Tensor, rows: int) -> torch.Tensor:
    if tensor.shape[0] == rows:
        return tensor
    mean = tensor.float().mean(dim=0, keepdim=True).to(tensor.dtype)
    return torch.cat([tensor, mean.expand(rows - tensor.shape[0], -1)])


def _tokenizer_with_image_token(tokenizer_path: str):
    from transformers import AddedToken, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_tokens(AddedToken(IMAGE_TOKEN, special=True, normalized=False), special_tokens=True)
    if tokenizer.pad_token is None:  # like llava_mm (and LLaVA): pad with unk; pads are masked
        tokenizer.pad_token = tokenizer.unk_token if tokenizer.unk_token is not None else tokenizer.eos_token
    tokenizer.padding_side = 'left'
    return tokenizer


def hf_llava_config(cfg: Config, vocab_size: int, image_token_index: int, pad_token_id: Optional[int],
                    dtype: torch.dtype):
    """The ``LlavaConfig`` of a llava_mm config."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig
    model = cfg.model
    text = {k: v for k, v in copy.deepcopy(model.language_model).items() if k != 'type'}
    text.update(vocab_size=vocab_size, pad_token_id=pad_token_id)
    tower = model.vision_tower
    vision = CLIPVisionConfig(**tower.vision_config)
    strategy = _STRATEGIES[tower.get('feature_select', 'patch')]
    num_tokens = (vision.image_size // vision.patch_size) ** 2 + (strategy == 'full')
    config = LlavaConfig(vision_config=vision, text_config=LlamaConfig(**text), image_token_index=image_token_index,
                         vision_feature_layer=tower.get('feature_layer', -2),
                         vision_feature_select_strategy=strategy, projector_hidden_act='gelu',
                         multimodal_projector_bias=True, image_seq_length=num_tokens,
                         tie_word_embeddings=bool(text.get('tie_word_embeddings', False)))
    config.architectures = ['LlavaForConditionalGeneration']
    config.dtype = dtype
    setattr(config, LLAVA_MM_EXTRAS, {k: _plain(model[k]) for k in _EXTRA_KEYS if k in model})
    return config


def _plain(value):
    return json.loads(json.dumps(value.to_dict() if hasattr(value, 'to_dict') else value))


def _save_processor(out: Path, cfg: Config, tokenizer) -> None:
    from transformers import LlavaProcessor
    try:
        from transformers import LlavaImageProcessorPil as ImageProcessor
    except ImportError:  # older transformers
        from transformers import LlavaImageProcessor as ImageProcessor
    ip = image_processor_from_pipeline(list(cfg.test_pipeline), cfg.model.get('data_preprocessor'))
    image_processor = ImageProcessor(**ip)
    vision = cfg.model.vision_tower
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer,
                               patch_size=vision.vision_config.get('patch_size', 14),
                               vision_feature_select_strategy=_STRATEGIES[vision.get('feature_select', 'patch')],
                               num_additional_image_tokens=1, image_token=IMAGE_TOKEN)
    processor.save_pretrained(str(out))
    image_processor.to_json_file(str(out / 'preprocessor_config.json'))


def export_hf_llava(src: str, out: str, pad_vocab_to: int = 64, force: bool = False,
                    max_shard_bytes: int = DEFAULT_SHARD_BYTES, progress: bool = False) -> Path:
    """Write ``out``: a directory ``LlavaForConditionalGeneration`` / ``AutoProcessor`` load.

    Args:
        src: a llava_mm model directory (or any directory ``get_model`` reads).
        pad_vocab_to: embedding rows are padded to a multiple of this.
        force: replace an existing ``out``.
    """
    check_output(out, force)
    src = Path(src)
    cfg = config_from_dir(src)
    _check_exportable(cfg.model)
    tokenizer = _tokenizer_with_image_token(cfg.model.tokenizer.name_or_path)
    stream = open_weights(str(src))
    specs, tensors = stream.specs, stream.tensors
    rows = specs[EMBED][1][0]
    vocab = max(rows, len(tokenizer))
    vocab += -vocab % max(1, pad_vocab_to)
    vision_dtype, (width, ) = specs['vision_tower.pre_layrnorm.weight'][0], specs['vision_tower.pre_layrnorm.weight'][1]
    post_norm = {'vision_tower.vision_model.post_layernorm.weight': torch.ones(width, dtype=vision_dtype),
                 'vision_tower.vision_model.post_layernorm.bias': torch.zeros(width, dtype=vision_dtype)}
    hf_specs = TO_HF_LLAVA.convert_specs(specs)
    for name in ('language_model.model.embed_tokens.weight', 'language_model.lm_head.weight'):
        if name in hf_specs:
            hf_specs[name] = (hf_specs[name][0], (vocab, ) + tuple(hf_specs[name][1][1:]))
    hf_specs.update({n: (t.dtype, tuple(t.shape)) for n, t in post_norm.items()})

    def hf_tensors():
        for name, tensor in TO_HF_LLAVA.convert(tensors):
            yield name, _pad_rows(tensor, vocab) if name.endswith(('embed_tokens.weight', 'lm_head.weight')) else tensor
        yield from post_norm.items()

    items = hf_tensors()
    if progress:
        from tqdm import tqdm
        items = tqdm(items, total=len(hf_specs), desc='Exporting', unit='tensor')
    with atomic_output(out, force=force) as tmp:
        ShardedSafetensorsWriter(tmp, hf_specs, max_shard_bytes).write_all(items)
        config = hf_llava_config(cfg, vocab, tokenizer.convert_tokens_to_ids(IMAGE_TOKEN), tokenizer.pad_token_id,
                                 specs[EMBED][0])
        config.save_pretrained(str(tmp))
        _save_processor(tmp, cfg, tokenizer)
    return Path(out)
