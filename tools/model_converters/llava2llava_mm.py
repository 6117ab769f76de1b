"""Convert a LLaVA checkpoint of any supported layout into a llava_mm model directory.

Sources (detected automatically):

* transformers llava-hf directories (``LlavaForConditionalGeneration``)
* original LLaVA directories, e.g. liuhaotian/llava-v1.5-7b (the vision tower
  comes from the CLIP checkpoint their config names, or --vision-tower)
* checkpoint files (.pth / .bin / .safetensors, local or URL) in mmpretrain,
  original LLaVA, llava-hf or llava_mm layout, with --config

The output (config.py + sharded safetensors + tokenizer) loads with
``get_model(OUT)``. Pickle files are only ever loaded with weights_only=True.

Examples::

    python tools/model_converters/llava2llava_mm.py liuhaotian/llava-v1.5-7b ./llava-v1.5-7b
    python tools/model_converters/llava2llava_mm.py llava-hf/llava-1.5-7b-hf ./llava-1.5-7b
    python tools/model_converters/llava2llava_mm.py llava-7b-v1.5_mmpretrain.pth ./out \\
        --config llava-7b-v1.5_caption
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a source checkout
from llava_mm.apis.model_zoo import resolve_model  # noqa: E402
from llava_mm.converters import convert_to_llava_mm  # noqa: E402
from llava_mm.converters.formats import add_output_arguments, output_kwargs  # noqa: E402
from llava_mm.cli import run  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='model directory, hub id, checkpoint file or URL')
    parser.add_argument('out', help='output llava_mm model directory (written atomically)')
    parser.add_argument('--config', help='model name (llava_mm.list_models()) or config file; required for '
                        'checkpoint files')
    parser.add_argument('--vision-tower', metavar='PATH_OR_HUB_ID',
                        help='CLIP checkpoint for sources without vision weights (default: the one they name)')
    add_output_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Path:
    args = parse_args(argv)
    config = resolve_model(args.config)[0] if args.config else None  # a name, config file or model directory
    out = convert_to_llava_mm(args.src, args.out, config=config, vision_tower=args.vision_tower,
                              **output_kwargs(args))
    print(f'Wrote {out}')
    return out


if __name__ == '__main__':
    run(main)
