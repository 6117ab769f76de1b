"""Export a llava_mm model directory as a transformers llava-hf directory.

The result loads with ``LlavaForConditionalGeneration.from_pretrained`` and
``AutoProcessor.from_pretrained`` (and so in vLLM / SGLang) and serves as
transformers users run it: ``processor.apply_chat_template`` renders LLaVA's
vicuna_v1 conversation format, the processor gives llava_mm's prompt ids and
pixels, and ``generate`` gives llava_mm's greedy answers. Converting it back
with llava2llava_mm.py gives every tensor llava_mm has, identical (the rows
added for ``<image>`` and padding are removed). Only v1.5-style models (MLP
projector, vicuna_v1 prompt) have a llava-hf equivalent.

Example::

    python tools/model_converters/llava_mm2hf.py work_dirs/my-llava ./my-llava-hf
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a source checkout
from llava_mm.converters import export_hf_llava  # noqa: E402
from llava_mm.converters.formats import add_output_arguments, output_kwargs  # noqa: E402
from llava_mm.cli import run  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='llava_mm model directory (config.py + safetensors + tokenizer)')
    parser.add_argument('out', help='output directory (written atomically)')
    parser.add_argument('--pad-vocab-to', type=int, default=64,
                        help='pad embedding / lm_head rows to a multiple of this after adding <image> '
                        '(default 64 like the official llava-hf conversion; 1 = no padding)')
    add_output_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Path:
    args = parse_args(argv)
    out = export_hf_llava(args.src, args.out, pad_vocab_to=args.pad_vocab_to, **output_kwargs(args))
    print(f'Wrote {out}')
    return out


if __name__ == '__main__':
    run(main)
