"""The files ``write_scenes`` (``tools/make_scenes.py``) writes: loadable by the project's own
datasets and configs, in the real schemas, and saying what the pictures show.

The answers are checked against an independent reading of each question,
written here from the question templates and the drawn boxes (not from the
generator's code), and against the pixels of the images.
"""
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from llava_mm.evaluation import coco_caption_scores
from llava_mm.evaluation.vqa_normalization import vqa_accuracy
from llava_mm.models.builder import llava_test_pipeline
from llava_mm.registry import DATASETS, METRICS
from llava_mm.scenes import Scene, render_scene, scene_corpus, write_scenes
from llava_mm.scenes.drawing import COLOUR_POINTS
from llava_mm.scenes.vocabulary import COLOURS

init_default_scope('llava_mm')

REPO = Path(__file__).resolve().parents[2]
NUM_IMAGES, SEED, QUESTIONS_PER_IMAGE = 40, 7, 4
VQA_INSTRUCTION = 'Answer the question using a single word or phrase.'
# Transcribed from the question templates (the data's contract), not imported from the generator.
PHRASE_TO_POSITION = {'on the left': 'left', 'on the right': 'right', 'at the top': 'top', 'at the bottom': 'bottom',
                      'in the center': 'center', 'at the top left': 'top left', 'at the top right': 'top right',
                      'at the bottom left': 'bottom left', 'at the bottom right': 'bottom right'}
ANIMALS = {'cat', 'dog', 'bird', 'fish', 'turtle'}
PLURAL_TO_KIND = {'fish': 'fish', **{k + 's': k for k in ['circle', 'square', 'triangle', 'star', 'heart', 'diamond',
                                                           'cat', 'dog', 'bird', 'turtle']}}


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('scenes')
    paths = write_scenes(root, NUM_IMAGES, seed=SEED, questions_per_image=QUESTIONS_PER_IMAGE)
    scenes = {r['image_id']: r for r in json.loads(Path(paths['scenes']).read_text())['scenes']}
    return dict(paths, root=root, scenes=scenes)


def load(data, key):
    return json.loads(Path(data[key]).read_text())


# ------------------------------------------- an independent reading of the questions
def truth(question: str, scene: dict) -> str:
    """The answer to ``question`` about ``scene`` (the ``scenes_*.json`` record), from the boxes."""
    objs = scene['objects']

    def at(phrase, category=None):
        found = [o for o in objs if o['position'] == PHRASE_TO_POSITION[phrase]
                 and (category is None or (o['kind'] in ANIMALS) == (category == 'animal'))]
        assert len(found) == 1, (question, objs)
        return found[0]

    def only(found):
        assert len(found) == 1, (question, objs)
        return found[0]

    def one(**attrs):
        return only([o for o in objs if all(o[k] == v for k, v in attrs.items())])

    def present(**attrs):
        return 'yes' if any(all(o[k] == v for k, v in attrs.items()) for o in objs) else 'no'

    rules = [
        (r'What color is the (animal|shape) (.+)\?', lambda c, p: at(p, c)['colour']),
        (r'What color is the (\w+)\?', lambda k: one(kind=k)['colour']),
        (r'What shape is the (\w+) object\?', lambda c: one(colour=c)['kind']),
        (r'What shape is (.+)\?', lambda p: at(p, 'shape')['kind']),
        (r'What animal is in the picture\?', lambda: only([o for o in objs if o['kind'] in ANIMALS])['kind']),
        (r'What animal is (.+)\?', lambda p: at(p, 'animal')['kind']),
        (r'Where is the (\w+) (\w+)\?', lambda c, k: one(colour=c, kind=k)['position']),
        (r'Where is the (\w+)\?', lambda k: one(kind=k)['position']),
        (r'How many objects are there\?', lambda: str(len(objs))),
        (r'How many animals are there\?', lambda: str(sum(o['kind'] in ANIMALS for o in objs))),
        (r'How many shapes are there\?', lambda: str(sum(o['kind'] not in ANIMALS for o in objs))),
        (r'How many (\w+) objects are there\?', lambda c: str(sum(o['colour'] == c for o in objs))),
        (r'How many (\w+) are there\?', lambda p: str(sum(o['kind'] == PLURAL_TO_KIND[p] for o in objs))),
        (r'Is there an? (\w+) in the picture\?', lambda k: present(kind=k)),
        (r'Is there an? (\w+) (\w+)\?', lambda c, k: present(colour=c, kind=k)),
        (r'Is the (\w+) (\w+) to the left of the (\w+) (\w+)\?',
         lambda c1, k1, c2, k2: 'yes' if one(colour=c1, kind=k1)['box'][2] <= one(colour=c2, kind=k2)['box'][0]
         else 'no'),
        (r'Is the (\w+) (\w+) above the (\w+) (\w+)\?',
         lambda c1, k1, c2, k2: 'yes' if one(colour=c1, kind=k1)['box'][3] <= one(colour=c2, kind=k2)['box'][1]
         else 'no'),
        (r'Is the (\w+) (\w+)\?', lambda k, c: 'yes' if one(kind=k)['colour'] == c else 'no'),
    ]
    for pattern, rule in rules:
        match = re.fullmatch(pattern, question)
        if match:
            return rule(*match.groups())
    raise AssertionError(f'no reading for question {question!r}')


def position_from_box(obj: dict, width: int, height: int, layout: str) -> str:
    """Where the box is in the picture, read geometrically."""
    x0, y0, x1, y1 = obj['box']
    cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
    horizontal = 'left' if cx < 0.4 else 'right' if cx > 0.6 else 'center'
    vertical = 'top' if cy < 0.4 else 'bottom' if cy > 0.6 else 'center'
    if layout == 'grid':
        return f'{vertical} {horizontal}'
    if 'center' == horizontal == vertical:
        return 'center'
    return vertical if horizontal == 'center' else horizontal


# ------------------------------------------------------------------ images
def test_images_are_non_square_and_show_each_object_in_its_named_colour(data):
    sizes = set()
    for image_id, record in data['scenes'].items():
        scene = record['scene']
        img = np.asarray(Image.open(data['root'] / record['image']).convert('RGB')).astype(int)
        height, width = img.shape[:2]
        assert (width, height) == (scene['width'], scene['height'])
        assert abs(width - height) >= 30 and 160 <= width <= 320 and 160 <= height <= 320  # padding matters
        sizes.add((width, height))
        for obj in scene['objects']:
            x0, y0, x1, y1 = obj['box']
            u, v = COLOUR_POINTS[obj['kind']]
            x, y = round(x0 + u * (x1 - x0)), round(y0 + v * (y1 - y0))
            patch = img[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(0)
            named = np.array(COLOURS[obj['colour']])
            assert np.abs(patch - named).max() < 25, (record['image'], obj, patch)
            # a pixel just outside the box is background, not the object
            outside = img[max(0, y0 - 2), min(width - 1, x1 + 1)]
            assert np.abs(outside - named).max() > 25, (record['image'], obj)
            assert obj['position'] == position_from_box(obj, width, height, scene['layout']), (record['image'], obj)
    assert len(sizes) > NUM_IMAGES // 2  # sizes vary


def test_scenes_json_redraws_the_images(data):
    for record in list(data['scenes'].values())[:5]:
        redrawn = np.asarray(render_scene(Scene.from_dict(record['scene']))).astype(int)
        saved = np.asarray(Image.open(data['root'] / record['image']).convert('RGB')).astype(int)
        assert np.abs(redrawn - saved).mean() < 2  # JPEG quality 95


# ------------------------------------------------------------------- VQAv2
def test_vqav2_loads_through_the_real_config_and_the_toy_pipeline(data):
    cfg = Config.fromfile(REPO / 'configs/llava/_base_/datasets/vqav2.py')
    dataset = dict(cfg.test_dataloader.dataset, data_root=str(data['root']), pipeline=llava_test_pipeline(64))
    ds = DATASETS.build(dataset)
    assert len(ds) == NUM_IMAGES * QUESTIONS_PER_IMAGE
    item = ds[0]
    assert tuple(item['inputs'].shape) == (3, 64, 64)
    sample = item['data_samples']
    assert len(sample.gt_answer) == 10 and sample.answer_type in ('yes/no', 'number', 'other')


def test_vqa_answers_agree_with_the_scene_and_vary_like_annotators(data):
    questions = load(data, 'vqa_questions')
    annotations = {a['question_id']: a for a in load(data, 'vqa_annotations')['annotations']}
    assert questions['data_subtype'] == 'val2014' and questions['task_type'] == 'Open-Ended'
    restyled = Counter()
    for q in questions['questions']:
        ann = annotations[q['question_id']]
        answers = [a['answer'] for a in ann['answers']]
        expected = truth(q['question'], data['scenes'][q['image_id']]['scene'])
        assert ann['multiple_choice_answer'] == expected, q
        assert Counter(answers).most_common(1)[0] == (expected, answers.count(expected)), answers
        assert len(answers) == 10 and [a['answer_id'] for a in ann['answers']] == list(range(1, 11))
        assert vqa_accuracy(expected, answers) == 1.0, (q, answers)
        assert ann['answer_type'] == ('yes/no' if expected in ('yes', 'no') else
                                      'number' if expected.isdigit() else 'other')
        assert q['question'].lower().startswith(ann['question_type'])
        restyled.update(a for a in answers if a != expected)
    # annotators restyle answers ("Red.", "two", "Yes") and phrase them otherwise ("on the left")
    assert any(a[0].isupper() for a in restyled) and any(a.endswith('.') for a in restyled)
    assert any(a in ('one', 'two', 'three', 'four', 'zero') for a in restyled)
    assert any(a.startswith(('on the', 'at the', 'in the')) for a in restyled)
    types = Counter(a['answer_type'] for a in annotations.values())
    assert set(types) == {'yes/no', 'number', 'other'}
    yes_no = Counter(a['multiple_choice_answer'] for a in annotations.values() if a['answer_type'] == 'yes/no')
    assert min(yes_no.values()) / sum(yes_no.values()) > 0.3  # neither answer dominates


def test_official_vqa_metric_scores_truth_100_and_wrong_answers_low(data):
    ds = DATASETS.build(dict(type='VQAv2', data_root=str(data['root']), data_prefix='val2014',
                             question_file='annotations/v2_OpenEnded_mscoco_val2014_questions.json',
                             ann_file='annotations/v2_mscoco_val2014_annotations.json'))
    samples = [ds.get_data_info(i) for i in range(len(ds))]
    scenes = data['scenes']

    def score(answer_of):
        metric = METRICS.build(dict(type='VQAAcc', postprocess=True))
        metric.process(None, [dict(s, pred_answer=answer_of(s)) for s in samples])
        return metric.compute_metrics(metric.results)

    right = score(lambda s: truth(s['question'], scenes[s['image_id']]['scene']))
    assert right['accuracy'] == 100.0
    # the way people write answers is normalized on the prediction side: "Two." -> "2"
    restyled = score(lambda s: (lambda a: {'1': 'One.', '2': 'Two', '0': 'zero'}.get(a, a.capitalize()))(
        truth(s['question'], scenes[s['image_id']]['scene'])))
    assert restyled['accuracy'] == 100.0
    wrong = score(lambda s: 'purple' if truth(s['question'], scenes[s['image_id']]['scene']) != 'purple' else 'red')
    assert wrong['accuracy'] < 10


# ------------------------------------------------------------- COCO captions
def test_captions_load_through_the_real_config_and_the_official_scorer(data):
    cfg = Config.fromfile(REPO / 'configs/llava/_base_/datasets/coco_caption.py')
    ds = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=str(data['root']),
                             pipeline=llava_test_pipeline(64)))
    assert len(ds) == NUM_IMAGES
    assert tuple(ds[0]['inputs'].shape) == (3, 64, 64)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    gt = load(data, 'caption_gt')
    assert {i['id'] for i in gt['images']} == {i['image_id'] for i in infos}
    assert len({a['id'] for a in gt['annotations']}) == len(gt['annotations']) == 5 * NUM_IMAGES
    for info in infos:
        objs = data['scenes'][info['image_id']]['scene']['objects']
        assert len(info['gt_caption']) == len(set(info['gt_caption'])) == 5
        for caption in info['gt_caption']:  # every reference names every object
            assert all(f"{o['colour']} {o['kind']}" in caption for o in objs), (caption, objs)
    own = coco_caption_scores(data['caption_gt'], [dict(image_id=i['image_id'], caption=i['gt_caption'][0])
                                                   for i in infos], meteor=False)
    other = coco_caption_scores(data['caption_gt'], [dict(image_id=i['image_id'], caption=infos[n - 1]['gt_caption'][0])
                                                     for n, i in enumerate(infos)], meteor=False)
    assert own['CIDEr'] > 3 and other['CIDEr'] < 1


# ------------------------------------------------------ LLaVA training files
def check_llava_schema(records, root):
    assert isinstance(records, list) and records
    for record in records:
        assert set(record) == {'id', 'image', 'conversations'} and isinstance(record['id'], str)
        assert (root / record['image']).is_file()
        turns = record['conversations']
        assert len(turns) >= 2 and len(turns) % 2 == 0
        assert [t['from'] for t in turns] == ['human', 'gpt'] * (len(turns) // 2)
        assert turns[0]['value'].startswith('<image>\n')
        assert sum(t['value'].count('<image>') for t in turns) == 1
        assert all(t['value'].strip() for t in turns)


def test_pretrain_json_is_lcs558k_shaped_captions(data):
    records = load(data, 'pretrain')
    check_llava_schema(records, data['root'])
    captions = {e['image_id']: e['caption'] for e in load(data, 'caption')}
    for record in records:
        assert len(record['conversations']) == 2
        image_id = int(record['id'])
        assert record['image'] == data['scenes'][image_id]['image']
        assert record['conversations'][1]['value'] in captions[image_id]


def test_instruct_json_is_multi_turn_and_its_short_answers_are_true(data):
    records = load(data, 'instruct')
    check_llava_schema(records, data['root'])
    assert np.mean([len(r['conversations']) // 2 for r in records]) >= 3
    short = 0
    for record in records:
        scene = data['scenes'][int(record['id'])]['scene']
        turns = record['conversations']
        for human, gpt in zip(turns[::2], turns[1::2]):
            question = human['value'].replace('<image>\n', '')
            if question.endswith('\n' + VQA_INSTRUCTION):
                assert gpt['value'] == truth(question[:-len(VQA_INSTRUCTION) - 1], scene)
                short += 1
            elif question.endswith('?') and not question.startswith('What do you see'):
                answer = truth(question, scene)  # the sentence says the same as the short answer
                words = {'0': 'no', '1': 'one', '2': 'two', '3': 'three', '4': 'four'}.get(answer, answer)
                assert words in gpt['value'].lower(), (question, gpt['value'])
    assert short > NUM_IMAGES  # plenty of LLaVA-1.5 style short-answer turns


# ---------------------------------------------------------------- vocabulary
def words(text: str):
    return re.findall(r"[A-Za-z]+|\d", text)


def test_corpus_covers_every_word_of_every_file(data):
    vocabulary = {w for line in scene_corpus() for w in words(line)}
    texts = [t['value'] for r in load(data, 'instruct') + load(data, 'pretrain') for t in r['conversations']]
    texts += [c for e in load(data, 'caption') for c in e['caption']]
    texts += [q['question'] for q in load(data, 'vqa_questions')['questions']]
    texts += [a['answer'] for ann in load(data, 'vqa_annotations')['annotations'] for a in ann['answers']]
    used = {w for text in texts for w in words(text)}
    assert used <= vocabulary, sorted(used - vocabulary)
    assert len(vocabulary) < 200  # a closed, small vocabulary
