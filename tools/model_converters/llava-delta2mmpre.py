"""Merge an original LLaVA delta into its LLaMA base and save it for llava_mm.

The result is bit-identical to original LLaVA's ``apply_delta`` (float16
addition, image-token rows from the delta, ``mm_projector`` copied, rotary
``inv_freq`` dropped, the delta's tokenizer kept), computed tensor by tensor so
memory stays bounded by the largest tensors, not the model. Base and delta are
validated against each other before anything is written, and OUT appears only
when complete.

OUT is a llava_mm model directory (config.py + sharded safetensors +
tokenizer) for ``get_model(OUT)``, or, when it ends in ``.pth``, one checkpoint
for ``get_model(CONFIG, pretrained=OUT)``.

Examples::

    python tools/model_converters/llava-delta2mmpre.py huggyllama/llama-7b \\
        liuhaotian/LLaVA-Lightning-7B-delta-v1-1 ./LLaVA-Lightning-7B-delta-v1-1.pth
    python tools/model_converters/llava-delta2mmpre.py BASE OUT_DIR --delta DELTA \\
        --vision-tower /models/clip-vit-large-patch14
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a source checkout
from llava_mm.converters import merge_delta  # noqa: E402
from llava_mm.converters.formats import add_output_arguments, output_kwargs  # noqa: E402
from llava_mm.cli import run  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        usage='%(prog)s BASE DELTA OUT [options]\n       %(prog)s BASE OUT --delta DELTA [options]')
    parser.add_argument('base', metavar='BASE',
                        help='LLaMA base weights: local directory or hub id (e.g. huggyllama/llama-7b)')
    parser.add_argument('paths', nargs='+', metavar='DELTA OUT',
                        help='the delta (local directory or hub id) and OUT; or only OUT with --delta')
    parser.add_argument('--delta', help='the delta, as in mmpretrain\'s script form: BASE OUT --delta DELTA')
    parser.add_argument('--vision-tower', metavar='PATH_OR_HUB_ID',
                        help='CLIP checkpoint for the vision tower (a transformers CLIPVisionModel / CLIPModel '
                        'directory or hub id); default: the delta config\'s mm_vision_tower')
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    if args.delta:
        if len(args.paths) != 1:
            parser.error('with --delta give exactly BASE OUT')
        args.out = args.paths[0]
    else:
        if len(args.paths) != 2:
            parser.error('give BASE DELTA OUT (or BASE OUT --delta DELTA)')
        args.delta, args.out = args.paths
    return args


def main(argv: Optional[List[str]] = None) -> Path:
    args = parse_args(argv)
    out = merge_delta(args.base, args.delta, args.out, vision_tower=args.vision_tower, **output_kwargs(args))
    print(f'Wrote {out}')
    return out


if __name__ == '__main__':
    run(main)
