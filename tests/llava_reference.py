"""Original LLaVA's text side, transcribed as the reference for llava_mm's tests.

* ``SlowLlamaTokenizer``: transformers 4.3x ``LlamaTokenizer`` (the slow,
  sentencepiece one LLaVA-1.5 trained and evaluated with, transformers
  4.37.2), rebuilt on the ``sentencepiece`` processor: ``tokenize`` /
  ``_tokenize`` of ``tokenization_llama.py`` and the added-token split of
  ``PreTrainedTokenizer.tokenize`` (tokens added with ``add_tokens`` strip no
  spaces; only bos/eos/unk/pad/additional_special_tokens are "special").
* ``tokenizer_image_token``: ``llava/mm_utils.py``.
* ``Conversation`` / ``conv_vicuna_v1``: ``llava/conversation.py`` (TWO style).
* ``preprocess_multimodal``, ``preprocess_v1`` (its masking rule, computed
  right instead of with ``len(...) - 2``) and ``preprocess_plain``:
  ``llava/train/train.py``.

Nothing here imports llava_mm.
"""
import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence

SPIECE_UNDERLINE = '▁'
IMAGE_TOKEN_INDEX = -200
IGNORE_INDEX = -100
DEFAULT_IMAGE_TOKEN = '<image>'
DEFAULT_IM_START_TOKEN = '<im_start>'
DEFAULT_IM_END_TOKEN = '<im_end>'


class SlowLlamaTokenizer:
    """``LlamaTokenizer`` of transformers 4.3x (slow), for a ``tokenizer.model`` + ``tokenizer_config.json`` folder."""

    def __init__(self, folder, added_tokens: Sequence[str] = ()) -> None:
        import sentencepiece as spm
        from sentencepiece import sentencepiece_model_pb2 as model_pb2

        folder = Path(folder)
        config = json.loads((folder / 'tokenizer_config.json').read_text())
        self.legacy = config.get('legacy', None)
        if self.legacy is None:  # 4.3x: "You are using the default legacy behaviour"
            self.legacy = True
        self.add_prefix_space = config.get('add_prefix_space', True)
        self.unk_token, self.bos_token, self.eos_token = '<unk>', '<s>', '</s>'
        model = (folder / 'tokenizer.model').read_bytes()
        self.sp_model = spm.SentencePieceProcessor()
        if self.legacy:
            self.sp_model.LoadFromSerializedProto(model)
        else:  # get_spm_processor: legacy=False disables the dummy prefix
            proto = model_pb2.ModelProto.FromString(model)
            proto.normalizer_spec.add_dummy_prefix = False
            self.sp_model.LoadFromSerializedProto(proto.SerializeToString())
        self.vocab_size = self.sp_model.get_piece_size()
        self.bos_token_id = self.sp_model.piece_to_id(self.bos_token)
        # _added_tokens_encoder: LLaMA's own special pieces, then the tokens added later.
        self.added_tokens = {t: self.sp_model.piece_to_id(t) for t in (self.unk_token, self.bos_token,
                                                                       self.eos_token)}
        for token in added_tokens:
            self.added_tokens.setdefault(token, self.vocab_size + len(self.added_tokens) - 3)
        self.all_special_tokens = {self.unk_token, self.bos_token, self.eos_token,
                                   *config.get('additional_special_tokens', [])}

    @property
    def unk_token_length(self) -> int:
        return len(self.sp_model.encode(str(self.unk_token)))

    # PreTrainedTokenizer.tokenize: split at added tokens (longest first), no stripping.
    def _base_tokenize(self, text: str) -> List[str]:
        if not self.added_tokens:
            return self._tokenize(text)
        pattern = '(' + '|'.join(re.escape(t) for t in sorted(self.added_tokens, key=len, reverse=True)) + ')'
        tokens = []
        for piece in re.split(pattern, text):
            if not piece:
                continue
            tokens.extend([piece] if piece in self.added_tokens else self._tokenize(piece))
        return tokens

    # LlamaTokenizer.tokenize
    def tokenize(self, text: str) -> List[str]:
        if self.legacy or len(text) == 0:
            return self._base_tokenize(text)
        text = text.replace(SPIECE_UNDERLINE, ' ')
        if self.add_prefix_space:
            text = SPIECE_UNDERLINE + text
        tokens = self._base_tokenize(text)
        if len(tokens) > 1 and tokens[0] == SPIECE_UNDERLINE and tokens[1] in self.all_special_tokens:
            tokens = tokens[1:]
        return tokens

    # LlamaTokenizer._tokenize
    def _tokenize(self, text: str) -> List[str]:
        if self.legacy or not text.startswith((SPIECE_UNDERLINE, ' ')):
            return self.sp_model.encode(text, out_type=str)
        tokens = self.sp_model.encode(self.unk_token + text, out_type=str)
        return tokens[self.unk_token_length:] if len(tokens) >= self.unk_token_length else tokens

    def convert_tokens_to_ids(self, tokens: List[str]) -> List[int]:
        return [self.added_tokens[t] if t in self.added_tokens else self.sp_model.piece_to_id(t) for t in tokens]

    def __call__(self, text: str) -> Dict[str, List[int]]:
        """``tokenizer(text).input_ids``: add_bos_token=True, add_eos_token=False."""
        return {'input_ids': [self.bos_token_id] + self.convert_tokens_to_ids(self.tokenize(text))}


class FastWithBos:
    """A transformers fast tokenizer called as LLaMA's is: BOS first (a byte-level BPE adds none itself)."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.bos_token_id = tokenizer.bos_token_id

    def __call__(self, text: str) -> Dict[str, List[int]]:
        return {'input_ids': [self.bos_token_id] + self.tokenizer(text, add_special_tokens=False).input_ids}


# llava/mm_utils.py
def tokenizer_image_token(prompt, tokenizer, image_token_index=IMAGE_TOKEN_INDEX):
    prompt_chunks = [tokenizer(chunk)['input_ids'] for chunk in prompt.split('<image>')]

    def insert_separator(X, sep):
        return [ele for sublist in zip(X, [sep] * len(X)) for ele in sublist][:-1]

    input_ids = []
    offset = 0
    if len(prompt_chunks) > 0 and len(prompt_chunks[0]) > 0 and prompt_chunks[0][0] == tokenizer.bos_token_id:
        offset = 1
        input_ids.append(prompt_chunks[0][0])

    for x in insert_separator(prompt_chunks, [image_token_index] * (offset + 1)):
        input_ids.extend(x[offset:])
    return input_ids


# llava/conversation.py, SeparatorStyle.TWO only
class Conversation:
    def __init__(self, system, roles, sep, sep2):
        self.system, self.roles, self.sep, self.sep2 = system, roles, sep, sep2
        self.messages = []

    def append_message(self, role, message):
        self.messages.append([role, message])

    def get_prompt(self):
        seps = [self.sep, self.sep2]
        ret = self.system + seps[0]
        for i, (role, message) in enumerate(self.messages):
            if message:
                ret += role + ': ' + message + seps[i % 2]
            else:
                ret += role + ':'
        return ret


def conv_vicuna_v1() -> Conversation:
    return Conversation(
        system='A chat between a curious user and an artificial intelligence assistant. '
        "The assistant gives helpful, detailed, and polite answers to the user's questions.",
        roles=('USER', 'ASSISTANT'), sep=' ', sep2='</s>')


# llava/train/train.py
def preprocess_multimodal(source, mm_use_im_start_end=False):
    for sentence in source:
        if DEFAULT_IMAGE_TOKEN in sentence['value']:
            sentence['value'] = sentence['value'].replace(DEFAULT_IMAGE_TOKEN, '').strip()
            sentence['value'] = DEFAULT_IMAGE_TOKEN + '\n' + sentence['value']
            sentence['value'] = sentence['value'].strip()
        replace_token = DEFAULT_IMAGE_TOKEN
        if mm_use_im_start_end:
            replace_token = DEFAULT_IM_START_TOKEN + replace_token + DEFAULT_IM_END_TOKEN
        sentence['value'] = sentence['value'].replace(DEFAULT_IMAGE_TOKEN, replace_token)
    return source


def _tokenize(prompt, tokenizer, has_image):
    return tokenizer_image_token(prompt, tokenizer) if has_image else tokenizer(prompt)['input_ids']


def preprocess_v1(source, tokenizer, has_image: bool, mm_use_im_start_end: bool = False):
    """``preprocess_v1`` for one sample; the mask from prefix tokenizations instead of LLaVA's ``- 2``.

    Each reply is supervised from the token after ``... ASSISTANT:`` through
    its ``</s>``: the targets are the positions between the tokenization of the
    prompt up to ``ASSISTANT:`` and that up to ``</s>``; both prefixes are
    checked to tokenize as a prefix of the whole conversation.
    """
    source = [dict(s) for s in source]
    if has_image:
        source = preprocess_multimodal(source, mm_use_im_start_end)
    conv = conv_vicuna_v1()
    roles = {'human': conv.roles[0], 'gpt': conv.roles[1]}
    if roles[source[0]['from']] != conv.roles[0]:
        source = source[1:]
    for j, sentence in enumerate(source):
        role = roles[sentence['from']]
        assert role == conv.roles[j % 2]
        conv.append_message(role, sentence['value'])
    prompt = conv.get_prompt()
    input_ids = _tokenize(prompt, tokenizer, has_image)
    labels = [IGNORE_INDEX] * len(input_ids)
    # Rebuild the prompt message by message to find where each reply starts and ends.
    partial = Conversation(conv.system, conv.roles, conv.sep, conv.sep2)
    for role, message in conv.messages:
        if role == conv.roles[1]:
            partial.append_message(role, None)
            start = len(_tokenize(partial.get_prompt(), tokenizer, has_image))
            partial.messages[-1][1] = message
            end = len(_tokenize(partial.get_prompt(), tokenizer, has_image))
            assert _tokenize(partial.get_prompt(), tokenizer, has_image) == input_ids[:end]
            labels[start:end] = input_ids[start:end]
        else:
            partial.append_message(role, message)
    return {'input_ids': input_ids, 'labels': labels, 'prompt': prompt}


def chat_prompt_ids(messages, tokenizer, mm_use_im_start_end: bool = False):
    """``llava/serve/cli.py``: the image put before the first user message, then ``ASSISTANT:`` open."""
    conv = conv_vicuna_v1()
    image = DEFAULT_IMAGE_TOKEN
    if mm_use_im_start_end:
        image = DEFAULT_IM_START_TOKEN + image + DEFAULT_IM_END_TOKEN
    for i, message in enumerate(messages):
        role = conv.roles[0] if message['role'] == 'user' else conv.roles[1]
        text = image + '\n' + message['content'] if i == 0 else message['content']
        conv.append_message(role, text)
    conv.append_message(conv.roles[1], None)
    return tokenizer_image_token(conv.get_prompt(), tokenizer)


def preprocess_plain(source, tokenizer):
    assert len(source) == 2
    assert DEFAULT_IMAGE_TOKEN in source[0]['value']
    conversation = DEFAULT_IMAGE_TOKEN + source[1]['value'] + '\n'
    input_ids = tokenizer_image_token(conversation, tokenizer)
    tokenized_len = len(tokenizer_image_token(DEFAULT_IMAGE_TOKEN, tokenizer))
    labels = [IGNORE_INDEX] * tokenized_len + input_ids[tokenized_len:]
    return {'input_ids': input_ids, 'labels': labels}
