"""Tiny LLaVA models made locally: the embedded default and the test fixtures.

Real 7B weights cannot be downloaded everywhere, so the real code paths run on
small models with random weights and a byte-level BPE tokenizer trained on the
spot with ``tokenizers``. Everything is seeded, so the same call makes the same
model on every machine. Their captions are gibberish by design: they show the
machinery works, not what LLaVA sees.
"""
import copy
from pathlib import Path
from typing import Dict, Literal, Optional, Union

import torch
from transformers import PreTrainedTokenizerFast

from .models.prompt import V1_EXTRA_TOKENS

Version = Literal['v1', 'v1.5']

#: A small corpus so the tokenizer knows the words of prompts, captions and answers.
CORPUS = [
    'A chat between a curious user and an artificial intelligence assistant.',
    "The assistant gives helpful, detailed, and polite answers to the user's questions.",
    'USER: ASSISTANT: Provide a one-sentence caption for the provided image.',
    'Answer the question using a single word or phrase.',
    "Answer with the option's letter from the given choices directly.",
    'A cat and a dog are sitting on a blanket in the living room.',
    'Two cats sleep on a red couch next to a window.',
    'A brown dog runs across the green grass with a ball.',
    'What animal is in the picture? How many dogs are there? What color is the cat?',
    'Is there a person in the image? yes no one two three four five six seven eight nine ten',
    'A man riding a skateboard down a street. A woman holding an umbrella in the rain.',
    'A plate of food with broccoli, rice and meat on a wooden table.',
    'The quick brown fox jumps over the lazy dog. 0 1 2 3 4 5 6 7 8 9 10 100',
    'Where is the bus? It is parked next to the building near the trees.',
]


def train_tokenizer(vocab_size: int = 600, extra_tokens=()) -> PreTrainedTokenizerFast:
    """A LLaMA-like tokenizer (``<unk>``=0, ``<s>``=1, ``</s>``=2) trained on ``CORPUS``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=['<unk>', '<s>', '</s>'],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token='<s>', eos_token='</s>',
                                        unk_token='<unk>', pad_token='<unk>')
    if extra_tokens:
        tokenizer.add_tokens(list(extra_tokens), special_tokens=True)
    return tokenizer


def tiny_model_config(version: Version = 'v1.5', vocab_size: int = 600, image_size: Optional[int] = None,
                      tokenizer_path: str = '.') -> Dict:
    """The model config of a tiny LLaVA with the real v1 / v1.5 recipe and small widths."""
    if version not in ('v1', 'v1.5'):
        raise ValueError(f"version must be 'v1' or 'v1.5', got {version!r}")
    v1 = version == 'v1'
    image_size = image_size or (224 if v1 else 336)
    return dict(
        type='Llava',
        vision_tower=dict(
            type='CLIPVisionTower',
            vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                               image_size=image_size, patch_size=14, projection_dim=16, hidden_act='quick_gelu',
                               layer_norm_eps=1e-5),
            feature_layer=-2, feature_select='patch'),
        projector=dict(type='LinearProjector' if v1 else 'MLPProjector', in_features=32, out_features=64),
        language_model=dict(
            type='LlamaForCausalLM', vocab_size=vocab_size, hidden_size=64, intermediate_size=128,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
            rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False),
        tokenizer=dict(type='AutoTokenizer', name_or_path=tokenizer_path),
        prompt_template='llava_v1' if v1 else 'vicuna_v1',
        task='caption',
        generation_cfg=dict(max_new_tokens=12, num_beams=1),
    )


def tiny_test_pipeline(version: Version = 'v1.5', image_size: Optional[int] = None) -> list:
    """The real v1 / v1.5 image pipeline at the tiny model's resolution."""
    image_size = image_size or (224 if version == 'v1' else 336)
    geometry = [dict(type='PadToSquare', background=(122, 116, 104))] if version == 'v1.5' else []
    return [
        dict(type='LoadImageFromFile', imdecode_backend='pillow'),
        *geometry,
        dict(type='ResizeShortestEdge', size=image_size, interpolation='bicubic'),
        dict(type='CenterCropSquare', size=image_size),
        dict(type='PackLlavaInputs'),
    ]


def randomize_(model: torch.nn.Module, std: float = 0.3) -> torch.nn.Module:
    """Re-draw every matrix with a wide normal so random models give varied,
    image-dependent text (transformers' 0.02 init makes them repeat one token)."""
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() > 1:
                param.normal_(0, std)
    return model


def make_tiny_model_dir(out_dir: Union[str, Path], version: Version = 'v1.5', seed: int = 0,
                        image_size: Optional[int] = None, overwrite: bool = False) -> Path:
    """Write a complete llava_mm model directory with a tiny random model."""
    from mmengine.config import Config

    from .converters import write_llava_mm_dir
    from .registry import MODELS

    tokenizer = train_tokenizer(extra_tokens=V1_EXTRA_TOKENS if version == 'v1' else ())
    model_cfg = tiny_model_config(version, vocab_size=len(tokenizer), image_size=image_size)
    torch.manual_seed(seed)
    build_cfg = copy.deepcopy(model_cfg)
    build_cfg['tokenizer'] = tokenizer
    model = randomize_(MODELS.build(build_cfg))
    cfg = Config(dict(default_scope='llava_mm', model=model_cfg,
                      test_pipeline=tiny_test_pipeline(version, image_size)))
    return write_llava_mm_dir(out_dir, model.state_dict(), cfg, tokenizer, overwrite=overwrite)
