"""encode_conversation / encode_chat_prompt equal original LLaVA (reference in tests/llava_reference.py).

ids: LLaVA's ``tokenizer_image_token(conv.get_prompt())``; labels: each reply
from the token after ``ASSISTANT:`` through ``</s>`` (LLaVA's rule, computed
from prefix tokenizations instead of its ``- 2``).
"""
import pytest

from llava_mm.datasets import ConversationError, encode_chat_prompt, encode_conversation
from llava_mm.models.prompt import PROMPT_TEMPLATES, V1_EXTRA_TOKENS, format_prompt, tokenize_with_image
from llava_mm.models import build_tokenizer
from llava_mm.testing.tokenizers import train_bpe_tokenizer, write_sentencepiece_tokenizer
import llava_reference as llava


def turn(role, value):
    return {'from': role, 'value': value}


CONVERSATIONS = {
    'multi-turn': [turn('human', '<image>\nWhat is in the picture?'), turn('gpt', 'A cat and a dog.'),
                   turn('human', 'How many dogs?'), turn('gpt', 'One dog.'),
                   turn('human', 'What color is the cat?'), turn('gpt', 'The cat is brown.')],
    'image-last': [turn('human', 'What animal is this?\n<image>'), turn('gpt', 'A dog.')],
    'image-inline': [turn('human', 'Is the <image> dog  brown?  '), turn('gpt', 'yes')],
    'image-second-turn': [turn('human', 'Hello.'), turn('gpt', 'Hi.'), turn('human', '<image> And this?'),
                          turn('gpt', 'A bus.')],
    'gpt-first': [turn('gpt', 'I will describe images.'), turn('human', '<image>\nDescribe it.'),
                  turn('gpt', 'Two cats sleep on a red couch.')],
    'digits': [turn('human', '<image>\nHow many? 0 1 2'), turn('gpt', '12'), turn('human', 'And 100?'),
               turn('gpt', ' 100 ')],
    'non-ascii': [turn('human', '<image>\nQu’est-ce que c’est ? 猫'), turn('gpt', 'Un chat é 猫. ✓')],
}
TEXT_ONLY = [turn('human', 'Write one sentence.'), turn('gpt', 'The quick brown fox jumps over the lazy dog.'),
             turn('human', 'Another?'), turn('gpt', 'A man riding a skateboard.')]


@pytest.fixture(scope='module', params=['sentencepiece', 'bpe'])
def tokenizers(request, tmp_path_factory):
    """(llava_mm's tokenizer, the reference tokenizer LLaVA would call) with the v1 image tokens."""
    if request.param == 'bpe':
        tokenizer = train_bpe_tokenizer(extra_tokens=V1_EXTRA_TOKENS)
        return tokenizer, llava.FastWithBos(tokenizer)
    folder = write_sentencepiece_tokenizer(tmp_path_factory.mktemp('sp'))
    tokenizer = build_tokenizer(str(folder))
    tokenizer.add_tokens(list(V1_EXTRA_TOKENS), special_tokens=True)
    return tokenizer, llava.SlowLlamaTokenizer(folder, V1_EXTRA_TOKENS)


@pytest.mark.parametrize('name', sorted(CONVERSATIONS))
@pytest.mark.parametrize('template', ['vicuna_v1', 'llava_v1'])
def test_image_conversations_equal_llava(tokenizers, name, template):
    tokenizer, reference = tokenizers
    got = encode_conversation(CONVERSATIONS[name], tokenizer, template=template)
    want = llava.preprocess_v1(CONVERSATIONS[name], reference, has_image=True,
                               mm_use_im_start_end=template == 'llava_v1')
    assert got['input_ids'] == want['input_ids']
    assert got['labels'] == want['labels']
    assert got['input_ids'].count(-200) == 1


def test_text_only_equals_llava(tokenizers):
    tokenizer, reference = tokenizers
    got = encode_conversation(TEXT_ONLY, tokenizer, has_image=False)
    want = llava.preprocess_v1(TEXT_ONLY, reference, has_image=False)
    assert got == {'input_ids': want['input_ids'], 'labels': want['labels']}
    assert -200 not in got['input_ids']


def test_labels_are_the_replies_through_eos(tokenizers):
    """Decoded, the supervised tokens are ' A cat and a dog.</s>' etc.: the space after ASSISTANT:, then </s>."""
    tokenizer, _ = tokenizers
    enc = encode_conversation(CONVERSATIONS['multi-turn'], tokenizer)
    runs, current = [], []
    for label in enc['labels'] + [-100]:
        if label == -100:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(label)
    texts = [tokenizer.decode(run) for run in runs]
    assert [t.strip() for t in texts] == ['A cat and a dog.</s>', 'One dog.</s>', 'The cat is brown.</s>']
    assert enc['labels'][:1] == [-100] and all(run[-1] == tokenizer.eos_token_id for run in runs)


def test_plain_equals_llava(tokenizers):
    tokenizer, reference = tokenizers
    sample = [turn('human', 'Give a short caption.\n<image>'), turn('gpt', 'Two cats sleep on a red couch.')]
    got = encode_conversation(sample, tokenizer, template='plain')
    assert got == llava.preprocess_plain(sample, reference)
    assert got['input_ids'][1] == -200 and got['labels'][:2] == [-100, -100] and -100 not in got['labels'][2:]


@pytest.mark.parametrize('rounds', [1, 2, 3, 4])
@pytest.mark.parametrize('template', ['vicuna_v1', 'llava_v1'])
def test_chat_prompt_equals_llava_cli(tokenizers, rounds, template):
    """1-4 rounds: LLaVA's conv_vicuna_v1 with the image before the first question, ASSISTANT: open."""
    tokenizer, reference = tokenizers
    questions = ['What is in the picture?', 'How many dogs are there?', 'What color is the cat? 猫', 'Sure 100%?']
    answers = ['A cat and a dog.', 'One.', 'Brown, é.']
    messages = []
    for r in range(rounds):
        messages.append({'role': 'user', 'content': questions[r]})
        if r < rounds - 1:
            messages.append({'role': 'assistant', 'content': answers[r]})
    assert encode_chat_prompt(messages, tokenizer, template=template) == llava.chat_prompt_ids(
        messages, reference, mm_use_im_start_end=template == 'llava_v1')


def test_chat_prompt_is_the_training_prefix(tokenizers):
    """What the chat feeds the model is exactly the training sample up to the reply it must generate."""
    tokenizer, _ = tokenizers
    sample = CONVERSATIONS['multi-turn']
    enc = encode_conversation(sample, tokenizer)
    messages = [{'role': 'user' if t['from'] == 'human' else 'assistant', 'content': t['value'].replace(
        '<image>\n', '')} for t in sample[:5]]
    prompt = encode_chat_prompt(messages, tokenizer)
    assert enc['input_ids'][:len(prompt)] == prompt
    assert enc['labels'][len(prompt) - 1] == -100 and enc['labels'][len(prompt)] != -100


def test_single_turn_chat_equals_the_inference_template(tokenizers):
    tokenizer, _ = tokenizers
    for template in ('vicuna_v1', 'llava_v1'):
        ids = encode_chat_prompt([{'role': 'user', 'content': 'What is it?'}], tokenizer, template=template)
        assert ids == tokenize_with_image(tokenizer, format_prompt(PROMPT_TEMPLATES[template], 'What is it?'))


def test_text_only_chat(tokenizers):
    tokenizer, reference = tokenizers
    messages = [{'role': 'user', 'content': 'Hello.'}]
    conv = llava.conv_vicuna_v1()
    conv.append_message('USER', 'Hello.')
    conv.append_message('ASSISTANT', None)
    assert encode_chat_prompt(messages, tokenizer, has_image=False) == reference(conv.get_prompt())['input_ids']


@pytest.mark.parametrize('conversations, message', [
    ([turn('human', '<image>\nHi'), turn('robot', 'Hello')], "turn 1: unknown role 'robot'"),
    ([turn('human', '<image>\nHi'), {'from': 'gpt'}], 'turn 1 \\(gpt\\): missing "value"'),
    ([turn('human', '<image>\nHi'), turn('gpt', '  ')], 'turn 1 \\(gpt\\): empty reply'),
    ([turn('human', '<image>\nHi'), turn('human', 'Again')], 'turn 1: roles must alternate'),
    ([turn('human', '<image>\nHi'), turn('gpt', 'A'), turn('human', '<image>')], 'more than one turn'),
    ([turn('human', 'Hi'), turn('gpt', 'Hello')], 'no turn contains <image>'),
    ([turn('human', '<image>\nHi'), turn('gpt', 'A'), turn('human', 'B')], 'ends with a human turn'),
])
def test_bad_conversations_name_the_turn(tokenizers, conversations, message):
    with pytest.raises(ConversationError, match=message):
        encode_conversation(conversations, tokenizers[0])


def test_image_token_in_text_only_sample_is_an_error(tokenizers):
    with pytest.raises(ConversationError, match='turn 0: <image> in a sample without an image'):
        encode_conversation([turn('human', '<image> hi'), turn('gpt', 'x')], tokenizers[0], has_image=False)


def test_llava_v1_needs_the_image_tokens():
    with pytest.raises(ValueError, match="needs '<im_start>'"):
        encode_conversation(CONVERSATIONS['image-last'], train_bpe_tokenizer(), template='llava_v1')
