"""ScienceQAAcc reads answers exactly like LLaVA's eval_science_qa.py, plus a few lenient forms (opt-in)."""
import itertools
import random
import re
from pathlib import Path

import pytest
from mmpretrain.structures import DataSample

from llava_mm.evaluation import parse_choice
from llava_mm.registry import METRICS


def llava_pred_idx(pred_text, choices, options=('A', 'B', 'C', 'D', 'E')):
    """Transcription of LLaVA's answer reading (haotian-liu/LLaVA main, llava/eval/eval_science_qa.py).

    ``model_vqa_science.py`` writes ``outputs.strip()``; then ``__main__`` picks
    ``answer`` and ``get_pred_idx`` maps it to an index.
    """
    options = list(options)
    pred_text = pred_text.strip()  # model_vqa_science.py

    if pred_text in options:
        answer = pred_text
    elif len(pred_text) >= 3 and pred_text[0] in options and pred_text[1:3] == ". ":
        answer = pred_text[0]
    else:
        pattern = re.compile(r'The answer is ([A-Z]).')
        res = pattern.findall(pred_text)
        if len(res) == 1:
            answer = res[0]  # 'A', 'B', ...
        else:
            answer = "FAILED"

    return get_pred_idx(answer, choices, options)


def get_pred_idx(prediction, choices, options):
    if prediction in options[:len(choices)]:
        return options.index(prediction)
    else:
        return -1


REPLIES = ['A', 'B', 'C', 'D', 'E', 'F', ' B ', 'B\n', '\nB', 'b', 'B.', 'B:', '(B)', 'B)', 'B. cat', 'B.cat',
           'B.  cat', 'E. x', 'F. x', 'B. ', 'The answer is B.', 'The answer is C', 'The answer is C ',
           'The answer is C\n', 'The answer is C\nok', 'I think. The answer is A. Because', 'The answer is F.',
           'The answer is (B).', 'the answer is B.', 'The answer is B. The answer is B.',
           'The answer is A. Or the answer is B.', 'The answer is AB', 'The answer isB.', 'cat', 'Cat.', 'dog',
           'a dog', 'mouse!', '', 'FAILED', 'A dog is an animal', 'Answer: B', 'B\nbecause cats', 'A.\nB.',
           'B.\nThe answer is B.', 'Because cats.\nThe answer is A.', 'C. x\nThe answer is B.']
CHOICES = [['cat', 'dog'], ['cat', 'dog', 'a dog'], ['cat', 'dog', 'mouse', 'bird', 'fish']]


def generated_replies(n, seed):
    """``n`` (reply, choices) pairs in the forms models give: letters, 'B. text', 'The answer is B.' after an
    explanation, several or no such phrases, other letters and punctuation, newlines and outer whitespace."""
    rng = random.Random(seed)
    texts = ['cat', 'dog', 'mouse', 'bird', 'fish', 'a dog', 'Yes', 'north pole', '3.5 cm']
    explanations = ['Because cats are mammals.', 'Look at the picture', 'B is wrong', 'It is A or C.', '',
                    'The magnets attract.', 'Answer: C', 'A magnet. The poles']
    out = []
    for _ in range(n):
        choices = rng.sample(texts, rng.randint(2, 5))
        letter = rng.choice('ABCDEFGZ')
        form = rng.randrange(9)
        if form == 0:
            reply = letter
        elif form == 1:
            reply = letter + rng.choice(['. ', '.', ': ', ') ', '.\n', ' . ', '. \n']) + rng.choice(texts)
        elif form == 2:
            reply = rng.choice(explanations) + rng.choice([' ', '\n', '. ', '']) + 'The answer is ' + letter + \
                rng.choice(['.', '', ' ', '\n', '!', '. ', ').', 'x'])
        elif form == 3:
            second = rng.choice('ABCDE')
            reply = f'The answer is {letter}. ' + rng.choice(explanations) + f' The answer is {second}.'
        elif form == 4:
            reply = rng.choice(['the answer is ', 'The Answer is ', 'The answer: ', 'Answer is ']) + letter + '.'
        elif form == 5:
            reply = rng.choice(choices) + rng.choice(['', '.', '!', '\n'])
        elif form == 6:
            reply = f'({letter})' + rng.choice(['', ' ' + rng.choice(texts)])
        elif form == 7:
            reply = letter.lower() + rng.choice(['', '. ' + rng.choice(texts)])
        else:
            reply = rng.choice(explanations) + f'\n{letter}. ' + rng.choice(texts)
        if rng.random() < 0.25:
            reply = rng.choice([' ', '\n', '  ', '\t']) + reply + rng.choice([' ', '\n', ''])
        out.append((reply, choices))
    return out


GENERATED = generated_replies(600, seed=0)


def test_strict_parsing_equals_llava_on_generated_replies():
    differing = [(r, c) for r, c in GENERATED if parse_choice(r, c) != llava_pred_idx(r, c)]
    assert differing == []
    # the set reaches every outcome: read correctly, read as a letter beyond the choices, FAILED
    outcomes = [llava_pred_idx(r, c) for r, c in GENERATED]
    assert len(set(outcomes)) == 6 and outcomes.count(-1) > 100


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
    ('The answer is B', 1), ('The answer is (B).', 1), ('The answer is B. The answer is B.', 1),
    ('The answer is A. The answer is B.', -1),  # contradicting phrases are not guessed
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
    assert parse_choice('The answer is B', ['cat', 'dog']) == -1  # nothing after the letter
    assert parse_choice('The answer is Bob', ['cat', 'dog']) == 1  # any character after it will do
    assert parse_choice('The answer is B. The answer is B.', ['cat', 'dog']) == -1  # two matches
    assert parse_choice('B', ['cat', 'dog']) == 1


def test_shipped_config_scores_like_llava():
    """configs/llava/_base_/datasets/scienceqa.py builds the metric LLaVA's script agrees with."""
    from mmengine.config import Config
    cfg = Config.fromfile(Path(__file__).parents[2] / 'configs/llava/_base_/datasets/scienceqa.py')
    metric = METRICS.build(cfg.test_evaluator)
    samples = [dict(pred_answer=r, choices=c, gt_answer=i % len(c), question_id=i)
               for i, (r, c) in enumerate(GENERATED)]
    metric.process(None, samples)
    expected = 100.0 * sum(llava_pred_idx(r, c) == i % len(c) for i, (r, c) in enumerate(GENERATED)) / len(samples)
    assert metric.evaluate(len(samples))['scienceqa/accuracy'] == pytest.approx(expected)
