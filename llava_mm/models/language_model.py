"""Builders for the language model and its tokenizer.

The language model is built from an inline architecture config, so building a
model never touches the network; weights come later from a checkpoint.
"""
import os
from typing import Optional

from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from llava_mm.registry import MODELS, TOKENIZER


@MODELS.register_module(name='LlamaForCausalLM')
def build_llama(**config) -> LlamaForCausalLM:
    """A randomly initialised ``LlamaForCausalLM`` from ``LlamaConfig(**config)``."""
    return LlamaForCausalLM(LlamaConfig(**config))


def _offline() -> bool:
    return os.environ.get('HF_HUB_OFFLINE', '').strip().lower() in ('1', 'true', 'yes', 'on')


def _looks_local(name: str) -> bool:
    """A path a user meant as a folder: absolute, ``./``/``../``/``~``, or more than ``owner/name``."""
    return (os.path.isabs(name) or name.startswith(('.', '~')) or name.count('/') > 1 or '\\' in name
            or os.path.exists(name))


def _declared_class(name_or_path: str, kwargs: dict) -> Optional[type]:
    """The class ``tokenizer_config.json`` names, or ``None`` to let ``AutoTokenizer`` choose.

    ``AutoTokenizer`` prefers the model type of a ``config.json`` next to the
    tokenizer; for ``model_type: llava`` (original LLaVA and llava-hf
    snapshots) that is a generic class that tokenizes the same
    ``tokenizer.model`` differently than ``LlamaTokenizer`` does, so the same
    files would give other ids depending on the folder they sit in.
    """
    from transformers.models.auto.tokenization_auto import get_tokenizer_config, tokenizer_class_from_name

    hub_keys = ('cache_dir', 'revision', 'token', 'local_files_only', 'subfolder')
    config = get_tokenizer_config(name_or_path, **{k: v for k, v in kwargs.items() if k in hub_keys})
    class_name = config.get('tokenizer_class')
    if not class_name:
        return None
    cls = tokenizer_class_from_name(class_name) or tokenizer_class_from_name(class_name.removesuffix('Fast'))
    if cls is not None and cls.__name__.removesuffix('Fast') == 'LlamaTokenizer' and 'legacy' not in config:
        # transformers < 5 (what LLaVA ran) read a missing ``legacy`` as True; 5 reads it as False.
        kwargs.setdefault('legacy', True)
    return cls


@TOKENIZER.register_module(name='AutoTokenizer')
def build_tokenizer(name_or_path: str, **kwargs) -> PreTrainedTokenizerBase:
    """The tokenizer class ``tokenizer_config.json`` declares, with LLaVA's padding convention.

    * The declared class is used however the folder is reached (see
      ``_declared_class``); ``AutoTokenizer`` decides only when none is declared.
    * A local-looking path that is not a folder, or a hub id with
      ``HF_HUB_OFFLINE=1`` that is not cached, fails at once with one line
      (no minutes of hub retries).
    * LLaMA has no pad token; like LLaVA we pad with ``unk`` (pads are
      masked, so the id only has to exist). Padding is on the left so batched
      generation continues every prompt from its last real token.
    """
    name_or_path = os.fspath(name_or_path)
    if not os.path.isdir(name_or_path):
        if _looks_local(name_or_path):
            raise FileNotFoundError(f'Cannot load the tokenizer: {name_or_path!r} is not a directory')
        if _offline():
            kwargs.setdefault('local_files_only', True)
    try:
        cls = _declared_class(name_or_path, kwargs) or AutoTokenizer
        tokenizer = cls.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError) as err:
        where = ('a local directory' if os.path.isdir(name_or_path) else
                 'not a local directory nor in the Hugging Face cache (HF_HUB_OFFLINE is set)'
                 if kwargs.get('local_files_only') else 'not a local directory; looked it up on the Hugging Face hub')
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise OSError(f'Cannot load the tokenizer from {name_or_path!r} ({where}): {first_line}') from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token if tokenizer.unk_token is not None else tokenizer.eos_token
    tokenizer.padding_side = 'left'
    return tokenizer
