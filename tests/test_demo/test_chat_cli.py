"""demo/chat.py driven like a user at a terminal (a pseudo-terminal): replies, commands, bad input."""
import json
import os
import sys

import pytest

from llava_mm import get_model
from llava_mm.apis import chat
from llava_mm.testing import make_tiny_model_dir

pexpect = pytest.importorskip('pexpect')

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def spawn(*args):
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')])}
    return pexpect.spawn(sys.executable, [os.path.join(REPO, 'demo', 'chat.py'), *map(str, args)], cwd=REPO,
                         env=env, encoding='utf-8', codec_errors='replace', timeout=90)


def read_until_prompt(child) -> str:
    """What the program printed before its next ``USER: `` prompt, with the terminal's CRLF undone."""
    child.expect_exact('\r\nUSER: ')
    return child.before.replace('\r\n', '\n')


def ask(child, question: str) -> str:
    child.sendline(question)
    child.expect_exact('ASSISTANT: ')
    return read_until_prompt(child).strip()


@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    return make_tiny_model_dir(tmp_path_factory.mktemp('cli') / 'tiny', tokenizer='sentencepiece')


def test_terminal_chat_session(model_dir, image_files, tmp_path):
    model = get_model(str(model_dir))
    cat, other = str(image_files[0]), str(image_files[1])
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a picture')
    q1, q2 = 'What is in the image?', 'What color is the cat?'
    a1 = chat(model, cat, [{'role': 'user', 'content': q1}])
    a2 = chat(model, cat, [{'role': 'user', 'content': q1}, {'role': 'assistant', 'content': a1},
                           {'role': 'user', 'content': q2}])

    child = spawn(cat, model_dir)
    banner = read_until_prompt(child)
    assert f'Chatting about {cat}' in banner and '/image PATH, /reset, /save FILE' in banner
    assert ask(child, q1) == a1
    assert ask(child, q2) == a2

    saved = tmp_path / 'conversation.json'
    child.sendline(f'/save {saved}')
    assert 'Saved 2 round(s)' in read_until_prompt(child)
    assert json.loads(saved.read_text()) == [{'id': image_files[0].stem, 'image': cat, 'conversations': [
        {'from': 'human', 'value': '<image>\n' + q1}, {'from': 'gpt', 'value': a1},
        {'from': 'human', 'value': q2}, {'from': 'gpt', 'value': a2}]}]

    # Bad input: a clear line, and the conversation goes on.
    child.sendline(f'/image {bad}')
    assert f'error: Cannot read image file {bad}' in read_until_prompt(child)
    child.sendline('/image')
    assert 'error: unknown command' in read_until_prompt(child)
    child.sendline('<image> and this picture?')
    assert 'a conversation has one image' in read_until_prompt(child)
    child.sendline('/reset')
    assert 'starts over' in read_until_prompt(child)
    assert ask(child, q1) == a1  # a fresh conversation about the same image

    child.sendline(f'/image {other}')
    assert f'Now talking about {other}; the conversation starts over.' in read_until_prompt(child)
    assert ask(child, q1) == chat(model, other, [{'role': 'user', 'content': q1}])

    child.sendeof()  # Ctrl-D
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert 'Traceback' not in child.before


def test_empty_line_exits(model_dir, image_files):
    child = spawn(image_files[0], model_dir)
    read_until_prompt(child)
    child.sendline('')
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.mark.parametrize('args, message', [
    (('missing.png', 'MODEL'), 'error: Image file not found: missing.png'),
    (('IMAGE', 'no-such-model'), "error: Unknown model 'no-such-model'"),
])
def test_bad_arguments(model_dir, image_files, args, message):
    args = [{'IMAGE': image_files[0], 'MODEL': model_dir}.get(a, a) for a in args]
    child = spawn(*args)
    child.expect(pexpect.EOF)
    child.close()
    assert message in child.before and 'Traceback' not in child.before
    assert child.exitstatus == 2
