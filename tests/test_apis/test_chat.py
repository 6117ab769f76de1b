"""Multi-turn chat: the prompt the model sees, streaming, sampling, long conversations and bad input."""
import warnings

import pytest
import torch

from llava_mm import get_model
from llava_mm.apis import chat, stream_chat
from llava_mm.apis.chat import ConversationTruncated, llava_instruct_record
from llava_mm.testing import make_tiny_model_dir
from llava_reference import SlowLlamaTokenizer, chat_prompt_ids



def llava_prompt_ids(model, messages):
    """Original LLaVA's ids (tests/llava_reference.py: conv_vicuna_v1 + tokenizer_image_token with the slow
    SentencePiece LlamaTokenizer it ran on) for the model's own tokenizer.model."""
    return chat_prompt_ids(messages, SlowLlamaTokenizer(model.tokenizer.name_or_path))


QUESTIONS = ['What is in the image?', 'What color is the cat?', 'Where is the dog?', 'How many animals are there?']


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """A tiny v1.5 model with a LLaMA-style SentencePiece tokenizer (what liuhaotian checkpoints ship)."""
    return get_model(str(make_tiny_model_dir(tmp_path_factory.mktemp('chat') / 'tiny', tokenizer='sentencepiece')))


def conversation(model, image, rounds):
    """``rounds`` user turns, each answered by the model, the last one left for the model to answer."""
    messages = []
    for question in QUESTIONS[:rounds]:
        messages.append({'role': 'user', 'content': question})
        if len(messages) < 2 * rounds - 1:
            messages.append({'role': 'assistant', 'content': chat(model, image, messages)})
    return messages


def sent_prompts(model, monkeypatch):
    """Record the prompt ids chat hands to the model."""
    seen = []
    generate = model.generate_from_ids

    def spy(images, prompt_ids, **kwargs):
        seen.extend(list(ids) for ids in prompt_ids)
        return generate(images, prompt_ids, **kwargs)

    monkeypatch.setattr(model, 'generate_from_ids', spy)
    return seen


@pytest.mark.parametrize('rounds', [1, 2, 3, 4])
def test_prompt_is_original_llava_vicuna_v1(model, image_files, monkeypatch, rounds):
    messages = conversation(model, image_files[0], rounds)
    seen = sent_prompts(model, monkeypatch)
    chat(model, image_files[0], messages)
    assert seen == [llava_prompt_ids(model, messages)]


@pytest.mark.parametrize('image, rounds', [(0, 1), (0, 2), (1, 2), (2, 3)])
def test_stream_pieces_make_the_reply(model, image_files, image, rounds):
    messages = conversation(model, image_files[image], rounds)
    stream = stream_chat(model, image_files[image], messages)
    pieces = list(stream)
    assert len(pieces) > 1 and stream.notice is None
    assert ''.join(pieces).strip() == chat(model, image_files[image], messages)


def test_stream_waits_for_whole_bytes(model, image_files):
    """This reply holds byte-fallback runs (an invalid one swallows a space when it is decoded whole)."""
    messages = conversation(model, image_files[0], 2)
    reply = chat(model, image_files[0], messages)
    assert '\ufffd' in reply
    assert ''.join(stream_chat(model, image_files[0], messages)).strip() == reply


def test_reply_depends_on_the_image_and_the_history(model, image_files):
    first = [{'role': 'user', 'content': QUESTIONS[0]}]
    assert chat(model, image_files[0], first) != chat(model, image_files[2], first)
    assert chat(model, image_files[0], conversation(model, image_files[0], 2)) != chat(
        model, image_files[0], [{'role': 'user', 'content': QUESTIONS[1]}])


def test_greedy_by_default_and_seeded_sampling(model, image_files):
    messages = [{'role': 'user', 'content': QUESTIONS[0]}]
    greedy = chat(model, image_files[0], messages, max_new_tokens=20)
    assert chat(model, image_files[0], messages, max_new_tokens=20, temperature=0, seed=5) == greedy
    sampled = [chat(model, image_files[0], messages, max_new_tokens=20, temperature=1.0, top_p=0.9, seed=seed)
               for seed in (1, 1, 2)]
    assert sampled[0] == sampled[1] != sampled[2]
    assert greedy not in sampled
    stream = stream_chat(model, image_files[0], messages, max_new_tokens=20, temperature=1.0, top_p=0.9, seed=1)
    assert ''.join(stream).strip() == sampled[0]


def test_generation_stops_at_end_of_turn(model, image_files):
    """When the model says ``</s>`` after 3 tokens, the reply is those 3 tokens, however many are allowed."""
    eos = model.tokenizer.convert_tokens_to_ids('</s>')
    messages = [{'role': 'user', 'content': QUESTIONS[0]}]
    three_tokens = chat(model, image_files[0], messages, max_new_tokens=3)
    assert len(chat(model, image_files[0], messages, max_new_tokens=30)) > len(three_tokens)

    def says_eos_after_3_tokens():
        calls = []

        def hook(module, args, logits):
            calls.append(None)
            if len(calls) == 4:  # the prefill picks token 1, then one call per token
                logits = logits.clone()
                logits[..., eos] = logits.max() + 100
            return logits
        return model.language_model.get_output_embeddings().register_forward_hook(hook)

    for reply in (lambda: chat(model, image_files[0], messages, max_new_tokens=30),
                  lambda: ''.join(stream_chat(model, image_files[0], messages, max_new_tokens=30)).strip()):
        handle = says_eos_after_3_tokens()
        try:
            assert reply() == three_tokens
        finally:
            handle.remove()


def test_long_conversation_drops_oldest_rounds_after_the_image_turn(model, image_files, monkeypatch):
    image = image_files[0]
    messages = conversation(model, image, 4)
    kept = messages[:2] + messages[-1:]  # the image turn and its answer, then the new question
    kept_ids = llava_prompt_ids(model, kept)
    three_rounds = llava_prompt_ids(model, messages[:2] + messages[-3:])
    image_tokens = model.vision_tower.num_image_tokens
    max_new = 12
    # Room for the image turn + the last question, not for one more round.
    context = len(kept_ids) - 1 + image_tokens + max_new
    assert len(three_rounds) - 1 + image_tokens + max_new > context
    expected = chat(model, image, kept, max_new_tokens=max_new)

    monkeypatch.setattr(model.language_model.config, 'max_position_embeddings', context)
    seen = sent_prompts(model, monkeypatch)
    with pytest.warns(ConversationTruncated, match=r'2 oldest round\(s\) after the image turn were dropped'):
        assert chat(model, image, messages, max_new_tokens=max_new) == expected
    assert seen == [kept_ids]
    stream = stream_chat(model, image, messages, max_new_tokens=max_new)
    assert '2 oldest round(s)' in stream.notice and ''.join(stream).strip() == expected
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # a conversation that fits is not truncated
        chat(model, image, messages[:1], max_new_tokens=max_new)
    with pytest.raises(ValueError, match=f'does not fit the context of {context} tokens.*shorter message'):
        chat(model, image, messages[:2] + [{'role': 'user', 'content': 'What is in the image? ' * 20}],
             max_new_tokens=max_new)


@pytest.mark.parametrize('messages, match', [
    ([], 'non-empty list'),
    ([{'role': 'user', 'content': '   '}], r'message 0 \(user\) is empty'),
    ([{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'a'}, {'role': 'user', 'content': ''}],
     r'message 2 \(user\) is empty'),
    ([{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'a'},
      {'role': 'user', 'content': '<image>\nand this one?'}], "message 2 contains '<image>': a conversation has one"),
    ([{'role': 'assistant', 'content': 'hi'}], "message 0 must have role 'user'"),
    ([{'role': 'user', 'content': 'hi'}, {'role': 'user', 'content': 'hi'}], "message 1 must have role 'assistant'"),
    ([{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'a'}], 'last message must be a user turn'),
    ([{'from': 'human', 'value': 'hi'}], 'keys "role" and "content"'),
])
def test_bad_conversations(model, image_files, messages, match):
    with pytest.raises(ValueError, match=match):
        chat(model, image_files[0], messages)
    with pytest.raises(ValueError, match=match):
        stream_chat(model, image_files[0], messages)


def test_an_empty_reply_is_history(model, image_files):
    messages = [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': ''},
                {'role': 'user', 'content': 'What is in the image?'}]
    assert isinstance(chat(model, image_files[0], messages), str)


@pytest.mark.parametrize('kwargs, match', [
    (dict(temperature=-0.1), 'temperature must be >= 0'),
    (dict(top_p=0), r'top_p must be in \(0, 1\]'),
    (dict(max_new_tokens=0), 'max_new_tokens must be a positive integer'),
    (dict(max_new_tokens=2.5), 'max_new_tokens must be a positive integer'),
])
def test_bad_generation_arguments(model, image_files, kwargs, match):
    with pytest.raises(ValueError, match=match):
        chat(model, image_files[0], [{'role': 'user', 'content': 'hi'}], **kwargs)


def test_bad_images(model, tmp_path):
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a picture')
    messages = [{'role': 'user', 'content': 'hi'}]
    with pytest.raises(ValueError, match=f'Cannot read image file {bad}'):
        chat(model, bad, messages)
    with pytest.raises(FileNotFoundError, match='Image file not found: .*missing.png'):
        stream_chat(model, tmp_path / 'missing.png', messages)


def test_llava_instruct_record():
    messages = [{'role': 'user', 'content': 'What is it?'}, {'role': 'assistant', 'content': 'A cat.'},
                {'role': 'user', 'content': 'Colour?'}, {'role': 'assistant', 'content': 'Orange.'}]
    # The LLaVA-Instruct-150K schema (llava_instruct_150k.json).
    assert llava_instruct_record('cat.png', messages, 'cat') == {
        'id': 'cat', 'image': 'cat.png', 'conversations': [
            {'from': 'human', 'value': '<image>\nWhat is it?'}, {'from': 'gpt', 'value': 'A cat.'},
            {'from': 'human', 'value': 'Colour?'}, {'from': 'gpt', 'value': 'Orange.'}]}
