"""LLaVA: CLIP vision tower -> projector -> LLaMA causal LM.

Data flow (one readable path, as in transformers' ``modeling_llava``):

1. ``encode_images``: pixels -> vision tower (penultimate layer, patch tokens)
   -> projector -> one embedding per image patch.
2. ``build_prompts``: question -> conversation template -> token ids with an
   ``IMAGE_TOKEN_INDEX`` marker (BOS once, chunks without special tokens).
3. ``embed_prompts``: text embeddings with the image features spliced in at the
   marker, left-padded with an attention mask, plus position ids that skip the
   padding.
4. ``predict``: the language model generates from those embeddings with a KV
   cache (greedy or beam search); the decoded text becomes ``pred_caption`` or
   ``pred_answer`` on mmpretrain ``DataSample`` s.
"""
import copy
import difflib
from typing import Dict, List, Literal, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import nn
from transformers import GenerationConfig, PreTrainedTokenizerBase

from llava_mm.registry import MODELS, TOKENIZER
from .conversation import encode_conversation
from .data_preprocessor import build_data_preprocessor
from .prompt import (IGNORE_INDEX, IMAGE_TOKEN, IMAGE_TOKEN_INDEX, PROMPT_TEMPLATES, format_prompt,
                     resolve_template, tokenize_with_image)

DEFAULT_CAPTION_PROMPT = 'Provide a one-sentence caption for the provided image.'
DEFAULT_GENERATION_CFG = dict(max_new_tokens=128, num_beams=1, do_sample=False)
PARTS = ('vision_tower', 'projector', 'language_model')
#: The language model's linear layers LoRA adapts (LLaMA names; never CLIP's q/k/v_proj, never lm_head).
LORA_TARGETS = ('q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj')


#: ``generate`` arguments that are not ``GenerationConfig`` fields.
_GENERATE_KWARGS = frozenset({'streamer', 'logits_processor', 'stopping_criteria', 'prefix_allowed_tokens_fn',
                              'synced_gpus', 'assistant_model', 'negative_prompt_ids', 'tokenizer'})


def check_generation_cfg(cfg: Dict, where: str = 'generation_cfg') -> Dict:
    """Unknown keys (typos such as ``max_new_token``) and invalid values fail when the model is built."""
    known = set(GenerationConfig().to_dict()) | _GENERATE_KWARGS
    for key in cfg:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f'; did you mean {close[0]!r}?' if close else ''
            raise ValueError(f'{where}: unknown generation option {key!r}{hint}')
    try:
        GenerationConfig(**{k: v for k, v in cfg.items() if k not in _GENERATE_KWARGS}).validate(strict=True)
    except ValueError as err:
        raise ValueError(f'{where}: {err}') from None
    return cfg


@MODELS.register_module()
class Llava(BaseModel):
    """LLaVA v1 / v1.5 for captioning and visual question answering.

    Args:
        vision_tower: config of the vision tower (``CLIPVisionTower``).
        projector: config of ``LinearProjector`` (v1) or ``MLPProjector`` (v1.5).
        language_model: config of the causal LM (``LlamaForCausalLM`` with its
            architecture inline).
        tokenizer: tokenizer config (``AutoTokenizer`` + ``name_or_path``) or a
            tokenizer. Loaded on first use, so building the model is offline.
        prompt_template: a name in ``PROMPT_TEMPLATES`` or a string with
            ``<image>`` and ``{question}``.
        task: ``'caption'``: samples without a question are captioned
            (``pred_caption``); ``'vqa'``: every sample needs a ``question``.
            Samples with a question always get ``pred_answer``.
        caption_prompt: the question asked for captions.
        question_template: how a VQA question is put to the model, e.g.
            ``'{question}\\nAnswer the question using a single word or phrase.'``.
        generation_cfg: keyword arguments for ``generate``; overridable per call.
        freeze: the parts whose weights do not train: any of ``'vision_tower'``
            (LLaVA's default), ``'projector'``, ``'language_model'``. Stage 1
            trains the projector only, stage 2 projector + language model.
        lora: LoRA on the language model's linear layers (``peft.LoraConfig``
            keyword arguments, e.g. ``dict(r=128, lora_alpha=256,
            lora_dropout=0.05)``); applied by ``prepare_for_training`` after the
            base weights are loaded. CLIP's layers are never adapted.
        gradient_checkpointing: recompute the language model's activations in
            the backward pass (less memory, ~30% more compute).
        quantization: QLoRA: the language model's linear layers in 4 bits
            (``dict(quant_type='nf4', compute_dtype='bfloat16')``), with ``lora``
            on top; needs a CUDA GPU and ``bitsandbytes``.
        data_preprocessor: defaults to ``LlavaDataPreprocessor``.
    """

    def __init__(self,
                 vision_tower: dict,
                 projector: dict,
                 language_model: dict,
                 tokenizer: Union[dict, PreTrainedTokenizerBase],
                 prompt_template: str = 'vicuna_v1',
                 task: Literal['caption', 'vqa'] = 'caption',
                 caption_prompt: str = DEFAULT_CAPTION_PROMPT,
                 question_template: str = '{question}',
                 generation_cfg: Optional[dict] = None,
                 freeze: Sequence[str] = ('vision_tower', ),
                 lora: Optional[dict] = None,
                 gradient_checkpointing: bool = False,
                 quantization: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=build_data_preprocessor(data_preprocessor), init_cfg=init_cfg)
        if task not in ('caption', 'vqa'):
            raise ValueError(f"task must be 'caption' or 'vqa', got {task!r}")
        if '{question}' not in question_template:
            raise ValueError(f"question_template must contain '{{question}}', got {question_template!r}")
        self.vision_tower = MODELS.build(vision_tower)
        self.projector = MODELS.build(projector)
        self.language_model = MODELS.build(language_model)
        self.prompt_template = resolve_template(prompt_template)
        #: The conversation template training and chat render with (``None`` for a custom template string).
        self.template_name: Optional[str] = prompt_template if prompt_template in PROMPT_TEMPLATES else None
        self.task = task
        self.caption_prompt = caption_prompt
        self.question_template = question_template
        self.generation_cfg = check_generation_cfg({**DEFAULT_GENERATION_CFG, **(generation_cfg or {})})
        freeze = (freeze, ) if isinstance(freeze, str) else tuple(freeze)
        unknown = sorted(set(freeze) - set(PARTS))
        if unknown:
            raise ValueError(f'freeze: unknown part(s) {unknown}; the parts are {list(PARTS)}')
        self.freeze = tuple(freeze)
        for part in self.freeze:
            getattr(self, part).requires_grad_(False)
        self.vision_tower.unused_layers.requires_grad_(False)
        self.lora = dict(lora) if lora else None
        self.gradient_checkpointing = gradient_checkpointing
        self.quantization = dict(quantization) if quantization else None
        if self.quantization and not self.lora:
            raise ValueError('quantization (QLoRA) trains LoRA adapters on a 4-bit model: set lora= too')
        self._tokenizer_cfg = tokenizer
        self._tokenizer: Optional[PreTrainedTokenizerBase] = (
            None if isinstance(tokenizer, dict) else tokenizer)
        #: The config the model was built from (``model`` + ``test_pipeline``), set by ``get_model``;
        #: ``inference_model`` and ``chat`` read its ``test_pipeline``. ``None`` for a model built
        #: directly with ``MODELS.build``: then LLaVA v1.5's pipeline at the tower's resolution is used.
        self.cfg = None

    # ------------------------------------------------------------------ parts
    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The tokenizer, loaded on first use."""
        if self._tokenizer is None:
            tokenizer = TOKENIZER.build(copy.deepcopy(self._tokenizer_cfg))
            num_embeddings = self.language_model.get_input_embeddings().num_embeddings
            if len(tokenizer) > num_embeddings:
                raise ValueError(f'The tokenizer {self._tokenizer_cfg} has {len(tokenizer)} tokens but the '
                                 f'language model only {num_embeddings} embeddings')
            self._tokenizer = tokenizer
        return self._tokenizer

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """Normalized pixels (B, 3, H, W) -> projected features (B, N, hidden)."""
        features = self.vision_tower(images)
        return self.projector(features.to(self.projector.linear_1.weight.dtype))

    # ---------------------------------------------------------------- prompts
    def question_for(self, data_sample: Optional[DataSample]) -> str:
        """The question put to the model: the sample's ``question`` through
        ``question_template``, or for a caption model without one, ``caption_prompt``."""
        question = None if data_sample is None else data_sample.get('question')
        if question:
            return self.question_template.replace('{question}', question)
        if self.task == 'caption':
            return self.caption_prompt
        raise ValueError('This is a VQA model: every image needs a question '
                         '(inference_model(model, image, question) or a `question` on the data sample).')

    def build_prompts(self, data_samples: Sequence[DataSample]) -> List[List[int]]:
        """Token ids (with ``IMAGE_TOKEN_INDEX``) of each sample's prompt."""
        return [
            tokenize_with_image(self.tokenizer, format_prompt(self.prompt_template, self.question_for(ds)))
            for ds in data_samples
        ]

    def embed_prompts(self,
                      token_ids: Sequence[Sequence[int]],
                      image_features: Sequence[torch.Tensor],
                      labels: Optional[Sequence[Sequence[int]]] = None,
                      padding_side: Literal['left', 'right'] = 'left',
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Splice image features into the prompt embeddings and pad the batch.

        ``image_features[i]`` replaces the ``IMAGE_TOKEN_INDEX`` of prompt ``i``;
        a text-only prompt has no marker and zero-length features (still
        concatenated, so every part of the model is in the graph of every rank,
        as DDP and ZeRO-3 need). Generation pads on the left, training on the
        right. Returns ``(inputs_embeds, attention_mask, position_ids, labels)``;
        the labels of image positions and padding are ``IGNORE_INDEX``.
        """
        embed_tokens = self.language_model.get_input_embeddings()
        device = embed_tokens.weight.device
        rows = [torch.as_tensor(ids, device=device) for ids in token_ids]
        # One lookup for the whole batch: each embedding call's backward fills a vocab x hidden gradient.
        flat = torch.cat(rows)
        texts = torch.split(embed_tokens(flat.masked_fill(flat == IMAGE_TOKEN_INDEX, 0)), [len(r) for r in rows])
        sequences, label_rows = [], []
        for i, (ids, text, features) in enumerate(zip(rows, texts, image_features)):
            where = (ids == IMAGE_TOKEN_INDEX).nonzero().flatten().tolist()
            expected = 1 if features.shape[0] else 0
            if len(where) != expected:
                raise ValueError(f'Prompt {i} must contain {expected} image token(s) for its '
                                 f'{"image" if expected else "text-only sample"}, found {len(where)}')
            pos = where[0] if where else len(ids)
            sequences.append(torch.cat([text[:pos], features.to(text.dtype), text[pos + 1:]]))
            if labels is not None:
                row = torch.as_tensor(labels[i], device=device)
                ignore = row.new_full((features.shape[0], ), IGNORE_INDEX)
                label_rows.append(torch.cat([row[:pos], ignore, row[pos + 1:]]))
        max_len = max(seq.shape[0] for seq in sequences)
        context = getattr(self.language_model.config, 'max_position_embeddings', None)
        if context is not None and max_len > context:
            raise ValueError(f'A prompt of {max_len} tokens (image features included) is longer than the language '
                             f'model\'s context of {context} tokens')

        def pad(row: torch.Tensor, value) -> torch.Tensor:
            filler = row.new_full((max_len - row.shape[0], ) + tuple(row.shape[1:]), value)
            return torch.cat([filler, row] if padding_side == 'left' else [row, filler])

        inputs_embeds = torch.stack([pad(seq, 0) for seq in sequences])
        attention_mask = torch.stack([pad(torch.ones(len(seq), dtype=torch.long, device=device), 0)
                                      for seq in sequences])
        padded_labels = None if labels is None else torch.stack([pad(row, IGNORE_INDEX) for row in label_rows])
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        return inputs_embeds, attention_mask, position_ids, padded_labels

    # ---------------------------------------------------------------- forward
    def forward(self,
                images: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'predict',
                **kwargs):
        """``mode='predict'``: DataSamples with predictions; ``'tensor'``: prompt
        logits (B, L, vocab), left-padded; ``'loss'``: language-modelling loss on
        the answers (``gt_answer`` / ``answer`` of each data sample)."""
        if data_samples is None:
            data_samples = [DataSample() for _ in range(images.shape[0])]
        if mode == 'predict':
            return self.predict(images, data_samples, **kwargs)
        if mode == 'tensor':
            embeds, mask, positions, _ = self.embed_prompts(self.build_prompts(data_samples),
                                                            self.features_per_sample(images, data_samples))
            return self.language_model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions).logits
        if mode == 'loss':
            return self.loss(images, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}": use "predict", "tensor" or "loss".')

    def loss(self, images: Optional[torch.Tensor], data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Next-token loss (mean over supervised tokens, as transformers' causal LMs compute it).

        Samples carry ``input_ids`` / ``labels`` (``encode_conversation``: the
        training datasets) or a ``question`` and an ``answer`` / ``gt_answer``
        (a one-round conversation). ``images`` holds the images of the samples
        that have one (``has_image``, default true), in order. Right padding.
        """
        token_ids, labels = zip(*(self.training_targets(ds) for ds in data_samples))
        embeds, mask, positions, labels = self.embed_prompts(
            token_ids, self.features_per_sample(images, data_samples), labels, padding_side='right')
        out = self.language_model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions, labels=labels)
        return {'loss': out.loss, 'num_tokens': mask.sum().float()}

    def training_targets(self, data_sample: DataSample) -> Tuple[List[int], List[int]]:
        """``(input_ids, labels)`` of one sample."""
        if 'input_ids' in data_sample:
            return list(data_sample.input_ids), list(data_sample.labels)
        answer = data_sample.get('answer', data_sample.get('gt_answer'))
        if isinstance(answer, (list, tuple)):
            answer = answer[0]
        if not answer:
            raise ValueError("mode='loss' needs `input_ids`/`labels` or an `answer` (or `gt_answer`) on every "
                             'data sample')
        if self.template_name is None:
            raise ValueError("mode='loss' on question/answer samples needs a named prompt_template "
                             f'({sorted(PROMPT_TEMPLATES)}); with a custom template give samples input_ids/labels')
        # Prompt and answer as one text, so the answer is tokenized as in training (no spurious '▁').
        turns = [{'from': 'human', 'value': IMAGE_TOKEN + '\n' + self.question_for(data_sample)},
                 {'from': 'gpt', 'value': answer}]
        encoded = encode_conversation(turns, self.tokenizer, self.template_name)
        return encoded['input_ids'], encoded['labels']

    def features_per_sample(self, images: Optional[torch.Tensor],
                            data_samples: Sequence[DataSample]) -> List[torch.Tensor]:
        """Projected image features of each sample; zero rows for a text-only one.

        A batch without any image still runs the vision tower and projector (on a
        blank image, of which no feature is used) so every rank's graph holds the
        same parameters: DDP and ZeRO-3 would hang otherwise.
        """
        flags = [bool(ds.get('has_image', True)) for ds in data_samples]
        num_images = 0 if images is None else images.shape[0]
        if num_images != sum(flags):
            raise ValueError(f'{num_images} image(s) for {sum(flags)} sample(s) with an image')
        if images is None or num_images == 0:
            size = self.vision_tower.config.image_size
            blank = torch.zeros(1, 3, size, size, device=self.projector.linear_1.weight.device)
            empty = self.encode_images(blank)[0, :0]
            return [empty for _ in data_samples]
        features = self.encode_images(images)
        out, k = [], 0
        for has_image in flags:
            out.append(features[k] if has_image else features[0, :0])
            k += has_image
        return out

    # --------------------------------------------------------------- training
    def init_weights(self) -> None:
        """Nothing to do: parts are initialised when built and weights are loaded before training.

        mmengine's Runner calls ``init_weights`` at the start of ``train()``; the
        default would call transformers' ``init_weights`` and re-draw the
        language model that ``load_from`` just loaded.
        """

    def prepare_for_training(self) -> 'Llava':
        """Apply 4-bit quantization, LoRA and gradient checkpointing (after the base weights are loaded)."""
        if self.quantization:
            self._quantize_language_model()
        if self.lora and not self.has_lora:
            from peft import LoraConfig, get_peft_model
            options = {'target_modules': list(LORA_TARGETS), 'bias': 'none', **self.lora}
            self.language_model = get_peft_model(self.language_model, LoraConfig(task_type='CAUSAL_LM', **options))
        if self.gradient_checkpointing:
            lm = self.language_model
            if hasattr(lm, 'activation_checkpointing_enable'):  # transformers >= 5.24; the old name is deprecated
                lm.activation_checkpointing_enable(activation_checkpointing_kwargs={'use_reentrant': False})
            else:
                lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={'use_reentrant': False})
            self.language_model.config.use_cache = False
        return self

    def _quantize_language_model(self) -> None:
        """QLoRA's 4-bit NormalFloat base: every linear layer of the language model but ``lm_head``."""
        if not torch.cuda.is_available():
            raise RuntimeError('quantization (QLoRA, 4-bit nf4) needs a CUDA GPU: bitsandbytes has no CPU kernels '
                               'for training. Use the LoRA config (llava-7b-v1.5_finetune_lora.py) on this machine.')
        try:
            import bitsandbytes as bnb
        except ImportError:
            raise RuntimeError('quantization (QLoRA) needs bitsandbytes: pip install bitsandbytes') from None
        options = {'quant_type': 'nf4', 'compute_dtype': 'bfloat16', **self.quantization}
        compute_dtype = getattr(torch, options.pop('compute_dtype'))
        lm = self.language_model
        for name, module in list(lm.named_modules()):
            for child_name, child in list(module.named_children()):
                if isinstance(child, nn.Linear) and f'{name}.{child_name}'.strip('.') != 'lm_head':
                    q = bnb.nn.Linear4bit(child.in_features, child.out_features, bias=child.bias is not None,
                                          compute_dtype=compute_dtype, **options)
                    q.weight = bnb.nn.Params4bit(child.weight.data.cpu(), requires_grad=False,
                                                 quant_type=options['quant_type'])
                    if child.bias is not None:
                        q.bias = nn.Parameter(child.bias.data, requires_grad=False)
                    setattr(module, child_name, q.cuda())  # moving to the GPU quantizes

    @property
    def has_lora(self) -> bool:
        return hasattr(self.language_model, 'merge_and_unload')

    def merge_lora(self) -> 'Llava':
        """Fold the LoRA weights into the language model (a plain ``LlamaForCausalLM`` again)."""
        if self.has_lora:
            self.language_model = self.language_model.merge_and_unload()
        self.lora = None
        return self

    @torch.no_grad()
    def generate(self, images: torch.Tensor, data_samples: Sequence[DataSample],
                 **generation_kwargs) -> List[str]:
        """Decoded, stripped completions of each sample's prompt."""
        return self.generate_from_ids(images, self.build_prompts(data_samples), **generation_kwargs)

    @torch.no_grad()
    def generate_from_ids(self, images: torch.Tensor, prompt_ids: Sequence[Sequence[int]],
                          **generation_kwargs) -> List[str]:
        """Decoded, stripped completions of prompts given as token ids (one ``IMAGE_TOKEN_INDEX`` each).

        ``generation_kwargs`` override ``generation_cfg`` and go to transformers'
        ``generate`` (e.g. ``streamer=`` for streaming, ``do_sample``/``temperature``).
        """
        cfg = {**self.generation_cfg, **check_generation_cfg(generation_kwargs, 'generation arguments')}
        tokenizer = self.tokenizer
        embeds, mask, _, _ = self.embed_prompts(prompt_ids, list(self.encode_images(images)))
        cfg.setdefault('eos_token_id', tokenizer.eos_token_id)
        cfg.setdefault('pad_token_id', tokenizer.pad_token_id)
        # Only inputs_embeds are passed, so the output holds the new tokens only.
        output_ids = self.language_model.generate(inputs_embeds=embeds, attention_mask=mask, **cfg)
        return [text.strip() for text in tokenizer.batch_decode(output_ids, skip_special_tokens=True)]

    def predict(self, images: torch.Tensor, data_samples: List[DataSample],
                **generation_kwargs) -> List[DataSample]:
        """Samples with a question get ``pred_answer``; the others ``pred_caption``."""
        texts = self.generate(images, data_samples, **generation_kwargs)
        for ds, text in zip(data_samples, texts):
            ds.set_field(text, 'pred_answer' if ds.get('question') else 'pred_caption')
        return data_samples
