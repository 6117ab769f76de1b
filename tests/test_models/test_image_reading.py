"""Images are read as LLaVA and transformers read them: ``Image.open(path).convert('RGB')``.

No EXIF rotation (a phone JPEG keeps its stored orientation) and PIL's own conversion of LA / P / CMYK / RGBA,
so a path, the same PIL image, and transformers' processor on ``Image.open(path).convert('RGB')`` give the same
pixels.
"""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from PIL import Image
from transformers import LlavaImageProcessorPil

from llava_mm import get_model
from llava_mm.apis.inference import _build_pipeline, _load_input

ORIENTATION = 0x0112


def _pixels(model, image):
    data = _build_pipeline(model, from_file=isinstance(image, Path))(_load_input(image))
    return model.data_preprocessor(pseudo_collate([data]))['images'][0]


@pytest.fixture(scope='module')
def odd_images(tmp_path_factory, images):
    """A JPEG with EXIF orientation 6 (rotate 90° on display), and LA / P / P+transparency / CMYK / RGBA files."""
    root = tmp_path_factory.mktemp('odd')
    base = images[0]  # 320 x 240, non-square
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    base.save(root / 'phone.jpg', exif=exif.tobytes(), quality=95)
    rgba = base.convert('RGBA')
    alpha = np.zeros((base.height, base.width), dtype=np.uint8)
    alpha[:, : base.width // 2] = 255
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(root / 'rgba.png')
    la = base.convert('LA')
    la.putalpha(Image.fromarray(alpha))
    la.save(root / 'la.png')
    base.convert('P', palette=Image.Palette.ADAPTIVE, colors=16).save(root / 'palette.png')
    p_trans = base.convert('P', palette=Image.Palette.ADAPTIVE, colors=16)
    p_trans.info['transparency'] = 0
    p_trans.save(root / 'palette_transparent.png', transparency=0)
    base.convert('CMYK').save(root / 'cmyk.jpg', quality=95)
    return sorted(root.iterdir())


def test_path_pil_and_transformers_agree(tiny_v15_dir, odd_images):
    model = get_model(tiny_v15_dir)
    processor = LlavaImageProcessorPil(do_pad=True, size={'shortest_edge': 336}, crop_size={'height': 336,
                                                                                            'width': 336})
    for path in odd_images:
        with Image.open(path) as opened:
            opened.load()
            from_path = _pixels(model, path)
            from_pil = _pixels(model, opened)
            # What LLaVA feeds its processor: Image.open(p).convert('RGB'), whose pixels the (numpy) processor of
            # its time read with np.asarray (a palette image's leftover `transparency` key is ignored).
            rgb = Image.fromarray(np.asarray(opened.convert('RGB')))
            theirs = processor(rgb, return_tensors='pt')['pixel_values'][0]
        assert torch.equal(from_path, from_pil), path.name
        assert torch.equal(from_path, theirs), f'{path.name}: max diff {(from_path - theirs).abs().max()}'


def test_exif_orientation_is_not_applied(tiny_v15_dir, odd_images):
    """The stored 320x240 JPEG stays landscape: its padding is at the top and bottom, not the sides."""
    model = get_model(tiny_v15_dir)
    phone = next(p for p in odd_images if p.name == 'phone.jpg')
    with Image.open(phone) as im:
        assert im.getexif()[ORIENTATION] == 6 and im.size == (320, 240)
    data = _build_pipeline(model, from_file=True)(_load_input(phone))
    top_row, left_column = data['inputs'][:, 0, :], data['inputs'][:, :, 0]
    pad_bgr = torch.tensor([104, 116, 122], dtype=torch.uint8)[:, None]
    assert (top_row == pad_bgr).all()
    assert not (left_column == pad_bgr).all()


def test_arrays_rgba_converted_float_refused(tiny_v15_dir, images):
    model = get_model(tiny_v15_dir)
    bgr = np.ascontiguousarray(np.asarray(images[1])[..., ::-1])
    bgra = np.concatenate([bgr, np.full(bgr.shape[:2] + (1, ), 7, np.uint8)], axis=2)
    assert torch.equal(_pixels(model, bgra), _pixels(model, bgr))
    with pytest.raises(ValueError, match=r'uint8.*got dtype float32.*astype\(np.uint8\)'):
        _load_input(bgr.astype(np.float32) / 255)
    with pytest.raises(ValueError, match=r'HxWx3.*got shape \(4, 5, 2\)'):
        _load_input(np.zeros((4, 5, 2), np.uint8))
