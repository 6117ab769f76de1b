"""Caption an image, or answer a question about it.

    python demo/image_demo.py demo/cat-dog.png llava-tiny_caption
    python demo/image_demo.py demo/cat-dog.png llava-7b-v1.5_vqa --question "What animals are there?" --device cuda
    python demo/image_demo.py demo/cat-dog.png llava-7b-v1_caption --pretrained MERGED.pth

MODEL is a name from ``llava_mm.list_models()``, a config file or a model directory.
``llava-tiny_caption`` / ``llava-tiny_vqa`` is the tiny scenes model shipped with
the repo (trained here on drawn scenes by ``bash tools/train_tiny_scenes.sh``): it
runs anywhere without network and describes drawings like ``demo/cat-dog.png``.
"""
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path

from llava_mm import inference_model
from llava_mm.apis.model_zoo import add_model_arguments, model_from_arguments
from llava_mm.cli import run


def main(argv=None) -> None:
    parser = ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument('image', help='image file')
    add_model_arguments(parser)
    parser.add_argument('--question', help='ask a question instead of captioning')
    parser.add_argument('--max-new-tokens', type=int, help='override generation_cfg.max_new_tokens')
    parser.add_argument('--num-beams', type=int, help='override generation_cfg.num_beams')
    args = parser.parse_args(argv)
    if not Path(args.image).is_file():  # before the (possibly minutes-long) model load
        parser.error(f'image file not found: {args.image}')

    model = model_from_arguments(args)
    generation = {k: v for k, v in (('max_new_tokens', args.max_new_tokens), ('num_beams', args.num_beams))
                  if v is not None}
    print(inference_model(model, args.image, args.question, **generation))


if __name__ == '__main__':
    run(main)
