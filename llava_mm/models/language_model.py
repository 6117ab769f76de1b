"""Builders for the language model and its tokenizer.

The language model is built from an inline architecture config, so building a
model never touches the network; weights come later from a checkpoint.
"""
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from llava_mm.registry import MODELS, TOKENIZER


@MODELS.register_module(name='LlamaForCausalLM')
def build_llama(**config) -> LlamaForCausalLM:
    """A randomly initialised ``LlamaForCausalLM`` from ``LlamaConfig(**config)``."""
    return LlamaForCausalLM(LlamaConfig(**config))


@TOKENIZER.register_module(name='AutoTokenizer')
def build_tokenizer(name_or_path: str, **kwargs) -> PreTrainedTokenizerBase:
    """``AutoTokenizer.from_pretrained`` with LLaVA's padding convention.

    LLaMA has no pad token; like LLaVA we pad with ``unk`` (pads are masked, so
    the id only has to exist). Padding is on the left so batched generation
    continues every prompt from its last real token.
    """
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, **kwargs)
    except OSError as err:
        raise OSError(f'Cannot load the tokenizer from {name_or_path!r}: {err}') from err
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token if tokenizer.unk_token is not None else tokenizer.eos_token
    tokenizer.padding_side = 'left'
    return tokenizer
