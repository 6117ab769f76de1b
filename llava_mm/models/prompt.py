"""Conversation templates and LLaVA's image-aware tokenization.

Tokenization follows original LLaVA's ``tokenizer_image_token``: the prompt is
split at ``<image>``, BOS is put once at the start, each chunk is tokenized
without special tokens, and the image position is marked with
``IMAGE_TOKEN_INDEX`` where the model later splices the image features.
"""
from typing import List

from transformers import PreTrainedTokenizerBase

IMAGE_TOKEN = '<image>'
IMAGE_TOKEN_INDEX = -200
IGNORE_INDEX = -100

VICUNA_SYSTEM = ('A chat between a curious user and an artificial intelligence assistant. '
                 "The assistant gives helpful, detailed, and polite answers to the user's questions.")

#: The templates LLaVA was trained with (``conv_vicuna_v1`` in original LLaVA).
PROMPT_TEMPLATES = {
    # LLaVA v1.5: the image sits on its own line before the question.
    'vicuna_v1': VICUNA_SYSTEM + ' USER: <image>\n{question} ASSISTANT:',
    # LLaVA v1 (Lightning / delta v1-1): the image is wrapped in <im_start>/<im_end>.
    'llava_v1': VICUNA_SYSTEM + ' USER: <im_start><image><im_end>\n{question} ASSISTANT:',
}

#: Tokens LLaVA v1 added to the LLaMA vocabulary (32000 -> 32003).
V1_EXTRA_TOKENS = ('<im_patch>', '<im_start>', '<im_end>')


def resolve_template(template: str) -> str:
    """A template name from ``PROMPT_TEMPLATES`` or a literal template string."""
    template = PROMPT_TEMPLATES.get(template, template)
    if template.count(IMAGE_TOKEN) != 1:
        raise ValueError(f'prompt_template must contain {IMAGE_TOKEN!r} exactly once, got {template!r} '
                         f'(known names: {sorted(PROMPT_TEMPLATES)})')
    if '{question}' not in template:
        raise ValueError(f"prompt_template must contain '{{question}}', got {template!r}")
    return template


def format_prompt(template: str, question: str) -> str:
    """Fill ``{question}`` without interpreting other braces in the question."""
    return template.replace('{question}', question)


def tokenize_with_image(tokenizer: PreTrainedTokenizerBase, prompt: str) -> List[int]:
    """Token ids of ``prompt`` with ``IMAGE_TOKEN_INDEX`` at each ``<image>``."""
    ids: List[int] = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]
    for i, chunk in enumerate(prompt.split(IMAGE_TOKEN)):
        if i > 0:
            ids.append(IMAGE_TOKEN_INDEX)
        if chunk:
            ids.extend(tokenizer(chunk, add_special_tokens=False).input_ids)
    return ids
