"""Per-patch labels of the vision stage agree with the pixels the tower is given (the real LLaVA-1.5 pipeline),
and reach the tower through ``ScenePatchDataset``."""
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from llava_mm.datasets import ScenePatchDataset
from llava_mm.datasets.transforms import pil_to_bgr
from llava_mm.models.builder import llava_test_pipeline
from llava_mm.scenes import make_scene, render_scene, write_scenes
from llava_mm.scenes.patch_labels import PATCH_CLASSES, patch_labels
from llava_mm.scenes.vocabulary import COLOURS

SIZE, PATCH = 64, 8
GRID = SIZE // PATCH


def colour_fractions(pad_to_square: bool):
    """For labelled patches: the share of the patch's pixels near the labelled colour; for background patches:
    the largest such share over the scene's objects."""
    init_default_scope('llava_mm')
    pipeline = Compose(llava_test_pipeline(SIZE)[1:])  # the image is given, not loaded
    labelled, background = [], []
    for i in range(60):
        scene = make_scene(11, i)
        pixels = pipeline({'img': pil_to_bgr(render_scene(scene))})['inputs'].numpy()
        rgb = pixels[::-1].transpose(1, 2, 0).astype(float)
        labels = patch_labels(scene, GRID, pad_to_square=pad_to_square)
        for p, colour in enumerate(labels['colour']):
            r, c = divmod(p, GRID)
            block = rgb[r * PATCH:(r + 1) * PATCH, c * PATCH:(c + 1) * PATCH].reshape(-1, 3)

            def near(name):
                return float((np.linalg.norm(block - np.array(COLOURS[name]), axis=1) < 60).mean())
            if colour:
                labelled.append(near(PATCH_CLASSES['colour'][colour]))
            else:
                background.append(max(near(o.colour) for o in scene.objects))
    return np.array(labelled), np.array(background)


def test_labelled_patches_show_their_object_in_the_padded_image():
    labelled, background = colour_fractions(pad_to_square=True)
    assert (labelled > 0.1).mean() >= 0.78 and np.median(labelled) >= 0.28
    assert (background < 0.15).mean() >= 0.93


def test_labels_for_a_stretched_image_do_not_fit_the_padded_one():
    """The check above can fail: labels made for the wrong frame miss the objects."""
    labelled, _ = colour_fractions(pad_to_square=False)
    assert (labelled > 0.1).mean() < 0.75


def test_every_object_is_labelled_and_kinds_match_colours():
    for i in range(100):
        scene = make_scene(12, i)
        labels = patch_labels(scene, GRID)
        pairs = {(PATCH_CLASSES['colour'][c], PATCH_CLASSES['kind'][k])
                 for c, k in zip(labels['colour'], labels['kind']) if c or k}
        assert pairs == {(o.colour, o.kind) for o in scene.objects}
        assert all((c == 0) == (k == 0) for c, k in zip(labels['colour'], labels['kind']))


def test_dataset_reads_make_scenes_output(tmp_path):
    paths = write_scenes(tmp_path / 'scenes', 5, seed=2, split='train2014', outputs=('pretrain',))
    pipeline = llava_test_pipeline(SIZE)[:-1] + [dict(type='PackLlavaInputs', data_keys=('patch_labels',))]
    dataset = ScenePatchDataset(ann_file='annotations/scenes_train2014.json', data_root=paths['root'],
                                data_prefix='', grid=GRID, pipeline=pipeline)
    assert len(dataset) == 5
    sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (3, SIZE, SIZE)
    assert sample['data_samples'].patch_labels == patch_labels(make_scene(2, 0), GRID)


def test_dataset_names_a_file_that_is_not_make_scenes_output(tmp_path):
    bad = tmp_path / 'annotations' / 'scenes_train2014.json'
    bad.parent.mkdir()
    bad.write_text('[]')
    with pytest.raises(ValueError, match=r'scenes_train2014.json: expected make_scenes'):
        ScenePatchDataset(ann_file=str(bad), data_root=str(tmp_path), grid=GRID, pipeline=[])
