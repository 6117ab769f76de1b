"""Make a tiny random-weights LLaVA model directory, to try code paths in seconds.

    python tools/make_tiny_model.py /tmp/tiny                  # v1.5 recipe
    python tools/make_tiny_model.py /tmp/tiny-v1 --version v1  # v1 recipe

The result loads with ``get_model(DIR)``. Its outputs are gibberish: the shipped
``demo/llava-tiny`` (``llava-tiny_caption``) is a trained model instead, made by
``bash tools/train_tiny_scenes.sh``.
"""
import argparse

from llava_mm.testing import make_tiny_model_dir
from llava_mm.cli import run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out', help='output model directory')
    parser.add_argument('--version', choices=['v1', 'v1.5'], default='v1.5', help='LLaVA recipe to shrink')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random weights')
    parser.add_argument('--force', action='store_true', help='replace an existing directory')
    args = parser.parse_args(argv)
    out = make_tiny_model_dir(args.out, version=args.version, seed=args.seed, overwrite=args.force)
    print(f'Wrote {out}')


if __name__ == '__main__':
    run(main)
