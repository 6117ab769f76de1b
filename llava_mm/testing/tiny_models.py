"""Tiny LLaVA models made locally: test and benchmark fixtures.

Real 7B weights cannot be downloaded everywhere, so the real code paths run on
small models with random weights and a tokenizer trained on the spot.
Everything is seeded, so the same call makes the same model on every machine.
"""
import copy
import tempfile
from pathlib import Path
from typing import Dict, Literal, Optional, Union

import torch
from mmengine.config import Config

from llava_mm.converters import write_llava_mm_dir
from llava_mm.models.builder import llava_model_config, llava_test_pipeline
from llava_mm.models.prompt import V1_EXTRA_TOKENS
from llava_mm.registry import MODELS
from llava_mm.models.language_model import build_tokenizer
from .tokenizers import train_bpe_tokenizer, train_sentencepiece_tokenizer, write_sentencepiece_tokenizer

Version = Literal['v1', 'v1.5']
TokenizerKind = Literal['bpe', 'sentencepiece']


def tiny_model_config(version: Version = 'v1.5', vocab_size: int = 600, image_size: Optional[int] = None,
                      tokenizer_path: str = '.') -> Dict:
    """The model config of a tiny LLaVA with the real v1 / v1.5 recipe and small widths."""
    if version not in ('v1', 'v1.5'):
        raise ValueError(f"version must be 'v1' or 'v1.5', got {version!r}")
    v1 = version == 'v1'
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                  image_size=image_size or (224 if v1 else 336), patch_size=14, projection_dim=16,
                  hidden_act='quick_gelu', layer_norm_eps=1e-5)
    text = dict(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048, rms_norm_eps=1e-5,
                bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
    return llava_model_config(vision, text, projector='linear' if v1 else 'mlp2x_gelu', tokenizer=tokenizer_path,
                              prompt_template='llava_v1' if v1 else 'vicuna_v1',
                              generation_cfg=dict(max_new_tokens=12, num_beams=1))


def tiny_test_pipeline(version: Version = 'v1.5', image_size: Optional[int] = None) -> list:
    """The real v1 / v1.5 image pipeline at the tiny model's resolution."""
    return llava_test_pipeline(image_size or (224 if version == 'v1' else 336), pad_to_square=version == 'v1.5')


def randomize_(model: torch.nn.Module, std: float = 0.3) -> torch.nn.Module:
    """Re-draw every matrix with a wide normal so random models give varied,
    image-dependent text (transformers' 0.02 init makes them repeat one token)."""
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() > 1:
                param.normal_(0, std)
    return model


def make_tiny_model_dir(out_dir: Union[str, Path], version: Version = 'v1.5', seed: int = 0,
                        image_size: Optional[int] = None, overwrite: bool = False,
                        tokenizer: TokenizerKind = 'bpe') -> Path:
    """Write a complete llava_mm model directory with a tiny random model."""
    extra = V1_EXTRA_TOKENS if version == 'v1' else ()
    with tempfile.TemporaryDirectory() as tmp:
        if tokenizer == 'bpe':
            tok = saved = train_bpe_tokenizer(extra_tokens=extra)
        elif tokenizer == 'sentencepiece' and not extra:
            # Shipped as liuhaotian/* ship it: tokenizer.model + tokenizer_config.json, copied verbatim.
            saved = str(write_sentencepiece_tokenizer(tmp))
            tok = build_tokenizer(saved)
        elif tokenizer == 'sentencepiece':
            tok = saved = train_sentencepiece_tokenizer(extra_tokens=extra)
        else:
            raise ValueError(f"tokenizer must be 'bpe' or 'sentencepiece', got {tokenizer!r}")
        model_cfg = tiny_model_config(version, vocab_size=len(tok), image_size=image_size)
        torch.manual_seed(seed)
        build_cfg = copy.deepcopy(model_cfg)
        build_cfg['tokenizer'] = tok
        model = randomize_(MODELS.build(build_cfg))
        cfg = Config(dict(default_scope='llava_mm', model=model_cfg,
                          test_pipeline=tiny_test_pipeline(version, image_size)))
        return write_llava_mm_dir(out_dir, model.state_dict(), cfg, saved, overwrite=overwrite)
