"""Prompt ids equal original LLaVA's, however the tokenizer folder is reached.

The reference is ``tests/llava_reference.py``: LLaVA's ``tokenizer_image_token``
on transformers 4.3x's slow SentencePiece ``LlamaTokenizer``, rebuilt on the
``sentencepiece`` processor.
"""
import json
import random
import shutil
import subprocess
import sys
import time

import pytest

from llava_mm.models import build_tokenizer
from llava_mm.models.prompt import PROMPT_TEMPLATES, V1_EXTRA_TOKENS, format_prompt, tokenize_with_image
from llava_mm.testing.tokenizers import train_bpe_tokenizer, write_sentencepiece_tokenizer
from llava_reference import FastWithBos, SlowLlamaTokenizer, tokenizer_image_token

QUESTIONS = ['What is in the picture?', 'How many dogs are there? Answer 12 or 3.', 'Qu’est-ce que c’est ? 猫',
             ' A leading space', 'Two\nlines', 'trailing space ', '<im_end> inside']

#: config.json of the folders a tokenizer is found in: original LLaVA, llava-hf, plain LLaMA.
FOLDER_CONFIGS = {
    'llava_mm': None,
    'original-llava': {'model_type': 'llava', 'architectures': ['LlavaLlamaForCausalLM']},
    'llava-hf': {'model_type': 'llava', 'architectures': ['LlavaForConditionalGeneration']},
    'llama': {'model_type': 'llama', 'architectures': ['LlamaForCausalLM']},
}


@pytest.fixture(scope='module', params=[False, None], ids=['legacy-false', 'legacy-missing'])
def sp_dir(request, tmp_path_factory):
    """The SentencePiece tokenizer; ``legacy`` as liuhaotian/llava-v1.5 (false) or the v1 delta (absent)."""
    path = write_sentencepiece_tokenizer(tmp_path_factory.mktemp('sp'))
    if request.param is None:
        config = json.loads((path / 'tokenizer_config.json').read_text())
        del config['legacy']
        (path / 'tokenizer_config.json').write_text(json.dumps(config))
    return path


def folder_as(sp_dir, tmp_path, kind):
    folder = tmp_path / kind
    shutil.copytree(sp_dir, folder)
    if FOLDER_CONFIGS[kind] is not None:
        (folder / 'config.json').write_text(json.dumps(FOLDER_CONFIGS[kind]))
    return folder


def with_v1_tokens(tokenizer):
    tokenizer.add_tokens(list(V1_EXTRA_TOKENS), special_tokens=True)
    return tokenizer


@pytest.mark.parametrize('template', ['vicuna_v1', 'llava_v1'])
def test_prompt_ids_equal_llava_in_every_folder(sp_dir, tmp_path, template):
    reference = SlowLlamaTokenizer(sp_dir, V1_EXTRA_TOKENS)
    for kind in FOLDER_CONFIGS:
        tokenizer = with_v1_tokens(build_tokenizer(str(folder_as(sp_dir, tmp_path, kind))))
        for question in QUESTIONS:
            prompt = format_prompt(PROMPT_TEMPLATES[template], question)
            assert tokenize_with_image(tokenizer, prompt) == tokenizer_image_token(prompt, reference), (kind, question)


def test_v15_prompt_has_llama_spaces_around_the_image(sp_dir):
    """The familiar LLaVA-1.5 ids: ``USER:`` ``▁`` <image> ``▁`` ``<0x0A>`` (29871, -200, 29871, 13 with LLaMA)."""
    tokenizer = build_tokenizer(str(sp_dir))
    ids = tokenize_with_image(tokenizer, format_prompt(PROMPT_TEMPLATES['vicuna_v1'], 'Hi'))
    at = ids.index(-200)
    assert tokenizer.convert_ids_to_tokens(ids[at - 2:at] + ids[at + 1:at + 3]) == [':', '▁', '▁', '<0x0A>']


def test_random_text_equals_the_slow_tokenizer(sp_dir):
    """Spaces, added tokens, eos, digits, bytes and ``▁`` in any order: the slow tokenizer's ids."""
    tokenizer = with_v1_tokens(build_tokenizer(str(sp_dir)))
    reference = SlowLlamaTokenizer(sp_dir, V1_EXTRA_TOKENS)
    pieces = ['A', ' cat', '  ', ' ', '\n', '<image>', '<im_start>', '<im_end>', '</s>', '<s>', 'USER:',
              ' ASSISTANT:', '12', ' 3', 'é', '猫', '▁', 'x', 'dog.', '\t']
    rng = random.Random(0)
    for _ in range(600):
        text = ''.join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        assert tokenize_with_image(tokenizer, text) == tokenizer_image_token(text, reference), repr(text)


@pytest.mark.parametrize('template', ['vicuna_v1', 'llava_v1'])
def test_byte_level_bpe_prompt_ids(template):
    tokenizer = train_bpe_tokenizer(extra_tokens=V1_EXTRA_TOKENS)
    for question in QUESTIONS:
        prompt = format_prompt(PROMPT_TEMPLATES[template], question)
        assert tokenize_with_image(tokenizer, prompt) == tokenizer_image_token(prompt, FastWithBos(tokenizer))


def test_missing_local_folder_is_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='is not a directory'):
        build_tokenizer(str(tmp_path / 'no-such-model'))


def test_offline_hub_name_fails_at_once():
    """``HF_HUB_OFFLINE=1`` and a name that is not cached: one line naming it, no retries."""
    code = ('from llava_mm.models import build_tokenizer\n'
            'try:\n    build_tokenizer("llava-mm-tests/not-a-model")\n'
            'except OSError as e:\n    print("ERR", e)\n')
    start = time.monotonic()
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120,
                         env={**__import__('os').environ, 'HF_HUB_OFFLINE': '1'})
    line = [l for l in out.stdout.splitlines() if l.startswith('ERR')]
    assert line and "'llava-mm-tests/not-a-model'" in line[0] and 'HF_HUB_OFFLINE' in line[0], out
    assert time.monotonic() - start < 60
