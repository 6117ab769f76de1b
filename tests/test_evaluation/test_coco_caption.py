"""COCOCaption gives the official COCO caption scores, with or without Java."""
import json
import shutil

import pytest
from mmpretrain.structures import DataSample

from llava_mm.evaluation import coco_caption_scores
from llava_mm.registry import METRICS

from .caption_corpus import caption_dataset
from .java_reference import official_caption_scores, requires_java

SCORE_KEYS = ['Bleu_1', 'Bleu_2', 'Bleu_3', 'Bleu_4', 'ROUGE_L', 'CIDEr']


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """80 images with 3-6 realistic references; 70 predicted (a few empty), 10 left unpredicted."""
    gt, predictions = caption_dataset(80, seed=11)
    predictions = predictions[:70]
    for i in (3, 17, 40):
        predictions[i]['pred_caption'] = ''
    path = tmp_path_factory.mktemp('coco') / 'captions_gt.json'
    path.write_text(json.dumps(gt))
    return str(path), gt, predictions


def _evaluate(ann_file, samples, **kwargs):
    metric = METRICS.build(dict(type='COCOCaption', ann_file=ann_file, **kwargs))
    metric.process(None, samples)
    return metric.evaluate(len(samples))


@pytest.fixture(scope='module')
def one_meteor_jvm():
    """Both sides use pycocoevalcap's Meteor; sharing its JVM saves a ~6 s start-up."""
    if shutil.which('java') is None:
        yield
        return
    from pycocoevalcap.meteor import meteor
    shared = meteor.Meteor()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(meteor, 'Meteor', lambda: shared)
        yield


@pytest.fixture(scope='module')
def ours(dataset, one_meteor_jvm):
    """Scores from the metric, fed half dicts and half DataSamples, METEOR when Java is there."""
    ann_file, _, predictions = dataset
    samples = [dict(p) if i % 2 else DataSample(image_id=p['image_id'], pred_caption=p['pred_caption'])
               for i, p in enumerate(predictions)]
    return {k.split('/', 1)[1]: v for k, v in _evaluate(ann_file, samples).items()}


@requires_java
def test_equals_official_coco_evaluation(dataset, ours, one_meteor_jvm):
    ann_file, _, predictions = dataset
    official = official_caption_scores(
        ann_file, [{'image_id': p['image_id'], 'caption': p['pred_caption']} for p in predictions])
    assert set(ours) == set(official) == set(SCORE_KEYS) | {'METEOR'}
    for key in official:
        assert ours[key] == pytest.approx(official[key], abs=1e-4), key


def test_same_numbers_without_java(dataset, ours, tmp_path, monkeypatch):
    ann_file, _, predictions = dataset
    monkeypatch.setenv('PATH', str(tmp_path))  # a directory without java
    assert shutil.which('java') is None
    without_java = coco_caption_scores(
        ann_file, [{'image_id': p['image_id'], 'caption': p['pred_caption']} for p in predictions])
    assert list(without_java) == SCORE_KEYS  # METEOR disappears, nothing else changes
    assert without_java == {k: v for k, v in ours.items() if k != 'METEOR'}


def test_metric_from_config_reports_prefixed_official_keys(dataset):
    ann_file, _, predictions = dataset
    result = _evaluate(ann_file, predictions[:10], meteor=False)
    assert list(result) == [f'coco-caption/{k}' for k in SCORE_KEYS]
    assert all(0 <= v for v in result.values())
    assert result['coco-caption/Bleu_1'] > result['coco-caption/Bleu_4']


def _write(tmp_path, gt):
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(gt))
    return str(path)


def _toy_gt():
    return {
        'images': [{'id': 1}, {'id': 2}, {'id': 3}],
        'annotations': [
            {'image_id': 1, 'caption': 'A dog runs on the beach.'},
            {'image_id': 1, 'caption': 'A brown dog running in the sand'},
            {'image_id': 2, 'caption': 'Two people ride bikes down a street.'},
            {'image_id': 2, 'caption': 'People riding bicycles on a city street'},
            {'image_id': 3, 'caption': 'A plate with pizza and salad.'},
            {'image_id': 3, 'caption': 'A pizza next to a bowl of salad'},
        ]
    }


PREDS = [{'image_id': 1, 'caption': 'a dog running on a beach'},
         {'image_id': 3, 'caption': 'a pizza on a plate'}]


def test_only_images_with_predictions_are_scored(tmp_path):
    """Like COCOEvalCap after loadRes: image 2 has no prediction and takes no part (not even in CIDEr's idf)."""
    full = _toy_gt()
    only_predicted = {'images': [{'id': 1}, {'id': 3}],
                      'annotations': [a for a in full['annotations'] if a['image_id'] != 2]}
    scores = coco_caption_scores(_write(tmp_path, full), PREDS, meteor=False)
    assert scores == coco_caption_scores(only_predicted, PREDS, meteor=False)
    assert scores != coco_caption_scores(full, PREDS + [{'image_id': 2, 'caption': 'a street'}], meteor=False)


def test_duplicate_predictions_keep_the_first():
    gt = _toy_gt()
    first = coco_caption_scores(gt, PREDS, meteor=False)
    assert coco_caption_scores(gt, PREDS + [{'image_id': 1, 'caption': 'a cat'}], meteor=False) == first
    assert coco_caption_scores(gt, [{'image_id': 1, 'caption': 'a cat'}] + PREDS, meteor=False) != first


def test_image_ids_given_as_strings_or_tensors_match():
    import torch
    gt = _toy_gt()
    as_text = [{'image_id': str(p['image_id']), 'caption': p['caption']} for p in PREDS]
    as_tensor = [{'image_id': torch.tensor(p['image_id']), 'caption': p['caption']} for p in PREDS]
    expected = coco_caption_scores(gt, PREDS, meteor=False)
    assert coco_caption_scores(gt, as_text, meteor=False) == expected
    assert coco_caption_scores(gt, as_tensor, meteor=False) == expected


def test_empty_predictions_are_scored_as_empty_captions():
    scores = coco_caption_scores(_toy_gt(), [{'image_id': 1, 'caption': ''}, {'image_id': 3, 'caption': ''}],
                                 meteor=False)
    assert scores['CIDEr'] == 0 and scores['ROUGE_L'] == 0
    assert scores['Bleu_1'] < 1e-6


def test_predictions_for_unknown_images_are_named(tmp_path):
    path = _write(tmp_path, _toy_gt())
    with pytest.raises(ValueError, match=r'not in the ground truth .*gt\.json.*\b42\b.*\b77\b'):
        coco_caption_scores(path, PREDS + [{'image_id': 42, 'caption': 'x'}, {'image_id': 77, 'caption': 'y'}])


def test_missing_ground_truth_file_is_named(tmp_path):
    missing = str(tmp_path / 'nope' / 'coco_karpathy_val_gt.json')
    metric = METRICS.build(dict(type='COCOCaption', ann_file=missing))
    metric.process(None, [{'image_id': 1, 'pred_caption': 'a dog'}])
    with pytest.raises(FileNotFoundError, match='coco_karpathy_val_gt.json'):
        metric.evaluate(1)


def test_malformed_ground_truth_is_named(tmp_path):
    broken = tmp_path / 'broken_gt.json'
    broken.write_text('{"annotations": [')
    with pytest.raises(ValueError, match='broken_gt.json'):
        coco_caption_scores(str(broken), PREDS)
    wrong_shape = tmp_path / 'list_gt.json'
    wrong_shape.write_text('[1, 2]')
    with pytest.raises(ValueError, match='list_gt.json'):
        coco_caption_scores(str(wrong_shape), PREDS)


def test_missing_prediction_field_is_named():
    metric = METRICS.build(dict(type='COCOCaption', ann_file='unused.json'))
    with pytest.raises(KeyError, match='pred_caption'):
        metric.process(None, [{'image_id': 1, 'caption': 'a dog'}])


def test_asking_for_meteor_without_java_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(RuntimeError, match='Java'):
        coco_caption_scores(_toy_gt(), PREDS, meteor=True)
