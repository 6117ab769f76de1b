"""demo/web_demo.py in a real browser (headless Chromium through Playwright), as a user drives it.

The page must show exactly the replies ``chat`` gives for the same conversation.
"""
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest

from llava_mm import get_model
from llava_mm.apis import chat
from llava_mm.testing import make_tiny_model_dir

pytest.importorskip('gradio')
sync_api = pytest.importorskip('playwright.sync_api')
CHROMIUM = os.environ.get('CHROMIUM', shutil.which('chromium') or shutil.which('chromium-browser'))
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason='needs Chromium (apt-get install chromium)')

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOOPBACK = ('127.0.0.1', 'localhost')
STATUS_JS = "document.querySelector('#status textarea')?.value"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def listening_addresses(port: int) -> set:
    """Local addresses with a listening TCP socket on ``port`` (read from /proc, no traffic)."""
    found = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        if not os.path.exists(table):
            continue
        for line in open(table).read().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(':', 1)
            if state == '0A' and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """``python demo/web_demo.py MODEL --port P`` as a user starts it; yields (url, model dir)."""
    root = tmp_path_factory.mktemp('web')
    model_dir = make_tiny_model_dir(root / 'tiny', tokenizer='sentencepiece')
    port = free_port()
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]),
           'GRADIO_TEMP_DIR': str(root / 'uploads')}
    proc = subprocess.Popen([sys.executable, '-u', os.path.join(REPO, 'demo', 'web_demo.py'), str(model_dir),
                             '--port', str(port)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    log, deadline = [], time.time() + 180
    try:
        while not any('Running on local URL' in line for line in log):
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.time()))
            line = proc.stdout.readline() if ready else ''
            if not line:
                raise RuntimeError('web_demo.py did not start:\n' + ''.join(log))
            log.append(line)
        yield f'http://127.0.0.1:{port}', model_dir, port, ''.join(log)
    finally:
        proc.terminate()
        proc.wait(30)


class Page:
    """The demo page, addressed by its elements' ids."""

    def __init__(self, page):
        self.page = page

    def status(self) -> str:
        return self.page.input_value('#status textarea')

    def replies(self):
        return self.page.locator('#chatbot [data-testid="bot"] .message-content').all_text_contents()

    def wait(self, js: str, timeout: float = 60_000):
        self.page.wait_for_function(js, timeout=timeout)

    def wait_status(self, *starts: str):
        """Wait until the status line starts with one of ``starts``."""
        self.wait(f"{STATUS_JS} !== undefined && {list(starts)!r}.some(s => {STATUS_JS}.startsWith(s))")

    def upload(self, path, status: str):
        """Drop the file on the upload box and wait for ``status``."""
        self.page.locator('#upload input[type=file]').set_input_files(str(path))
        self.wait_status(status)

    def ask(self, question: str, replies: int):
        """Type the question, press Enter and wait until the page holds ``replies`` answers, all done."""
        self.page.fill('#message textarea', question)
        self.page.press('#message textarea', 'Enter')
        self.wait(f"""{STATUS_JS} == 'Ready.' &&
                   document.querySelectorAll('#chatbot [data-testid="bot"]').length == {replies}""")

    def set_max_new_tokens(self, n: int):
        box = self.page.locator('#max-new-tokens input[type=number]')
        box.fill(str(n))
        box.press('Enter')


def test_chat_in_the_browser(server, image_files, tmp_path):
    url, model_dir, port, log = server
    assert f'Running on local URL:  {url}' in log
    assert listening_addresses(port) == {'0100007F'}  # 127.0.0.1 only: no other interface, no IPv6
    model = get_model(str(model_dir))
    q1, q2 = 'What is in the image?', 'What color is the cat?'
    first, second = image_files[0], image_files[1]
    a1 = chat(model, first, [{'role': 'user', 'content': q1}])
    a2 = chat(model, first, [{'role': 'user', 'content': q1}, {'role': 'assistant', 'content': a1},
                             {'role': 'user', 'content': q2}])
    a2_short = chat(model, first, [{'role': 'user', 'content': q1}, {'role': 'assistant', 'content': a1},
                                   {'role': 'user', 'content': q2}], max_new_tokens=5)
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a picture')

    outside = []

    def loopback_only(route):
        if urlparse(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            tab = browser.new_page(viewport={'width': 1280, 'height': 900})
            tab.route('**/*', loopback_only)
            tab.goto(url)
            page = Page(tab)
            page.wait_status('Upload an image to start.')

            tab.fill('#message textarea', 'Hello?')
            tab.click('#send')
            page.wait_status('Upload an image first.')

            page.upload(bad, 'Cannot read bad.png as an image: upload a PNG, JPEG, ... picture.')
            page.upload(first, f'New conversation about {first.name}.')
            tab.fill('#message textarea', '   ')
            tab.click('#send')
            page.wait_status('The message is empty: type a question about the image.')

            page.ask(q1, replies=1)
            assert page.replies() == [a1]
            assert tab.input_value('#message textarea') == ''
            page.ask(q2, replies=2)
            assert page.replies() == [a1, a2]
            tab.screenshot(path=str(tmp_path / 'chat.png'))

            # Regenerate with fewer tokens: the last reply is replaced, not added.
            page.set_max_new_tokens(5)
            tab.click('#regenerate')
            page.wait(f"""{STATUS_JS} == 'Ready.' &&
                       [...document.querySelectorAll('#chatbot [data-testid="bot"] .message-content')]
                       .map(e => e.textContent).join('\\n') != {(a1 + chr(10) + a2)!r}""")
            assert page.replies() == [a1, a2_short]

            tab.fill('#message textarea', '<image> and this one?')  # refused: one image per conversation
            tab.press('#message textarea', 'Enter')
            page.wait_status('Error: ')
            assert "contains '<image>': a conversation has one image" in page.status()
            assert page.replies() == [a1, a2_short]
            assert tab.input_value('#message textarea') == '<image> and this one?'  # kept, to be edited

            tab.click('#clear')
            page.wait_status('The conversation starts over.')
            assert page.replies() == []
            page.ask(q1, replies=1)
            assert page.replies() == [chat(model, first, [{'role': 'user', 'content': q1}], max_new_tokens=5)]

            page.upload(second, f'New conversation about {second.name}.')  # a new image, a new conversation
            assert page.replies() == []
            page.ask(q1, replies=1)
            assert page.replies() == [chat(model, second, [{'role': 'user', 'content': q1}], max_new_tokens=5)]
        finally:
            browser.close()
    assert outside == []
