"""Chat with LLaVA about an image in the terminal; replies stream as they are generated.

    python demo/chat.py demo/cat-dog.png llava-tiny_caption
    python demo/chat.py demo/cat-dog.png llava-7b-v1.5_vqa --device cuda --temperature 0.2

Commands: ``/image PATH`` talks about another image (the conversation starts
over), ``/reset`` starts over, ``/save FILE`` writes the conversation as
LLaVA-Instruct json. An empty line or Ctrl-D exits.
"""
import json
import sys
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Dict, List

from llava_mm.apis.model_zoo import add_model_arguments, model_from_arguments
from llava_mm.apis.chat import llava_instruct_record, stream_chat
from llava_mm.apis.inference import _load_input
from llava_mm.fileio import write_bytes_atomic

HELP = 'Commands: /image PATH, /reset, /save FILE; an empty line or Ctrl-D exits.'


class Session:
    """One conversation about one image, driven line by line."""

    def __init__(self, model, image: str, generation: dict) -> None:
        self.model, self.generation = model, generation
        self.image = image
        self.messages: List[Dict[str, str]] = []

    def command(self, line: str) -> None:
        name, _, arg = line.partition(' ')
        arg = arg.strip()
        if name == '/reset':
            self.messages = []
            print('The conversation starts over.')
        elif name == '/image' and arg:
            _load_input(arg)  # check before switching: a bad path keeps the current conversation
            self.image, self.messages = arg, []
            print(f'Now talking about {arg}; the conversation starts over.')
        elif name == '/save' and arg:
            if not self.messages:
                raise ValueError('nothing to save yet: ask a question first')
            record = llava_instruct_record(self.image, self.messages, Path(self.image).stem)
            write_bytes_atomic(arg, json.dumps([record], indent=2, ensure_ascii=False).encode() + b'\n')
            print(f'Saved {len(self.messages) // 2} round(s) to {arg}.')
        else:
            raise ValueError(f'unknown command {line!r}. {HELP}')

    def ask(self, text: str) -> None:
        messages = self.messages + [{'role': 'user', 'content': text}]
        stream = stream_chat(self.model, self.image, messages, **self.generation)
        if stream.notice:
            print(f'[{stream.notice}]')
        print('ASSISTANT: ', end='', flush=True)
        pieces = []
        for piece in stream:
            print(piece, end='', flush=True)
            pieces.append(piece)
        print()
        self.messages = messages + [{'role': 'assistant', 'content': ''.join(pieces).strip()}]


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument('image', help='image file')
    add_model_arguments(parser)
    parser.add_argument('--temperature', type=float, default=0.0, help='0 (default) decodes greedily')
    parser.add_argument('--top-p', type=float, default=1.0, help='nucleus sampling when temperature > 0')
    parser.add_argument('--max-new-tokens', type=int, help="default: the model's generation_cfg")
    parser.add_argument('--seed', type=int, help='seed sampling for reproducible replies')
    args = parser.parse_args(argv)
    generation = dict(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                      seed=args.seed)
    try:
        _load_input(args.image)
        model = model_from_arguments(args)
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    session = Session(model, args.image, generation)
    print(f'Chatting about {args.image}. {HELP}')
    try:
        while True:
            try:
                line = input('USER: ').strip()
            except EOFError:
                print()
                break
            if not line:
                break
            try:
                session.command(line) if line.startswith('/') else session.ask(line)
            except (OSError, ValueError) as err:
                print(f'error: {err}')
    except KeyboardInterrupt:
        print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
