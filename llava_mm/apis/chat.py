"""Multi-turn chat about one image: ``chat`` returns the reply, ``stream_chat`` yields it as it is generated.

The prompt is rendered by the same conversation encoder as training
(``encode_chat_prompt``: ``</s>`` after each earlier assistant reply, the image
on the first user turn), so what the model sees at chat time is what it was
trained on. Generation stops at the tokenizer's ``</s>``. Streamed pieces are
only sent once later tokens cannot change them, so they join to ``chat``'s reply.
"""
import re
import warnings
from queue import Queue
from threading import Thread
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.dataset import pseudo_collate
from torch import nn
from transformers import PreTrainedTokenizerBase
from transformers.generation.streamers import BaseStreamer

from llava_mm.models.conversation import encode_chat_prompt
from llava_mm.models.prompt import IMAGE_TOKEN, PROMPT_TEMPLATES
from .inference import ImageLike, _build_pipeline, _load_input

Messages = Sequence[Dict[str, str]]


class ConversationTruncated(UserWarning):
    """The oldest rounds of a conversation were dropped to fit the model's context."""


def check_messages(messages: Messages) -> None:
    """Raise a ``ValueError`` naming the first bad message: roles alternate user /
    assistant, start and end with a user turn; user turns are non-empty; no text
    holds ``<image>`` (the one image is attached to the first user turn)."""
    if not isinstance(messages, (list, tuple)) or not messages:
        raise ValueError('messages must be a non-empty list of {"role": ..., "content": ...} dicts')
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or set(message) != {'role', 'content'}:
            raise ValueError(f'message {i} must be a dict with keys "role" and "content", got {message!r}')
        expected = 'user' if i % 2 == 0 else 'assistant'
        if message['role'] != expected:
            raise ValueError(f'message {i} must have role {expected!r} (user and assistant alternate, '
                             f'starting with user), got {message["role"]!r}')
        content = message['content']
        if not isinstance(content, str):
            raise ValueError(f'message {i} content must be a str, got {type(content).__name__}')
        if expected == 'user' and not content.strip():  # an empty reply is a reply the model gave
            raise ValueError(f'message {i} (user) is empty: type a message')
        if IMAGE_TOKEN in content:
            raise ValueError(f'message {i} contains {IMAGE_TOKEN!r}: a conversation has one image, attached to '
                             'its first user turn; start a new conversation to talk about another image')
    if messages[-1]['role'] != 'user':
        raise ValueError('the last message must be a user turn (the one the model answers)')


def template_name(model: nn.Module) -> str:
    """The name of the model's conversation template (``vicuna_v1`` for v1.5, ``llava_v1`` for v1)."""
    if getattr(model, 'template_name', None):
        return model.template_name
    raise ValueError(f'chat needs a known conversation template ({sorted(PROMPT_TEMPLATES)}); this model '
                     f'uses the custom prompt_template {model.prompt_template!r}')


def fit_to_context(model: nn.Module, messages: Messages, max_new_tokens: int) -> Tuple[List[int], int]:
    """Prompt ids of ``messages``, dropping the oldest rounds after the first (the
    image turn) until prompt + image tokens + ``max_new_tokens`` fit the context.

    Returns ``(prompt_ids, number_of_dropped_rounds)``.
    """
    check_messages(messages)
    context = model.language_model.config.max_position_embeddings
    image_tokens = model.vision_tower.num_image_tokens
    name, messages = template_name(model), list(messages)
    dropped = 0
    while True:
        ids = encode_chat_prompt(messages, model.tokenizer, template=name, has_image=True)
        needed = len(ids) - 1 + image_tokens + max_new_tokens
        if needed <= context:
            return ids, dropped
        if len(messages) <= 3:  # only the image turn (and its reply) and the new message are left
            raise ValueError(f'The conversation does not fit the context of {context} tokens: the image turn and '
                             f'the last message with {max_new_tokens} new tokens need {needed}. Send a shorter '
                             'message, ask for fewer new tokens, or start a new conversation.')
        messages = messages[:2] + messages[4:]
        dropped += 1


def llava_instruct_record(image: str, messages: Messages, record_id: str) -> Dict:
    """A conversation as one LLaVA-Instruct json record (``<image>`` on the first human turn)."""
    turns = [{'from': 'human' if m['role'] == 'user' else 'gpt',
              'value': (IMAGE_TOKEN + '\n' if i == 0 else '') + m['content']} for i, m in enumerate(messages)]
    return {'id': record_id, 'image': image, 'conversations': turns}


def truncation_notice(dropped: int) -> str:
    return (f'The conversation is longer than the model context: the {dropped} oldest round(s) after the image '
            'turn were dropped from the prompt.')


def _generation_kwargs(model: nn.Module, temperature: float, top_p: float, max_new_tokens: Optional[int],
                       extra: dict) -> dict:
    if temperature < 0:
        raise ValueError(f'temperature must be >= 0 (0 = greedy), got {temperature}')
    if not 0 < top_p <= 1:
        raise ValueError(f'top_p must be in (0, 1], got {top_p}')
    max_new_tokens = model.generation_cfg['max_new_tokens'] if max_new_tokens is None else max_new_tokens
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f'max_new_tokens must be a positive integer, got {max_new_tokens}')
    sampling = dict(do_sample=True, temperature=temperature, top_p=top_p) if temperature > 0 else dict(
        do_sample=False, temperature=None, top_p=None)
    return {'num_beams': 1, **extra, **sampling, 'max_new_tokens': max_new_tokens}  # streaming needs 1 beam


def _prepare(model: nn.Module, image: ImageLike, messages: Messages, temperature: float, top_p: float,
             max_new_tokens: Optional[int], seed: Optional[int],
             extra: dict) -> Tuple[torch.Tensor, List[int], dict, int]:
    """Pixels, prompt ids, generation kwargs and dropped rounds; every input is checked before generating."""
    kwargs = _generation_kwargs(model, temperature, top_p, max_new_tokens, extra)
    ids, dropped = fit_to_context(model, messages, kwargs['max_new_tokens'])
    item = _load_input(image)
    sample = _build_pipeline(model, 'img_path' in item)(item)
    pixels = model.data_preprocessor(pseudo_collate([sample]), False)['images']
    if seed is not None:
        torch.manual_seed(seed)  # seeds CPU and CUDA generators
    return pixels, ids, kwargs, dropped


def chat(model: nn.Module, image: ImageLike, messages: Messages, *, temperature: float = 0.0, top_p: float = 1.0,
         max_new_tokens: Optional[int] = None, seed: Optional[int] = None, **generation_kwargs) -> str:
    """The assistant's reply to the last user message of a conversation about ``image``.

    Args:
        model: a model from ``get_model``.
        image: a path, PIL image or BGR array; attached to the first user turn.
        messages: ``[{'role': 'user' | 'assistant', 'content': str}, ...]``,
            alternating, ending with the user turn to answer.
        temperature: 0 (default) decodes greedily; > 0 samples with ``top_p``.
        max_new_tokens: defaults to the model's ``generation_cfg``.
        seed: seeds torch's generators before sampling, for reproducible replies.
        **generation_kwargs: more keyword arguments for transformers' ``generate``.

    A conversation longer than the context loses its oldest rounds after the
    image turn, with a ``ConversationTruncated`` warning.
    """
    pixels, ids, kwargs, dropped = _prepare(model, image, messages, temperature, top_p, max_new_tokens, seed,
                                            generation_kwargs)
    if dropped:
        warnings.warn(truncation_notice(dropped), ConversationTruncated, stacklevel=2)
    return model.generate_from_ids(pixels, [ids], **kwargs)[0]


class _FinalPieces(BaseStreamer):
    """Queues the reply's text as it grows, only in pieces that later tokens cannot change.

    A trailing run of byte-fallback tokens (``<0xE2>``...) or an incomplete
    character (``\ufffd`` at the end) may still decode differently (a byte run
    is decoded as a whole), so it waits; the pieces then join to exactly the
    text of the whole reply. transformers' ``TextIteratorStreamer`` prints byte
    runs early and its pieces can differ from the decoded reply.
    """
    BYTE_TOKEN = re.compile(r'<0x[0-9A-Fa-f]{2}>')

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.tokenizer = tokenizer
        self.ids: List[int] = []
        self.tokens: List[str] = []
        self.sent = ''
        self.queue: Queue = Queue()
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate first puts the prompt ids (none: the prompt is embeddings)
            self._prompt_seen = True
            return
        ids = value.flatten().tolist()
        self.ids += ids
        self.tokens += self.tokenizer.convert_ids_to_tokens(ids)
        stable = len(self.ids)
        while stable and self.BYTE_TOKEN.fullmatch(self.tokens[stable - 1]):
            stable -= 1
        self._send(self._decode(self.ids[:stable]).rstrip('\ufffd'))

    def end(self) -> None:
        self._send(self._decode(self.ids))
        self.queue.put(None)

    def _decode(self, ids: List[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _send(self, text: str) -> None:
        if len(text) > len(self.sent) and text.startswith(self.sent):
            self.queue.put(text[len(self.sent):])
            self.sent = text


class ChatStream:
    """The pieces of a reply as they are generated; ``notice`` tells whether old rounds were dropped.

    Generation runs in a thread; an error there is raised here once the pieces end.
    """

    def __init__(self, model: nn.Module, pixels: torch.Tensor, ids: List[int], kwargs: dict, dropped: int) -> None:
        self.notice: Optional[str] = truncation_notice(dropped) if dropped else None
        self._streamer = _FinalPieces(model.tokenizer)
        self._error: Optional[BaseException] = None

        def generate() -> None:
            try:
                model.generate_from_ids(pixels, [ids], streamer=self._streamer, **kwargs)
            except BaseException as err:  # noqa: B902  (re-raised in the caller's thread)
                self._error = err
                self._streamer.end()

        self._thread = Thread(target=generate, daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[str]:
        for piece in iter(self._streamer.queue.get, None):
            yield piece
        self._thread.join()
        if self._error is not None:
            raise self._error


def stream_chat(model: nn.Module, image: ImageLike, messages: Messages, *, temperature: float = 0.0,
                top_p: float = 1.0, max_new_tokens: Optional[int] = None, seed: Optional[int] = None,
                **generation_kwargs) -> ChatStream:
    """Like ``chat``, but returns the reply's text pieces as they are generated.

    Inputs are checked before this returns (errors raise here, not mid-stream);
    ``''.join(pieces).strip()`` is what ``chat`` returns.
    """
    return ChatStream(model, *_prepare(model, image, messages, temperature, top_p, max_new_tokens, seed,
                                       generation_kwargs))
