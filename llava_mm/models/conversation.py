"""LLaVA conversations: one renderer for training samples and chat prompts.

``encode_conversation`` turns a LLaVA-Instruct sample's ``conversations`` into
``input_ids`` + ``labels``; ``encode_chat_prompt`` renders a chat history the
same way, ending with an open ``ASSISTANT:``, so a chat sees what training saw.

Rules (original LLaVA's ``preprocess_multimodal`` / ``preprocess_v1`` /
``preprocess_plain``):

* with an image, every ``<image>`` in a turn is removed and put once at the
  start of that turn (``'<image>\\n' + text.strip()``); only one turn may hold
  it. A first turn from ``gpt`` is dropped; roles then alternate
  human / gpt, ending with gpt.
* ``vicuna_v1``: ``system + ' ' + 'USER: {q} ASSISTANT: {a}</s>'`` per round,
  tokenized whole (``tokenize_with_image``). Each reply is supervised from
  the token carrying the space after ``ASSISTANT:`` through its ``</s>``.
* ``llava_v1``: ``vicuna_v1`` with the image as ``<im_start><image><im_end>``
  (LLaVA's ``v1`` conversation with ``mm_use_im_start_end``).
* ``plain`` (stage 1): ``<image>`` + caption + ``'\\n'``, the instruction
  dropped, everything after the image supervised.

The mask is derived from character spans of the rendered text mapped onto
token offsets, not from LLaVA's per-round length arithmetic (which only
holds for the LLaMA vocabulary and silently blanks a sample where it fails).
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from transformers import PreTrainedTokenizerBase

from .prompt import (IGNORE_INDEX, IMAGE_TOKEN, IMAGE_TOKEN_INDEX, VICUNA_SYSTEM,
                                    tokenize_with_image_offsets)

HUMAN, GPT = 'human', 'gpt'


class ConversationError(ValueError):
    """A conversation LLaVA's rules reject; the message names the turn."""


@dataclass(frozen=True)
class ConversationTemplate:
    """How turns become text: ``style`` ``'two'`` (LLaVA's SeparatorStyle.TWO) or ``'plain'``."""
    name: str
    style: str
    system: str = ''
    roles: Tuple[str, str] = ('USER', 'ASSISTANT')
    sep: str = ' '
    sep2: str = '</s>'
    image: str = IMAGE_TOKEN


CONVERSATION_TEMPLATES: Dict[str, ConversationTemplate] = {
    'vicuna_v1': ConversationTemplate('vicuna_v1', 'two', VICUNA_SYSTEM),
    'llava_v1': ConversationTemplate('llava_v1', 'two', VICUNA_SYSTEM, image='<im_start><image><im_end>'),
    'plain': ConversationTemplate('plain', 'plain', sep='\n'),
}


def get_template(template) -> ConversationTemplate:
    """A ``ConversationTemplate`` or the name of one in ``CONVERSATION_TEMPLATES``."""
    if isinstance(template, ConversationTemplate):
        return template
    if template not in CONVERSATION_TEMPLATES:
        raise ValueError(f'Unknown conversation template {template!r}; known: {sorted(CONVERSATION_TEMPLATES)}')
    return CONVERSATION_TEMPLATES[template]


def normalize_conversation(conversations: Sequence[dict], has_image: bool = True,
                           require_reply: bool = True) -> List[Tuple[str, str]]:
    """``[(role, text)]`` after LLaVA's rules; bad input raises ``ConversationError`` naming the turn.

    Checked: a list of ``{'from', 'value'}`` dicts; roles ``human``/``gpt``;
    ``value`` a non-empty string (a chat history, ``require_reply=False``, may hold an empty reply); one turn with ``<image>`` when
    ``has_image`` (none otherwise); alternating roles, ending with ``gpt``
    when ``require_reply``. Turns are numbered as in the input (from 0).
    """
    if not isinstance(conversations, (list, tuple)) or not conversations:
        raise ConversationError(f'`conversations` must be a non-empty list of turns, got {conversations!r:.80}')
    turns = []
    for i, turn in enumerate(conversations):
        if not isinstance(turn, dict):
            raise ConversationError(f'turn {i}: expected a dict with "from" and "value", got {turn!r:.80}')
        role = turn.get('from')
        if role not in (HUMAN, GPT):
            raise ConversationError(f'turn {i}: unknown role {role!r} (expected "human" or "gpt")')
        if 'value' not in turn:
            raise ConversationError(f'turn {i} ({role}): missing "value"')
        text = turn['value']
        if not isinstance(text, str):
            raise ConversationError(f'turn {i} ({role}): "value" must be a string, got {type(text).__name__}')
        if not text.strip() and (require_reply or role == HUMAN):
            raise ConversationError(f'turn {i} ({role}): empty {"reply" if role == GPT else "message"}')
        turns.append((i, role, text))
    if turns[0][1] == GPT:  # LLaVA: "Skip the first one if it is not from human"
        turns = turns[1:]
        if not turns:
            raise ConversationError('the only turn is from gpt: nothing to answer')
    image_turns = [i for i, _, text in turns if IMAGE_TOKEN in text]
    if has_image and len(image_turns) > 1:
        raise ConversationError(f'turns {image_turns}: {IMAGE_TOKEN} in more than one turn (one image per sample)')
    if has_image and not image_turns:
        raise ConversationError(f'the sample has an image but no turn contains {IMAGE_TOKEN}')
    if not has_image and image_turns:
        raise ConversationError(f'turn {image_turns[0]}: {IMAGE_TOKEN} in a sample without an image')
    out = []
    for k, (i, role, text) in enumerate(turns):
        expected = (HUMAN, GPT)[k % 2]
        if role != expected:
            raise ConversationError(f'turn {i}: roles must alternate human/gpt, got {role} after '
                                    f'{out[-1][0] if out else "the start"}')
        if IMAGE_TOKEN in text:
            text = (IMAGE_TOKEN + '\n' + text.replace(IMAGE_TOKEN, '').strip()).strip()
        out.append((role, text))
    if require_reply and out[-1][0] != GPT:
        raise ConversationError(f'turn {turns[-1][0]}: the conversation ends with a human turn (no reply to learn)')
    return out


def render_conversation(turns: Sequence[Tuple[str, Optional[str]]],
                        template='vicuna_v1') -> Tuple[str, List[Tuple[int, int]]]:
    """The prompt text of normalized ``turns`` and the character spans of the supervised replies.

    A last ``(gpt, None)`` turn renders as an open ``ASSISTANT:`` (for
    generation) and is not supervised.
    """
    template = get_template(template)
    spans: List[Tuple[int, int]] = []
    if template.style == 'plain':
        if len(turns) != 2 or IMAGE_TOKEN not in turns[0][1]:
            raise ConversationError('the plain template takes one human turn with <image> and one gpt reply')
        text = template.image
        if turns[1][1] is not None:
            text += turns[1][1] + template.sep
            spans.append((len(template.image), len(text)))
        return text, spans
    text = template.system + template.sep
    for k, (role, message) in enumerate(turns):
        name = template.roles[0] if role == HUMAN else template.roles[1]
        if not message:  # the open reply of a prompt, or an empty chat reply: LLaVA renders `ROLE:` alone
            text += name + ':'
            continue
        message = message.replace(IMAGE_TOKEN, template.image)
        start = len(text) + len(name) + 1  # the space after "ASSISTANT:"
        text += name + ': ' + message + (template.sep if k % 2 == 0 else template.sep2)
        if role == GPT:
            spans.append((start, len(text)))
    return text, spans


def _check_tokens(tokenizer: PreTrainedTokenizerBase, template: ConversationTemplate) -> None:
    for token in template.image.replace(IMAGE_TOKEN, ' ').split():
        if tokenizer.convert_tokens_to_ids(token) in (None, tokenizer.unk_token_id):
            raise ValueError(f'Template {template.name!r} needs {token!r} in the tokenizer '
                             f'(add it with tokenizer.add_tokens(..., special_tokens=True))')


def encode_conversation(conversations: Sequence[dict], tokenizer: PreTrainedTokenizerBase,
                        template='vicuna_v1', has_image: bool = True) -> Dict[str, List[int]]:
    """``{'input_ids', 'labels'}`` of a LLaVA-Instruct ``conversations`` list.

    ``input_ids`` hold ``IMAGE_TOKEN_INDEX`` (-200) where the image goes;
    ``labels`` equal ``input_ids`` on the supervised reply tokens and are
    ``IGNORE_INDEX`` (-100) elsewhere. A token is supervised when its first
    character lies in a reply span (see ``render_conversation``); every reply
    must own at least one token, else ``ConversationError``.
    """
    template = get_template(template)
    if template.style == 'plain' and not has_image:
        raise ConversationError('the plain template (stage 1) needs an image')
    _check_tokens(tokenizer, template)
    turns = normalize_conversation(conversations, has_image=has_image)
    text, reply_spans = render_conversation(turns, template)
    input_ids, offsets = tokenize_with_image_offsets(tokenizer, text)
    labels = [IGNORE_INDEX] * len(input_ids)
    owned = [0] * len(reply_spans)
    for k, (token_id, (start, end)) in enumerate(zip(input_ids, offsets)):
        if token_id == IMAGE_TOKEN_INDEX or end <= start:
            continue
        for r, (a, b) in enumerate(reply_spans):
            if a <= start < b:
                labels[k] = token_id
                owned[r] += 1
                break
    if not all(owned):
        raise ConversationError(f'reply {owned.index(0)} got no tokens when tokenized: {text!r:.200}')
    return {'input_ids': input_ids, 'labels': labels}


def encode_chat_prompt(messages: Sequence[dict], tokenizer: PreTrainedTokenizerBase, template='vicuna_v1',
                       has_image: bool = True) -> List[int]:
    """Prompt ids for the next assistant reply of a chat, rendered as training renders conversations.

    ``messages``: ``[{'role': 'user'|'assistant', 'content': str}]``, alternating,
    starting and ending with a user turn. The image (``has_image``) is
    attached to the first user turn, as LLaVA's CLI does; earlier assistant
    turns are closed with ``</s>``; the prompt ends with ``ASSISTANT:``.
    """
    template = get_template(template)
    _check_tokens(tokenizer, template)
    roles = {'user': HUMAN, 'assistant': GPT}
    conversations = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get('role') not in roles:
            raise ConversationError(f'message {i}: expected {{"role": "user"|"assistant", "content": str}}, '
                                    f'got {message!r:.80}')
        content = message.get('content')
        if not isinstance(content, str):
            raise ConversationError(f'message {i} ({message["role"]}): "content" must be a string')
        if IMAGE_TOKEN in content:
            raise ConversationError(f'message {i}: {IMAGE_TOKEN} is placed by the chat, not in messages')
        conversations.append({'from': roles[message['role']], 'value': content})
    if not conversations or conversations[0]['from'] != HUMAN:
        raise ConversationError('a chat starts with a user message')
    if has_image:
        conversations[0] = {'from': HUMAN, 'value': IMAGE_TOKEN + '\n' + conversations[0]['value']}
    turns = normalize_conversation(conversations, has_image=has_image, require_reply=False)
    if turns[-1][0] != HUMAN:
        raise ConversationError('the last message must be from the user')
    if template.style == 'plain' and len(turns) != 1:
        raise ConversationError('the plain template (stage 1) has no multi-turn chat')
    text, _ = render_conversation(turns + [(GPT, None)], template)
    return tokenize_with_image_offsets(tokenizer, text)[0]
