"""Conversation templates and LLaVA's image-aware tokenization.

Tokenization follows original LLaVA's ``tokenizer_image_token``: the prompt is
split at ``<image>``, BOS is put once at the start, each chunk is tokenized
as LLaVA's slow SentencePiece ``LlamaTokenizer`` tokenized it (without BOS),
and the image position is marked with ``IMAGE_TOKEN_INDEX`` where the model
later splices the image features.
"""
import json
import re
from typing import List, Optional, Tuple

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


def _prepend_scheme(tokenizer: PreTrainedTokenizerBase) -> Optional[str]:
    """The ``Metaspace`` prepend scheme of a SentencePiece-style fast tokenizer (``None`` for byte-level BPE)."""
    pre_tokenizer = getattr(getattr(tokenizer, 'backend_tokenizer', None), 'pre_tokenizer', None)
    if pre_tokenizer is None:
        return None

    def find(node):
        if isinstance(node, dict):
            if node.get('type') == 'Metaspace':
                return node.get('prepend_scheme', 'always' if node.get('add_prefix_space', True) else 'never')
            return next((found for v in node.values() if (found := find(v)) is not None), None)
        if isinstance(node, list):
            return next((found for v in node if (found := find(v)) is not None), None)
        return None

    return find(json.loads(pre_tokenizer.__getstate__()))


def _fast_encode(tokenizer: PreTrainedTokenizerBase, text: str, shift: int = 0):
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return list(enc['input_ids']), [(max(a - shift, 0), max(b - shift, 0)) for a, b in enc['offset_mapping']]


def _encode_chunk(tokenizer: PreTrainedTokenizerBase, text: str) -> Tuple[List[int], List[Tuple[int, int]]]:
    """Ids and character spans of one text chunk, the ids as LLaVA's slow LLaMA tokenizer gave them.

    The slow SentencePiece ``LlamaTokenizer`` (transformers 4.3x) and the fast
    one differ on text that starts with a space or an added token:

    * ``legacy=False`` (fast: ``Metaspace`` prepend "first"): the slow one puts
      ``▁`` before every call's text, even one starting with a space or with
      ``<im_end>``, and drops it only before bos/eos/unk/pad; the fast one adds
      it only when the text does not already start with a space. Tokenizing
      ``' ' + text`` with the fast one gives the slow ids.
    * ``legacy=True`` (prepend "always"): the slow one runs sentencepiece,
      dummy prefix included, on each piece between added tokens; the fast one
      skips the prefix on a piece starting with a space. Each piece is
      tokenized as ``' ' + piece``.

    Byte-level BPE tokenizers are used as they are. Spans refer to ``text``.
    """
    scheme = _prepend_scheme(tokenizer)
    if scheme == 'first':
        ids, spans = _fast_encode(tokenizer, ' ' + text, shift=1)
        specials = {i for i in tokenizer.all_special_ids if i is not None}
        if len(ids) > 1 and tokenizer.convert_ids_to_tokens(ids[0]) == '▁' and ids[1] in specials:
            ids, spans = ids[1:], spans[1:]
        return ids, spans
    if scheme != 'always':
        return _fast_encode(tokenizer, text)
    added = sorted((t.content for t in tokenizer.added_tokens_decoder.values()), key=len, reverse=True)
    ids, spans, pos = [], [], 0
    for piece in re.split('(' + '|'.join(map(re.escape, added)) + ')', text) if added else [text]:
        if piece in added:
            ids.append(tokenizer.convert_tokens_to_ids(piece))
            spans.append((pos, pos + len(piece)))
        elif piece:
            piece_ids, piece_spans = _fast_encode(tokenizer, ' ' + piece, shift=1)
            ids.extend(piece_ids)
            spans.extend((pos + a, pos + b) for a, b in piece_spans)
        pos += len(piece)
    return ids, spans


def tokenize_with_image_offsets(tokenizer: PreTrainedTokenizerBase,
                                prompt: str) -> Tuple[List[int], List[Tuple[int, int]]]:
    """``tokenize_with_image`` plus each token's ``(start, end)`` characters in ``prompt``.

    BOS gets ``(0, 0)``; an image position gets the span of its ``<image>``.
    Labels are derived from these spans (see ``llava_mm.models.conversation``).
    """
    ids: List[int] = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]
    spans: List[Tuple[int, int]] = [(0, 0)] * len(ids)
    pos = 0
    for i, chunk in enumerate(prompt.split(IMAGE_TOKEN)):
        if i > 0:
            ids.append(IMAGE_TOKEN_INDEX)
            spans.append((pos, pos + len(IMAGE_TOKEN)))
            pos += len(IMAGE_TOKEN)
        if chunk:
            chunk_ids, chunk_spans = _encode_chunk(tokenizer, chunk)
            ids.extend(chunk_ids)
            spans.extend((pos + a, pos + b) for a, b in chunk_spans)
        pos += len(chunk)
    return ids, spans


def tokenize_with_image(tokenizer: PreTrainedTokenizerBase, prompt: str) -> List[int]:
    """Token ids of ``prompt`` with ``IMAGE_TOKEN_INDEX`` at each ``<image>``."""
    return tokenize_with_image_offsets(tokenizer, prompt)[0]
