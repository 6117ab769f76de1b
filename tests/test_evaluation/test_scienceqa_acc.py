"""ScienceQAAcc reads answers like LLaVA's eval_science_qa.py, plus a few lenient forms."""
import itertools
import re

import pytest
from mmpretrain.structures import DataSample

from llava_mm.evaluation import parse_choice
from llava_mm.registry import METRICS


def llava_pred_idx(pred_text, choices, options=('A', 'B', 'C', 'D', 'E')):
    """Transcription of the answer reading in LLaVA's llava/eval/eval_science_qa.py (main + get_pred_idx)."""
    options = list(options)
    pred_text = pred_text.replace('\n', '. ')
    if pred_text.strip() in options:
        answer = pred_text.strip()
    elif len(pred_text) >= 3 and pred_text[0] in options and pred_text[1:3] == '. ':
        answer = pred_text[0]
    elif 'The answer is ' in pred_text:
        match = re.compile(r'The answer is ([A-E])\.').search(pred_text)
        if match:
            answer = match.group(1)
        else:
            match = re.compile(r'The answer is ([A-E])').search(pred_text)
            answer = match.group(1) if match else 'FAILED'
    else:
        answer = 'FAILED'
    prediction = answer.replace('\n', '. ')
    if prediction in options[:len(choices)]:
        return options.index(prediction)
    return -1


REPLIES = ['A', 'B', 'C', 'D', 'E', ' B ', 'B\n', 'b', 'B.', 'B:', '(B)', 'B)', 'B. cat', 'B.cat', 'E. x',
           'The answer is B.', 'The answer is C', 'I think. The answer is A. Because', 'The answer is F.',
           'The answer is (B).', 'the answer is B.', 'cat', 'Cat.', 'dog', 'a dog', 'mouse!', '', 'FAILED',
           'A dog is an animal', 'Answer: B', 'B\nbecause cats', 'A.\nB.']
CHOICES = [['cat', 'dog'], ['cat', 'dog', 'a dog'], ['cat', 'dog', 'mouse', 'bird', 'fish']]


@pytest.mark.parametrize('reply, choices', list(itertools.product(REPLIES, CHOICES)))
def test_strict_parsing_is_exactly_llavas(reply, choices):
    assert parse_choice(reply, choices, lenient=False) == llava_pred_idx(reply, choices)


@pytest.mark.parametrize('reply, choices', list(itertools.product(REPLIES, CHOICES)))
def test_lenient_parsing_only_adds_to_what_llava_reads(reply, choices):
    strict = llava_pred_idx(reply, choices)
    if strict != -1:
        assert parse_choice(reply, choices, lenient=True) == strict


@pytest.mark.parametrize('reply, expected', [
    ('B.', 1), ('B:', 1), ('(B)', 1), ('B)', 1), ('Cat.', 0), (' dog ', 1), ('DOG', 1),
    ('E.', -1),  # letter beyond the choices
    ('A dog is an animal', -1), ('Answer: B', -1), ('mouse', -1), ('', -1),
])
def test_lenient_forms(reply, expected):
    assert parse_choice(reply, ['cat', 'dog'], lenient=True) == expected


def test_ambiguous_option_text_is_not_guessed():
    assert parse_choice('cat', ['Cat', 'cat.'], lenient=True) == -1


def _samples():
    return [
        dict(pred_answer='B', choices=['x', 'y'], gt_answer='B', subject='natural science', has_image=True),
        dict(pred_answer='The answer is A.', choices=['x', 'y', 'z'], gt_answer=0, subject='social science',
             has_image=False),
        dict(pred_answer='I do not know', choices=['x', 'y'], gt_answer=1, subject='natural science',
             has_image=True),  # unreadable: counted wrong
        dict(pred_answer='C. z', choices=['x', 'y', 'z'], gt_answer='c', subject='language science',
             has_image=False),
    ]


def test_metric_from_config_with_letters_and_indexes():
    metric = METRICS.build(dict(type='ScienceQAAcc'))
    samples = _samples()
    metric.process(None, samples[:2])
    metric.process(None, [DataSample(**s) for s in samples[2:]])
    assert metric.evaluate(4) == {
        'scienceqa/accuracy': 75.0,
        'scienceqa/img_accuracy': 50.0,
        'scienceqa/subject/natural science': 50.0,
        'scienceqa/subject/social science': 100.0,
        'scienceqa/subject/language science': 100.0,
    }


def test_breakdown_keys_are_configurable():
    metric = METRICS.build(dict(type='ScienceQAAcc', group_keys=['grade'], prefix='sqa'))
    metric.process(None, [dict(pred_answer='A', choices=['x', 'y'], gt_answer='A', grade='grade1'),
                          dict(pred_answer='A', choices=['x', 'y'], gt_answer='B', grade='grade7')])
    assert metric.evaluate(2) == {'sqa/accuracy': 50.0, 'sqa/grade/grade1': 100.0, 'sqa/grade/grade7': 0.0}


@pytest.mark.parametrize('gt, error', [('F', ValueError), (5, ValueError), ('maybe', ValueError), (1.0, TypeError)])
def test_bad_ground_truth_is_reported(gt, error):
    metric = METRICS.build(dict(type='ScienceQAAcc'))
    with pytest.raises(error, match='gt_answer'):
        metric.process(None, [dict(pred_answer='A', choices=['x', 'y'], gt_answer=gt)])


def test_duplicate_questions_count_once():
    metric = METRICS.build(dict(type='ScienceQAAcc'))
    metric.process(None, [dict(question_id='7', pred_answer='A', choices=['x', 'y'], gt_answer='A'),
                          dict(question_id='8', pred_answer='A', choices=['x', 'y'], gt_answer='B'),
                          dict(question_id='7', pred_answer='B', choices=['x', 'y'], gt_answer='A')])
    assert metric.evaluate(3) == {'scienceqa/accuracy': 50.0}


def test_default_parsing_is_exactly_llavas():
    """Reported ScienceQA numbers must be LLaVA's: lenient forms are opt-in."""
    assert parse_choice('B.', ['cat', 'dog']) == -1 == llava_pred_idx('B.', ['cat', 'dog'])
    assert parse_choice('B', ['cat', 'dog']) == 1
