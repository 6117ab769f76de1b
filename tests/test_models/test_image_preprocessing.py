"""Pixels from llava_mm's pipeline equal transformers' CLIP / LLaVA image processors."""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from transformers import CLIPImageProcessorPil, LlavaImageProcessorPil

from llava_mm import get_model
from llava_mm.apis.inference import _build_pipeline, _load_input


def pipeline_pixels(model, path):
    data = _build_pipeline(model, from_file=True)(_load_input(path))
    return model.data_preprocessor(pseudo_collate([data]))['images'][0]


@pytest.mark.parametrize('version', ['v1', 'v1.5'])
def test_pixels_equal_transformers(version, image_files, tiny_v1_dir, tiny_v15_dir):
    model = get_model(tiny_v1_dir if version == 'v1' else tiny_v15_dir)
    if version == 'v1':  # shortest edge 224 (bicubic) + centre crop 224
        processor = CLIPImageProcessorPil(size={'shortest_edge': 224}, crop_size={'height': 224, 'width': 224})
    else:  # pad to square with the CLIP-mean colour, then 336
        processor = LlavaImageProcessorPil(do_pad=True, size={'shortest_edge': 336},
                                           crop_size={'height': 336, 'width': 336})
    from PIL import Image
    for path in image_files:
        ours = pipeline_pixels(model, path)
        theirs = processor(Image.open(path), return_tensors='pt')['pixel_values'][0]
        assert ours.shape == theirs.shape
        assert torch.equal(ours, theirs), f'{path.name}: max diff {(ours - theirs).abs().max()}'


def test_v15_pads_instead_of_squashing(tiny_v15_dir, images):
    """A wide image keeps its aspect ratio: the top and bottom rows are the pad colour."""
    model = get_model(tiny_v15_dir)
    wide = images[2]  # 500 x 180
    data = _build_pipeline(model, from_file=False)(_load_input(wide))
    top_row = data['inputs'][:, 0, :]  # BGR uint8
    assert (top_row[0] == 104).all() and (top_row[1] == 116).all() and (top_row[2] == 122).all()
    assert data['inputs'].shape[-2:] == (336, 336)


def test_normalization_equals_transformers_for_every_pixel_value():
    """All 256 uint8 values in every channel: the fast float32 path gives transformers' bits."""
    import numpy as np
    from transformers.image_transforms import normalize, rescale

    from llava_mm.models.data_preprocessor import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, LlavaDataPreprocessor
    values = np.broadcast_to(np.arange(256, dtype=np.uint8).reshape(16, 16), (3, 16, 16)).copy()  # CHW, RGB
    expected = normalize(rescale(values, 1 / 255, input_data_format='channels_first'), OPENAI_CLIP_MEAN,
                         OPENAI_CLIP_STD, input_data_format='channels_first')
    ours = LlavaDataPreprocessor(to_rgb=False).normalize(torch.from_numpy(values)[None])[0]
    assert torch.equal(ours, torch.from_numpy(expected))
