"""Draw a data set of scenes (coloured shapes and cartoon animals) in the real LLaVA / COCO / VQAv2 layouts.

    python tools/make_scenes.py data/scenes-train --num-images 5000 --seed 0 --split train2014 \
        --outputs pretrain instruct
    python tools/make_scenes.py data/scenes-val --num-images 500 --seed 1       # all outputs, val2014

Writes under OUT (paths relative to OUT, which is the image root / data_root):
  {split}/COCO_{split}_{image_id:012d}.jpg
  pretrain.json, instruct.json                       LCS-558K / LLaVA-Instruct schema
  annotations/coco_karpathy_test.json (+ _gt.json)   COCO captions, 5 references per image
  annotations/v2_OpenEnded_mscoco_{split}_questions.json, v2_mscoco_{split}_annotations.json
  annotations/scenes_{split}.json                    what was drawn (ground truth of all the above)
The same seed gives the same files, byte for byte.
"""
import argparse
import sys
import time
from pathlib import Path

# This script draws with the llava_mm of its own source tree, from whatever directory it is run.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llava_mm.scenes import OUTPUTS, write_scenes  # noqa: E402
from llava_mm.cli import run  # noqa: E402


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {value}')
    return value


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out', help='output folder (must be empty or absent unless --force)')
    parser.add_argument('--num-images', type=positive_int, required=True, help='how many scenes to draw')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--split', default='val2014', help='image folder and VQA file split name (default val2014)')
    parser.add_argument('--outputs', nargs='+', choices=OUTPUTS, default=list(OUTPUTS),
                        help='annotation files to write (default: all)')
    parser.add_argument('--questions-per-image', type=positive_int, default=3, help='VQA questions per image')
    parser.add_argument('--force', action='store_true', help='write into a non-empty OUT')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        paths = write_scenes(args.out, args.num_images, seed=args.seed, split=args.split, outputs=args.outputs,
                             questions_per_image=args.questions_per_image, force=args.force)
    except (ValueError, FileExistsError, NotADirectoryError) as err:
        parser.error(str(err))
    print(f'Drew {args.num_images} scenes in {time.perf_counter() - start:.1f} s into {paths["root"]}:')
    for key, path in paths.items():
        if key != 'root':
            print(f'  {key:16s} {path}')


if __name__ == '__main__':
    run(main)
