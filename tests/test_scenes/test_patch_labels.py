"""Per-patch labels of the vision stage agree with the pixels the tower is given (the real LLaVA-1.5 pipeline),
and reach the tower through ``ScenePatchDataset``."""
import numpy as np
import pytest
from mmengine.dataset import Compose
from PIL import Image, ImageDraw
from mmengine.registry import init_default_scope

from llava_mm.datasets import ScenePatchDataset
from llava_mm.datasets.transforms import pil_to_bgr
from llava_mm.models.builder import llava_test_pipeline
from llava_mm.scenes import draw_object, make_scene, write_scenes
from llava_mm.scenes.patch_labels import PATCH_CLASSES, patch_labels

SIZE, PATCH = 64, 8
GRID = SIZE // PATCH


def drawn_coverage(scene, pad_to_square: bool = True) -> np.ndarray:
    """Per patch, the share of the tower input's pixels that objects cover: the scene's objects drawn on black,
    sent through the real image pipeline (LLaVA-1.5's by default, v1's resize-and-crop otherwise)."""
    init_default_scope('llava_mm')
    pipeline = Compose(llava_test_pipeline(SIZE, pad_to_square, background=(0, 0, 0))[1:])  # the image is given
    canvas = Image.new('RGB', (scene.width, scene.height), (0, 0, 0))
    for obj in scene.objects:
        draw_object(ImageDraw.Draw(canvas), obj.kind, 'white', obj.box)
    pixels = pipeline({'img': pil_to_bgr(canvas)})['inputs'].numpy().max(0) > 100
    return pixels.reshape(GRID, PATCH, GRID, PATCH).mean((1, 3)).ravel()


def coverage_by_label(pad_to_square: bool = True):
    labelled, background = [], []
    for i in range(60):
        scene = make_scene(11, i)
        coverage, labels = drawn_coverage(scene, pad_to_square), np.array(patch_labels(scene, GRID)['kind'])
        labelled += list(coverage[labels > 0])
        background += list(coverage[labels == 0])
    return np.array(labelled), np.array(background)


def test_labelled_patches_are_the_ones_objects_cover_in_the_tower_input():
    labelled, background = coverage_by_label()
    assert np.percentile(labelled, 5) > 0.07 and np.median(labelled) > 0.4
    assert np.percentile(background, 99) < 0.2 and background.mean() < 0.01


def test_the_check_tells_frames_apart():
    """The check above can fail: in another frame (v1's resize and centre crop) the labels miss the objects."""
    labelled, background = coverage_by_label(pad_to_square=False)
    assert not (np.percentile(labelled, 5) > 0.07 and np.percentile(background, 99) < 0.2
                and background.mean() < 0.01)


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


def test_dataset_refuses_a_pipeline_without_padding(tmp_path):
    with pytest.raises(ValueError, match='needs PadToSquare'):
        ScenePatchDataset(ann_file='scenes.json', data_root=str(tmp_path), grid=GRID,
                          pipeline=llava_test_pipeline(SIZE, pad_to_square=False))


def test_dataset_names_a_file_that_is_not_make_scenes_output(tmp_path):
    bad = tmp_path / 'annotations' / 'scenes_train2014.json'
    bad.parent.mkdir()
    bad.write_text('[]')
    with pytest.raises(ValueError, match=r'scenes_train2014.json: expected make_scenes'):
        ScenePatchDataset(ann_file=str(bad), data_root=str(tmp_path), grid=GRID, pipeline=llava_test_pipeline(SIZE))
