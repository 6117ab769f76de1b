"""Shared fixtures: tiny models with a tokenizer trained on the spot, and drawn images."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from llava_mm.testing import make_tiny_model_dir

REPO = Path(__file__).resolve().parents[1]


def draw_image(seed: int, size=(320, 240)) -> Image.Image:
    """A non-square picture of coloured shapes; each seed gives a different one."""
    rng = np.random.RandomState(seed)
    img = Image.new('RGB', size, tuple(int(c) for c in rng.randint(0, 255, 3)))
    d = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = rng.randint(0, size[0] - 20), rng.randint(0, size[1] - 20)
        box = [x0, y0, x0 + rng.randint(10, size[0] // 2), y0 + rng.randint(10, size[1] // 2)]
        colour = tuple(int(c) for c in rng.randint(0, 255, 3))
        (d.ellipse if rng.rand() < 0.5 else d.rectangle)(box, fill=colour)
    return img


@pytest.fixture(scope='session')
def images():
    """Six images of different sizes and aspect ratios."""
    sizes = [(320, 240), (240, 320), (500, 180), (224, 224), (97, 301), (640, 427)]
    return [draw_image(i, s) for i, s in enumerate(sizes)]


@pytest.fixture(scope='session')
def image_files(tmp_path_factory, images):
    """The same images as JPEG and PNG files."""
    root = tmp_path_factory.mktemp('images')
    paths = []
    for i, img in enumerate(images):
        path = root / (f'img{i}.jpg' if i % 2 else f'img{i}.png')
        img.save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope='session')
def tiny_v15_dir(tmp_path_factory):
    return make_tiny_model_dir(tmp_path_factory.mktemp('models') / 'tiny-v1.5', version='v1.5')


@pytest.fixture(scope='session')
def tiny_v1_dir(tmp_path_factory):
    return make_tiny_model_dir(tmp_path_factory.mktemp('models') / 'tiny-v1', version='v1')


@pytest.fixture(scope='session')
def tiny_v15_sp_dir(tmp_path_factory):
    """The tiny v1.5 model with a LLaMA-style SentencePiece tokenizer (tokenizer.model, as liuhaotian/* ship)."""
    return make_tiny_model_dir(tmp_path_factory.mktemp('models') / 'tiny-v1.5-sp', version='v1.5',
                               tokenizer='sentencepiece')


@pytest.fixture(scope='session')
def tiny_v1_sp_dir(tmp_path_factory):
    return make_tiny_model_dir(tmp_path_factory.mktemp('models') / 'tiny-v1-sp', version='v1',
                               tokenizer='sentencepiece')
