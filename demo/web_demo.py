"""Chat with LLaVA about an image in a web page (gradio); replies stream as they are generated.

    python demo/web_demo.py llava-tiny_caption                 # then open http://127.0.0.1:7860
    python demo/web_demo.py llava-7b-v1.5_vqa --device cuda --port 8000

Upload an image, then ask questions about it; a new image starts a new
conversation. The page binds to 127.0.0.1 unless ``--host`` says otherwise.
Needs ``pip install -e ".[web]"`` (gradio).
"""
import os
import sys
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')  # no usage reports: only the page's own traffic

import gradio as gr  # noqa: E402

from llava_mm.apis.model_zoo import add_model_arguments, model_from_arguments  # noqa: E402
from llava_mm.apis.chat import stream_chat  # noqa: E402
from llava_mm.apis.inference import _load_input  # noqa: E402

Messages = List[Dict[str, str]]
#: (state, chat history, message box, status line)
Outputs = Tuple[dict, Messages, str, str]
#: System fonts only: the page loads nothing from outside the server.
THEME = gr.themes.Default(font=['ui-sans-serif', 'system-ui', 'sans-serif'], font_mono=['ui-monospace', 'monospace'])


def new_image(path: Optional[str], state: dict) -> Tuple[None, dict, Messages, Optional[str], str]:
    """A new conversation about the uploaded image: (emptied upload box, state, history, preview, status).

    The upload box is emptied so that the next image can be dropped right away;
    an unreadable file keeps the current conversation.
    """
    try:
        _load_input(path)
    except (OSError, ValueError):
        return (None, state, gr.skip(), gr.skip(),
                f'Cannot read {Path(path).name} as an image: upload a PNG, JPEG, ... picture.')
    return None, {'image': path, 'messages': []}, [], path, f'New conversation about {Path(path).name}.'


def build_demo(model, title: str) -> gr.Blocks:
    """The page: image upload and preview, sampling controls, chat history, message box, buttons, status."""
    default_max = model.generation_cfg['max_new_tokens']

    def reply(state: dict, messages: Messages, temperature: float, top_p: float, max_new_tokens: float,
              box=gr.skip()) -> Iterator[Outputs]:
        """Stream the answer to ``messages`` (ending with the user turn) into the history; the message
        box becomes ``box`` once the question is accepted (it keeps a refused one)."""
        try:
            stream = stream_chat(model, state['image'], messages, temperature=temperature, top_p=top_p,
                                 max_new_tokens=int(max_new_tokens))
        except (OSError, ValueError) as err:
            yield state, state['messages'], gr.skip(), f'Error: {err}'
            return
        status = stream.notice or 'Answering...'
        text = ''
        for piece in stream:
            text += piece
            yield state, messages + [{'role': 'assistant', 'content': text}], box, status
        state = {**state, 'messages': messages + [{'role': 'assistant', 'content': text.strip()}]}
        yield state, state['messages'], box, stream.notice or 'Ready.'

    def send(text: str, state: dict, temperature: float, top_p: float, max_new_tokens: float) -> Iterator[Outputs]:
        if state['image'] is None:
            yield state, state['messages'], gr.skip(), 'Upload an image first.'
            return
        if not text.strip():
            yield state, state['messages'], gr.skip(), 'The message is empty: type a question about the image.'
            return
        messages = state['messages'] + [{'role': 'user', 'content': text.strip()}]
        yield from reply(state, messages, temperature, top_p, max_new_tokens, box='')

    def regenerate(state: dict, temperature: float, top_p: float, max_new_tokens: float) -> Iterator[Outputs]:
        if not state['messages']:
            yield state, [], gr.skip(), 'Nothing to regenerate yet: ask a question first.'
            return
        yield from reply(state, state['messages'][:-1], temperature, top_p, max_new_tokens)

    def clear(state: dict) -> Outputs:
        return {**state, 'messages': []}, [], '', 'The conversation starts over.'

    with gr.Blocks(title=title) as demo:
        gr.Markdown(f'## LLaVA chat: {title}')
        state = gr.State({'image': None, 'messages': []})
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label='Upload an image (starts a new conversation)', file_types=['image'],
                                 type='filepath', height=120, elem_id='upload')
                preview = gr.Image(label='Image', type='filepath', interactive=False, elem_id='preview')
                temperature = gr.Slider(0, 1, value=0, step=0.05, label='Temperature (0 = greedy)',
                                        elem_id='temperature')
                top_p = gr.Slider(0.05, 1, value=1, step=0.05, label='Top-p', elem_id='top-p')
                max_new_tokens = gr.Slider(1, 1024, value=default_max, step=1, label='Max new tokens',
                                           elem_id='max-new-tokens')
            with gr.Column(scale=2):
                # Replies are shown as the model wrote them (no markdown), with copy buttons and no sharing.
                chatbot = gr.Chatbot(label='Conversation', render_markdown=False, buttons=['copy', 'copy_all'],
                                     elem_id='chatbot', height=420)
                message = gr.Textbox(show_label=False, placeholder='Ask about the image and press Enter',
                                     elem_id='message')
                with gr.Row():
                    send_btn = gr.Button('Send', variant='primary', elem_id='send')
                    regenerate_btn = gr.Button('Regenerate', elem_id='regenerate')
                    clear_btn = gr.Button('Clear', elem_id='clear')
                status = gr.Textbox(label='Status', value='Upload an image to start.', interactive=False,
                                    elem_id='status')
        controls = [temperature, top_p, max_new_tokens]
        outputs = [state, chatbot, message, status]
        upload.upload(new_image, [upload, state], [upload, state, chatbot, preview, status])
        # One model, one generation at a time, whichever button started it.
        for trigger in (message.submit, send_btn.click):
            trigger(send, [message, state, *controls], outputs, concurrency_id='model')
        regenerate_btn.click(regenerate, [state, *controls], outputs, concurrency_id='model')
        for trigger in (clear_btn.click, chatbot.clear):  # the history's own trash button clears the state too
            trigger(clear, state, outputs)
    return demo


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument('--host', default='127.0.0.1', help='address to bind (default: this machine only)')
    parser.add_argument('--port', type=int, default=7860)
    args = parser.parse_args(argv)
    try:
        model = model_from_arguments(args)
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    demo = build_demo(model, Path(args.model).name)
    demo.queue(default_concurrency_limit=1).launch(server_name=args.host, server_port=args.port, theme=THEME,
                                                   ssr_mode=False, footer_links=[])
    return 0


if __name__ == '__main__':
    sys.exit(main())
