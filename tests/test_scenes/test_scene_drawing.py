"""Scene sampling and drawing: what makes the scenes learnable by a tiny model at low resolution."""
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llava_mm.scenes import render_scene, sample_scene
from llava_mm.scenes.vocabulary import ANIMALS, COLOURS, PALETTES, SHAPES, colour_distance, colours_on

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def scenes():
    rng = random.Random(0)
    return [sample_scene(rng) for _ in range(600)]


def overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_objects_are_inside_apart_and_large_enough(scenes):
    for scene in scenes:
        longer = max(scene.width, scene.height)
        assert abs(scene.width - scene.height) >= 30 and 160 <= min(scene.width, scene.height) <= longer <= 320
        boxes = [o.box for o in scene.objects]
        for i, (x0, y0, x1, y1) in enumerate(boxes):
            assert 0 <= x0 < x1 <= scene.width and 0 <= y0 < y1 <= scene.height
            assert x1 - x0 == y1 - y0
            assert not any(overlap(boxes[i], other) for other in boxes[i + 1:]), scene
        for obj in scene.objects:
            side = (obj.box[2] - obj.box[0]) / longer  # of the padded square the model sees
            assert (0.19 <= side <= 0.25) if obj.size == 'small' else (0.29 <= side <= 0.46), (obj, side)
        names = [o.name for o in scene.objects]
        assert len(set(names)) == len(names)  # "the red circle" always means one object


def test_every_colour_contrasts_with_its_background_and_colours_are_far_apart(scenes):
    for scene in scenes:
        for obj in scene.objects:
            assert obj.colour in colours_on(scene.background.palette)
            assert min(colour_distance(COLOURS[obj.colour], c) for c in PALETTES[scene.background.palette]) >= 35
    names = list(COLOURS)
    assert min(colour_distance(COLOURS[a], COLOURS[b]) for a in names for b in names if a != b) >= 35
    assert all(len(colours_on(p)) >= 6 for p in PALETTES)
    assert all(any(c in colours_on(p) for p in PALETTES) for c in COLOURS)  # every colour can be drawn


def test_the_sampled_world_is_varied(scenes):
    counts = Counter(len(s.objects) for s in scenes)
    assert set(counts) == {1, 2, 3, 4} and min(counts.values()) > 60
    kinds = Counter(o.kind for s in scenes for o in s.objects)
    assert set(kinds) == set(SHAPES) | set(ANIMALS)
    assert set(Counter(o.colour for s in scenes for o in s.objects)) == set(COLOURS)
    assert {s.layout for s in scenes} == {'single', 'row', 'column', 'grid'}
    assert {s.background.pattern for s in scenes} == {'plain', 'striped', 'checkered', 'dotted'}
    assert sum(s.width > s.height for s in scenes) > 150 and sum(s.width < s.height for s in scenes) > 150
    assert any(len({o.kind for o in s.objects}) < len(s.objects) for s in scenes)  # kinds repeat: counting


def test_render_is_deterministic_and_scales_for_display(scenes):
    scene = scenes[5]
    a, b = np.asarray(render_scene(scene)), np.asarray(render_scene(scene))
    assert a.shape == (scene.height, scene.width, 3) and (a == b).all()
    big = render_scene(scene, scale=2)
    assert big.size == (2 * scene.width, 2 * scene.height)
    small_again = np.asarray(big.resize((scene.width, scene.height), Image.Resampling.BOX)).astype(int)
    assert np.abs(small_again - a).mean() < 3  # the same picture, only finer
    with pytest.raises(ValueError, match='scale must be a positive integer'):
        render_scene(scene, scale=0)


def test_demo_image_is_a_scene_of_a_cat_and_a_dog_drawn_by_its_script():
    import importlib.util
    spec = importlib.util.spec_from_file_location('draw_cat_dog', REPO / 'demo' / 'draw_cat_dog.py')
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert sorted(o.kind for o in demo.SCENE.objects) == ['cat', 'dog']
    shipped = np.asarray(Image.open(REPO / 'demo' / 'cat-dog.png').convert('RGB'))
    assert (shipped == np.asarray(render_scene(demo.SCENE, scale=2))).all()  # rerunning the script changes nothing
    assert shipped.shape[0] != shipped.shape[1]
