"""transformers llava-hf directories (``LlavaForConditionalGeneration``) <-> llava_mm, both ways.

Reading: ``config_from_hf_llava`` (config.json + image processor -> llava_mm
config) and ``hf_llava_stream`` (weights, every spelling transformers uses).

Writing (``write_hf_llava_dir``, run by ``formats.export_hf_llava``), so models
made or fine-tuned here can be served by transformers, vLLM or SGLang. What the
export adds, as the official llava-hf conversion did:

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
* a tokenizer that tokenizes as llava_mm does: BOS first, and SentencePiece's
  ``▁`` at the start of every text segment, also after ``<image>``
  (transformers' ``legacy`` LLaMA mode, as original LLaVA's per-chunk
  tokenization and the official llava-hf tokenizers do);
* ``chat_template.jinja``: LLaVA's ``vicuna_v1`` conversation format, so
  ``processor.apply_chat_template`` renders what the model was trained on, and
  ``generation_config.json`` with llava_mm's generation settings (greedy);
* the llava_mm-only settings (prompt template, task, generation, the vocabulary
  size before the export) under the ``llava_mm`` key of ``config.json``, so
  llava-hf -> llava_mm restores them (``restore_exported``).

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
from tokenizers import pre_tokenizers
from transformers import (AddedToken, AutoTokenizer, CLIPVisionConfig, GenerationConfig, LlamaConfig, LlavaConfig,
                          LlavaProcessor)

from llava_mm.fileio import atomic_output
from llava_mm.models.builder import llava_model_config, llava_test_pipeline
from llava_mm.models.prompt import PROMPT_TEMPLATES, VICUNA_SYSTEM, resolve_template
from .hf_config import (clip_vision_config, clip_vision_kwargs, data_preprocessor_from_image_processor,
                        image_processor_config, image_processor_from_pipeline, llama_kwargs,
                        pipeline_from_image_processor, read_json)
from .key_maps import HF_LLAVA, TO_HF_LLAVA
from .llava_mm_dir import TOKENIZER_FILES
from .tensor_io import (DEFAULT_SHARD_BYTES, ShardedSafetensorsWriter, TensorSource, TensorStream, total_bytes,
                        with_progress)

try:
    from transformers import LlavaImageProcessorPil as LlavaImageProcessor
except ImportError:  # older transformers
    from transformers import LlavaImageProcessor

#: llava_mm settings an export stores in config.json so a round trip keeps them.
LLAVA_MM_EXTRAS = 'llava_mm'
#: The extras key of the embedding rows before the export added ``<image>`` and padding.
ORIGINAL_VOCAB = 'original_vocab_size'
_EXTRA_KEYS = ('prompt_template', 'task', 'caption_prompt', 'question_template', 'generation_cfg')
#: transformers' vision_feature_select_strategy -> llava_mm's feature_select, and back.
FEATURE_SELECT = {'default': 'patch', 'full': 'cls_patch'}
SELECT_STRATEGY = {v: k for k, v in FEATURE_SELECT.items()}
IMAGE_TOKEN = '<image>'
EMBED = 'language_model.model.embed_tokens.weight'
LM_HEAD = 'language_model.lm_head.weight'

#: LLaVA's ``conv_vicuna_v1.get_prompt()`` (llava/conversation.py, SeparatorStyle.TWO, sep ' ', sep2 '</s>') as a
#: transformers chat template: system prompt, then ``USER: <image>\n{text} `` / ``ASSISTANT: {text}</s>`` turns,
#: ``ASSISTANT:`` to generate. The image goes where the user puts it (LLaVA: first turn), as ``<image>\n``
#: before the text. A leading BOS, which the processor then does not add twice.
VICUNA_V1_CHAT_TEMPLATE = (
    "{%- macro text_of(content) -%}"
    "{%- if content is string -%}{{ content }}"
    "{%- else -%}{{ content | selectattr('type', 'equalto', 'text') | map(attribute='text') | join(' ') }}"
    "{%- endif -%}"
    "{%- endmacro -%}"
    "{%- macro images_of(content) -%}"
    "{%- if content is not string -%}"
    "{%- for item in content if item['type'] == 'image' -%}{{ '<image>\n' }}{%- endfor -%}"
    "{%- endif -%}"
    "{%- endmacro -%}"
    "{{- bos_token or '' -}}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{{- text_of(messages[0]['content']) -}}{%- set turns = messages[1:] -%}"
    "{%- else -%}"
    '{{- "' + VICUNA_SYSTEM + '" -}}{%- set turns = messages -%}'
    "{%- endif -%}"
    "{{- ' ' -}}"
    "{%- for message in turns -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{- 'USER: ' + images_of(message['content']) + text_of(message['content']) + ' ' -}}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- 'ASSISTANT: ' + text_of(message['content']) + eos_token -}}"
    "{%- else -%}"
    "{{- raise_exception('vicuna_v1 conversations have user and assistant turns (and one system message first), "
    "not ' + message['role']) -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'ASSISTANT:' -}}{%- endif -%}"
)


def is_hf_llava_config(raw: dict) -> bool:
    return raw.get('model_type') == 'llava' and ('text_config' in raw or 'vision_config' in raw or any(
        a.startswith('LlavaForConditionalGeneration') for a in raw.get('architectures') or ()))


def is_hf_llava_dir(path: Path) -> bool:
    """A directory with a llava-hf ``config.json`` (what an export may replace with ``force``)."""
    config = Path(path) / 'config.json'
    try:
        return config.is_file() and is_hf_llava_config(read_json(config))
    except ValueError:
        return False


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
    extras = dict(raw.get(LLAVA_MM_EXTRAS) or {})
    extras.pop(ORIGINAL_VOCAB, None)
    strategy = raw.get('vision_feature_select_strategy', 'default')
    if strategy not in FEATURE_SELECT:
        raise ValueError(f'{source}: vision_feature_select_strategy={strategy!r} is not supported '
                         f'(supported: {sorted(FEATURE_SELECT)})')
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
    model = llava_model_config(clip_vision_kwargs(vision), text, projector='mlp2x_gelu', feature_layer=layer,
                               feature_select=FEATURE_SELECT[strategy], tokenizer=str(path),
                               question_template='{question}', data_preprocessor=data_preprocessor)
    model.update(extras)
    return Config(dict(default_scope='llava_mm', model=model, test_pipeline=pipeline))


def hf_llava_stream(path: Path) -> TensorStream:
    """llava_mm-named tensors of a llava-hf directory, one at a time (with their specs up front)."""
    path = Path(path)
    raw = read_json(path / 'config.json')
    tied = bool((raw.get('text_config') or {}).get('tie_word_embeddings', raw.get('tie_word_embeddings', False)))
    source = TensorSource(path)
    specs = HF_LLAVA.convert_specs(source.dtype_shapes())
    tie = tied and LM_HEAD not in specs and EMBED in specs
    if tie:
        specs[LM_HEAD] = specs[EMBED]

    def tensors():
        for name, tensor in HF_LLAVA.convert(source):
            yield name, tensor
            if tie and name == EMBED:
                yield LM_HEAD, tensor.clone()

    return TensorStream(specs, tensors(), path)


# ---------------------------------------- export
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
    if resolve_template(model.get('prompt_template', 'vicuna_v1')) != PROMPT_TEMPLATES['vicuna_v1']:
        raise ValueError(f'Cannot export prompt_template={model.get("prompt_template")!r}: the exported chat template '
                         "renders LLaVA v1.5's vicuna_v1 format only")


def _pad_rows(tensor: torch.Tensor, rows: int) -> torch.Tensor:
    if tensor.shape[0] == rows:
        return tensor
    mean = tensor.float().mean(dim=0, keepdim=True).to(tensor.dtype)
    return torch.cat([tensor, mean.expand(rows - tensor.shape[0], -1)])


def _hf_tokenizer(tokenizer_path: str):
    """The model's tokenizer with ``<image>``, set to give llava_mm's prompt ids from the whole prompt text."""
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_tokens(AddedToken(IMAGE_TOKEN, special=True, normalized=False), special_tokens=True)
    if tokenizer.pad_token is None:  # like llava_mm (and LLaVA): pad with unk; pads are masked
        tokenizer.pad_token = tokenizer.unk_token if tokenizer.unk_token is not None else tokenizer.eos_token
    tokenizer.padding_side = 'left'
    tokenizer.chat_template = VICUNA_V1_CHAT_TEMPLATE
    if tokenizer.bos_token is not None:  # llava_mm (as LLaVA's tokenizer_image_token) starts every prompt with BOS
        tokenizer.add_bos_token = True
    backend = getattr(tokenizer, 'backend_tokenizer', None)
    pre = backend.pre_tokenizer if backend is not None else None
    if isinstance(pre, pre_tokenizers.Metaspace) and pre.prepend_scheme == 'first':
        # llava_mm tokenizes the text before and after <image> separately, each with SentencePiece's dummy
        # prefix: the whole prompt tokenizes the same only if every segment gets it ('always', legacy mode).
        pre.prepend_scheme = 'always'
        backend.pre_tokenizer = pre
        tokenizer.legacy = True
        tokenizer.init_kwargs['legacy'] = True
    return tokenizer


def hf_llava_config(cfg: Config, vocab_size: int, image_token_index: int, pad_token_id: Optional[int],
                    dtype: torch.dtype, original_vocab: int):
    """The ``LlavaConfig`` of a llava_mm config."""
    model = cfg.model
    text = {k: v for k, v in copy.deepcopy(model.language_model).items() if k != 'type'}
    text.update(vocab_size=vocab_size, pad_token_id=pad_token_id)
    tower = model.vision_tower
    vision = CLIPVisionConfig(**tower.vision_config)
    strategy = SELECT_STRATEGY[tower.get('feature_select', 'patch')]
    num_tokens = (vision.image_size // vision.patch_size) ** 2 + (strategy == 'full')
    config = LlavaConfig(vision_config=vision, text_config=LlamaConfig(**text), image_token_index=image_token_index,
                         vision_feature_layer=tower.get('feature_layer', -2),
                         vision_feature_select_strategy=strategy, projector_hidden_act='gelu',
                         multimodal_projector_bias=True, image_seq_length=num_tokens,
                         tie_word_embeddings=bool(text.get('tie_word_embeddings', False)))
    config.architectures = ['LlavaForConditionalGeneration']
    config.dtype = dtype
    extras = {k: _plain(model[k]) for k in _EXTRA_KEYS if k in model}
    setattr(config, LLAVA_MM_EXTRAS, {**extras, ORIGINAL_VOCAB: original_vocab})
    return config


def _plain(value):
    return json.loads(json.dumps(value.to_dict() if hasattr(value, 'to_dict') else value))


def _save_processor(out: Path, cfg: Config, tokenizer) -> None:
    ip = image_processor_from_pipeline(list(cfg.test_pipeline), cfg.model.get('data_preprocessor'))
    image_processor = LlavaImageProcessor(**ip)
    vision = cfg.model.vision_tower
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer,
                               patch_size=vision.vision_config.get('patch_size', 14),
                               vision_feature_select_strategy=SELECT_STRATEGY[vision.get('feature_select', 'patch')],
                               num_additional_image_tokens=1, image_token=IMAGE_TOKEN,
                               chat_template=VICUNA_V1_CHAT_TEMPLATE)
    processor.save_pretrained(str(out))
    image_processor.to_json_file(str(out / 'preprocessor_config.json'))


def write_hf_llava_dir(out: str, cfg: Config, stream: TensorStream, pad_vocab_to: int = 64, force: bool = False,
                       max_shard_bytes: int = DEFAULT_SHARD_BYTES, progress: bool = False) -> Path:
    """Write ``out``, a directory ``LlavaForConditionalGeneration`` / ``AutoProcessor`` load, from the
    llava_mm config and llava_mm-named tensors of a model (see ``formats.export_hf_llava``)."""
    _check_exportable(cfg.model)
    tokenizer = _hf_tokenizer(cfg.model.tokenizer.name_or_path)
    specs = stream.specs
    rows = specs[EMBED][1][0]
    vocab = max(rows, len(tokenizer))
    vocab += -vocab % max(1, pad_vocab_to)
    vision_dtype, (width, ) = specs['vision_tower.pre_layrnorm.weight']
    post_norm = {'vision_tower.vision_model.post_layernorm.weight': torch.ones(width, dtype=vision_dtype),
                 'vision_tower.vision_model.post_layernorm.bias': torch.zeros(width, dtype=vision_dtype)}
    hf_specs = TO_HF_LLAVA.convert_specs(specs)
    for name in (EMBED, LM_HEAD):
        if name in hf_specs:
            hf_specs[name] = (hf_specs[name][0], (vocab, ) + tuple(hf_specs[name][1][1:]))
    hf_specs.update({n: (t.dtype, tuple(t.shape)) for n, t in post_norm.items()})

    def hf_tensors():
        for name, tensor in TO_HF_LLAVA.convert(stream.tensors):
            yield name, _pad_rows(tensor, vocab) if name in (EMBED, LM_HEAD) else tensor
        yield from post_norm.items()

    with atomic_output(out, force=force, is_same_kind=is_hf_llava_dir) as tmp:
        items = with_progress(hf_tensors(), total_bytes(hf_specs), 'Exporting', progress)
        ShardedSafetensorsWriter(tmp, hf_specs, max_shard_bytes).write_all(items)
        config = hf_llava_config(cfg, vocab, tokenizer.convert_tokens_to_ids(IMAGE_TOKEN), tokenizer.pad_token_id,
                                 specs[EMBED][0], rows)
        config.save_pretrained(str(tmp))
        GenerationConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, **cfg.model.get('generation_cfg', {})).save_pretrained(
                             str(tmp))
        _save_processor(tmp, cfg, tokenizer)
    return Path(out)


# ---------------------------------------- back from an export
class _TokenizerFilesWithout:
    """A tokenizer directory's files minus the added tokens from ``first_id`` on (what the export added);
    written by ``save_pretrained`` like a tokenizer object."""

    def __init__(self, folder: Path, first_id: int) -> None:
        self.folder, self.first_id = Path(folder), first_id

    def save_pretrained(self, out_dir: str) -> None:
        for name in TOKENIZER_FILES:
            if not (self.folder / name).is_file():
                continue
            text = (self.folder / name).read_text()
            if name == 'tokenizer.json':
                data = json.loads(text)
                data['added_tokens'] = [t for t in data.get('added_tokens', []) if t['id'] < self.first_id]
                text = json.dumps(data, ensure_ascii=False)
            elif name == 'tokenizer_config.json':
                data = json.loads(text)
                decoder = data.get('added_tokens_decoder') or {}
                data['added_tokens_decoder'] = {k: v for k, v in decoder.items() if int(k) < self.first_id}
                text = json.dumps(data, indent=2, ensure_ascii=False)
            (Path(out_dir) / name).write_text(text)


def restore_exported(path: Path, cfg: Config, stream: TensorStream):
    """``(cfg, stream, tokenizer)`` of a llava_mm export as they were before it: the embedding and ``lm_head``
    rows and the tokens the export added are removed again. Other llava-hf directories pass unchanged."""
    path = Path(path)
    rows = (read_json(path / 'config.json').get(LLAVA_MM_EXTRAS) or {}).get(ORIGINAL_VOCAB)
    if rows is None:
        return cfg, stream, path
    cfg = cfg.copy()
    cfg.model.language_model.vocab_size = rows
    specs = dict(stream.specs)
    for name in (EMBED, LM_HEAD):
        if name in specs:
            specs[name] = (specs[name][0], (rows, ) + tuple(specs[name][1][1:]))

    def tensors():
        for name, tensor in stream.tensors:
            yield name, tensor[:rows] if name in (EMBED, LM_HEAD) else tensor

    return cfg, TensorStream(specs, tensors(), path), _TokenizerFilesWithout(path, rows)
