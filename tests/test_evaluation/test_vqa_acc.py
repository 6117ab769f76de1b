"""VQAAcc scores each question exactly like the official VQA evaluation (vqaEval.py at its HEAD)."""
import json
import random
import re

import pytest
from mmpretrain.structures import DataSample

from llava_mm.evaluation import EvalAIAnswerProcessor, vqa_accuracy
from llava_mm.registry import METRICS


# ---------------------------------------------------------------------------
# Independent reference: a transcription of VQAEval.evaluate / processPunctuation
# / processDigitArticle from GT-Vision-Lab/VQA PythonEvaluationTools/vqaEvaluation/
# vqaEval.py at master HEAD (a013f00), kept close to the original on purpose.
# The contractions table is HEAD's (120 entries, ASCII apostrophes since 458a8b2).
# ---------------------------------------------------------------------------
_OFFICIAL_CONTRACTIONS = dict(pair.split('=') for pair in """
aint=ain't arent=aren't cant=can't couldve=could've couldnt=couldn't couldn'tve=couldn't've couldnt've=couldn't've
didnt=didn't doesnt=doesn't dont=don't hadnt=hadn't hadnt've=hadn't've hadn'tve=hadn't've hasnt=hasn't
havent=haven't hed=he'd hed've=he'd've he'dve=he'd've hes=he's howd=how'd howll=how'll hows=how's Id've=I'd've
I'dve=I'd've Im=I'm Ive=I've isnt=isn't itd=it'd itd've=it'd've it'dve=it'd've itll=it'll let's=let's maam=ma'am
mightnt=mightn't mightnt've=mightn't've mightn'tve=mightn't've mightve=might've mustnt=mustn't mustve=must've
neednt=needn't notve=not've oclock=o'clock oughtnt=oughtn't ow's'at='ow's'at 'ows'at='ow's'at 'ow'sat='ow's'at
shant=shan't shed've=she'd've she'dve=she'd've she's=she's shouldve=should've shouldnt=shouldn't
shouldnt've=shouldn't've shouldn'tve=shouldn't've somebody'd=somebodyd somebodyd've=somebody'd've
somebody'dve=somebody'd've somebodyll=somebody'll somebodys=somebody's someoned=someone'd
someoned've=someone'd've someone'dve=someone'd've someonell=someone'll someones=someone's somethingd=something'd
somethingd've=something'd've something'dve=something'd've somethingll=something'll thats=that's thered=there'd
thered've=there'd've there'dve=there'd've therere=there're theres=there's theyd=they'd theyd've=they'd've
they'dve=they'd've theyll=they'll theyre=they're theyve=they've twas='twas wasnt=wasn't wed've=we'd've
we'dve=we'd've weve=we've werent=weren't whatll=what'll whatre=what're whats=what's whatve=what've whens=when's
whered=where'd wheres=where's whereve=where've whod=who'd whod've=who'd've who'dve=who'd've wholl=who'll
whos=who's whove=who've whyll=why'll whyre=why're whys=why's wont=won't wouldve=would've wouldnt=wouldn't
wouldnt've=wouldn't've wouldn'tve=wouldn't've yall=y'all yall'll=y'all'll y'allll=y'all'll yall'd've=y'all'd've
y'alld've=y'all'd've y'all'dve=y'all'd've youd=you'd youd've=you'd've you'dve=you'd've youll=you'll
youre=you're youve=you've""".split())


class OfficialVQAEval:
    """``VQAEval`` of vqaEval.py at GT-Vision-Lab/VQA HEAD (a013f00 "Fixed processing answers bug").

    Transcribed line by line (Python 2 prints dropped, the progress bar left
    out), run with Python 3 semantics.  ``evaluate`` takes the ``qa`` dicts the
    official ``VQA`` objects hold and returns the per-question accuracies
    (unrounded; the official ``setEvalQA`` rounds ``100 * acc``), the overall
    and the per-answer-type means.
    """

    def __init__(self):
        self.contractions = _OFFICIAL_CONTRACTIONS
        self.manualMap = {'none': '0', 'zero': '0', 'one': '1', 'two': '2', 'three': '3', 'four': '4',
                          'five': '5', 'six': '6', 'seven': '7', 'eight': '8', 'nine': '9', 'ten': '10'}
        self.articles = ['a', 'an', 'the']
        self.periodStrip = re.compile("(?!<=\\d)(\\.)(?!\\d)")
        self.commaStrip = re.compile("(\\d)(\\,)(\\d)")
        self.punct = [';', r"/", '[', ']', '"', '{', '}',
                      '(', ')', '=', '+', '\\', '_', '-',
                      '>', '<', '@', '`', ',', '?', '!']

    def evaluate(self, gts, res):
        quesIds = list(gts)
        accQA = []
        accAnsType = {}
        evalQA = {}
        for quesId in quesIds:
            for ansDic in gts[quesId]['answers']:
                ansDic['answer'] = ansDic['answer'].replace('\n', ' ')
                ansDic['answer'] = ansDic['answer'].replace('\t', ' ')
                ansDic['answer'] = ansDic['answer'].strip()
            resAns = res[quesId]['answer']
            resAns = resAns.replace('\n', ' ')
            resAns = resAns.replace('\t', ' ')
            resAns = resAns.strip()
            gtAcc = []
            gtAnswers = [ans['answer'] for ans in gts[quesId]['answers']]

            if len(set(gtAnswers)) > 1:
                for ansDic in gts[quesId]['answers']:
                    ansDic['answer'] = self.processPunctuation(ansDic['answer'])
                    ansDic['answer'] = self.processDigitArticle(ansDic['answer'])
                resAns = self.processPunctuation(resAns)
                resAns = self.processDigitArticle(resAns)

            for gtAnsDatum in gts[quesId]['answers']:
                otherGTAns = [item for item in gts[quesId]['answers'] if item != gtAnsDatum]
                matchingAns = [item for item in otherGTAns if item['answer'] == resAns]
                acc = min(1, float(len(matchingAns)) / 3)
                gtAcc.append(acc)
            ansType = gts[quesId]['answer_type']
            avgGTAcc = float(sum(gtAcc)) / len(gtAcc)
            accQA.append(avgGTAcc)
            if ansType not in accAnsType:
                accAnsType[ansType] = []
            accAnsType[ansType].append(avgGTAcc)
            evalQA[quesId] = avgGTAcc
        overall = 100 * float(sum(accQA)) / len(accQA)  # setAccuracy rounds this to 2 digits
        per_type = {t: 100 * float(sum(v)) / len(v) for t, v in accAnsType.items()}
        return evalQA, overall, per_type

    def processPunctuation(self, inText):
        outText = inText
        for p in self.punct:
            if (p + ' ' in inText or ' ' + p in inText) or (re.search(self.commaStrip, inText) is not None):
                outText = outText.replace(p, '')
            else:
                outText = outText.replace(p, ' ')
        outText = self.periodStrip.sub("",
                                       outText,
                                       re.UNICODE)
        return outText

    def processDigitArticle(self, inText):
        outText = []
        tempText = inText.lower().split()
        for word in tempText:
            word = self.manualMap.setdefault(word, word)
            if word not in self.articles:
                outText.append(word)
            else:
                pass
        for wordId, word in enumerate(outText):
            if word in self.contractions:
                outText[wordId] = self.contractions[word]
        outText = ' '.join(outText)
        return outText


class Pre2021VQAEval(OfficialVQAEval):
    """``VQAEval.evaluate`` as it was before a013f00 (parent 458a8b2), for ``VQAAcc(pre2021=True)``."""

    def evaluate(self, gts, res):
        accQA, accAnsType, evalQA = [], {}, {}
        for quesId in gts:
            resAns = res[quesId]['answer']
            resAns = resAns.replace('\n', ' ')
            resAns = resAns.replace('\t', ' ')
            resAns = resAns.strip()
            resAns = self.processPunctuation(resAns)
            resAns = self.processDigitArticle(resAns)
            gtAcc = []
            gtAnswers = [ans['answer'] for ans in gts[quesId]['answers']]
            if len(set(gtAnswers)) > 1:
                for ansDic in gts[quesId]['answers']:
                    ansDic['answer'] = self.processPunctuation(ansDic['answer'])
            for gtAnsDatum in gts[quesId]['answers']:
                otherGTAns = [item for item in gts[quesId]['answers'] if item != gtAnsDatum]
                matchingAns = [item for item in otherGTAns if item['answer'] == resAns]
                acc = min(1, float(len(matchingAns)) / 3)
                gtAcc.append(acc)
            avgGTAcc = float(sum(gtAcc)) / len(gtAcc)
            accQA.append(avgGTAcc)
            accAnsType.setdefault(gts[quesId]['answer_type'], []).append(avgGTAcc)
            evalQA[quesId] = avgGTAcc
        overall = 100 * float(sum(accQA)) / len(accQA)
        per_type = {t: 100 * float(sum(v)) / len(v) for t, v in accAnsType.items()}
        return evalQA, overall, per_type


# (prediction, human answers, answer type, hand-computed accuracy or None)
def _answers(*pairs):
    out = []
    for answer, count in pairs:
        out += [answer] * count
    assert len(out) == 10
    return out


# One case per rule of the HEAD scorer, quirks included.  The hand-computed values
# are checked against the transcription first, so both are pinned down.
CASES = [
    # agreement levels: 0..10 humans agreeing with the prediction (leave-one-out mean of min(1, n/3))
    ('2', _answers(('3', 10)), 'number', 0.0),
    ('2', _answers(('2', 1), ('3', 9)), 'number', 0.3),
    ('2', _answers(('2', 2), ('3', 8)), 'number', 0.6),
    ('2', _answers(('2', 3), ('3', 7)), 'number', 0.9),
    ('2', _answers(('2', 4), ('3', 6)), 'number', 1.0),
    ('2', _answers(('2', 7), ('3', 3)), 'number', 1.0),
    ('2', _answers(('2', 10)), 'number', 1.0),
    # identical human answers: raw (stripped) strings are compared, no normalization at all
    ('Two', _answers(('2', 10)), 'number', 0.0),
    ('two', _answers(('two', 10)), 'number', 1.0),
    ('Yes', _answers(('yes', 10)), 'yes/no', 0.0),
    ('yes.', _answers(('yes', 10)), 'yes/no', 0.0),
    ('A Dog', _answers(('dog', 10)), 'other', 0.0),
    ('t-shirt', _answers(('t-shirt', 10)), 'other', 1.0),
    ('1000', _answers(('1,000', 10)), 'number', 0.0),
    ('1,000', _answers(('1,000', 10)), 'number', 1.0),
    # stripping: '\n' / '\t' / outer spaces, in the prediction AND in the human answers
    ('  yes \n', _answers(('yes', 10)), 'yes/no', 1.0),
    ('yes', _answers((' yes', 5), ('yes\n', 5)), 'yes/no', 1.0),  # identical once stripped
    ('yes\tsir', _answers(('yes sir', 10)), 'other', 1.0),
    ('Yes', _answers((' yes', 5), ('yes\n', 5)), 'yes/no', 0.0),
    # differing human answers: all of them and the prediction are fully normalized
    ('two', _answers(('2', 5), ('two', 5)), 'number', 1.0),
    ('two', _answers(('two', 4), ('three', 6)), 'number', 1.0),
    ('Two', _answers(('2', 3), ('3', 7)), 'number', 0.9),
    ('ten', _answers(('10', 5), ('9', 5)), 'number', 1.0),
    ('eleven', _answers(('11', 5), ('eleven', 5)), 'number', 1.0),  # only zero..ten are mapped
    ('none', _answers(('0', 2), ('1', 8)), 'number', 0.6),
    ('zero', _answers(('none', 2), ('1', 8)), 'number', 0.6),
    ('the dog', _answers(('dog', 6), ('cat', 4)), 'other', 1.0),
    ('a dog', _answers(('a dog', 3), ('cat', 7)), 'other', 0.9),
    ('An apple', _answers(('apple', 2), ('the apple', 1), ('pear', 7)), 'other', 0.9),
    ('another', _answers(('another', 3), ('other', 7)), 'other', 0.9),  # articles are whole words
    ('Yes!', _answers(('yes', 3), ('no', 7)), 'yes/no', 0.9),
    # punctuation: next to a space (or anywhere, when a digit,digit comma exists) it is removed,
    # otherwise replaced by a space
    ("it's red", _answers(("it's red", 4), ('red', 6)), 'other', 1.0),  # "'" is not punctuation
    ('t-shirt', _answers(('t-shirt', 9), ('shirt', 1)), 'other', 1.0),
    ('t shirt', _answers(('t-shirt', 3), ('shirt', 7)), 'other', 0.9),
    ('t - shirt', _answers(('t shirt', 5), ('shirt', 5)), 'other', 1.0),  # spaced '-' dropped, spaces re-joined
    ('tshirt', _answers(('t -shirt', 3), ('shirt', 7)), 'other', 0.0),  # 't -shirt' -> 't shirt'
    ('t-shirt', _answers(('t -shirt', 3), ('shirt', 7)), 'other', 0.9),  # 't-shirt' -> 't shirt'
    ('(left)', _answers(('left', 5), ('right', 5)), 'other', 1.0),
    ('what?', _answers(('what', 4), ('who', 6)), 'other', 1.0),
    ('x/y', _answers(('x y', 3), ('y', 7)), 'other', 0.9),
    ('3:30', _answers(('3:30', 3), ('330', 7)), 'other', 0.9),  # ':' is not punctuation
    ('red, white', _answers(('red white', 5), ('blue', 5)), 'other', 1.0),
    ('1,000', _answers(('1000', 5), ('100', 5)), 'number', 1.0),
    ('1000', _answers(('1,000', 5), ('1000', 5)), 'number', 1.0),
    ('red,1,2', _answers(('red12', 3), ('red 1 2', 7)), 'other', 0.9),  # a digit,digit comma: all removed
    ('@home', _answers(('home', 3), ('away', 7)), 'other', 0.9),
    # periods: removed unless a digit follows; the '(?!<=\d)' typo is a no-op lookahead
    ('3.5', _answers(('3.5', 5), ('35', 5)), 'number', 1.0),
    ('5.', _answers(('5', 5), ('6', 5)), 'number', 1.0),
    ('u.s.a.', _answers(('usa', 5), ('us', 5)), 'other', 1.0),
    ('.5', _answers(('.5', 3), ('5', 7)), 'number', 0.9),
    # ... at most 32 times per answer (re.UNICODE == 32 passed as the count)
    ('.' * 32 + 'x', _answers(('x', 5), ('y', 5)), 'other', 1.0),
    ('.' * 33 + 'x', _answers(('x', 5), ('y', 5)), 'other', 0.0),
    ('.' * 33 + 'x', _answers(('.' * 34 + 'x', 5), ('y', 5)), 'other', 0.0),  # '.x' vs '..x'
    ('.' * 33 + 'x', _answers(('. ' * 32 + '.x', 5), ('y', 5)), 'other', 1.0),  # both keep one period
    ('x', _answers(('.' * 40 + 'x', 5), ('y', 5)), 'other', 0.0),
    # contractions (after lower-casing, so the capitalized keys never apply)
    ('dont', _answers(("don't", 5), ('no', 5)), 'other', 1.0),
    ("don't", _answers(('dont', 6), ('no', 4)), 'other', 1.0),
    ('isnt', _answers(("isn't", 3), ('no', 7)), 'yes/no', 0.9),
    ('Im here', _answers(("i'm here", 5), ('here', 5)), 'other', 0.0),
    ("somebody'd", _answers(('somebodyd', 3), ('no', 7)), 'other', 0.9),  # the one reversed entry
    # empty answers
    ('', _answers(('', 1), ('nothing', 9)), 'other', 0.3),
]


def _qa(cases):
    gts = {i: {'answers': [{'answer': a, 'answer_id': j + 1, 'answer_confidence': 'yes'}
                           for j, a in enumerate(answers)], 'answer_type': t, 'question_type': 'what'}
           for i, (_, answers, t, _) in enumerate(cases)}
    res = {i: {'answer': pred} for i, (pred, *_) in enumerate(cases)}
    return gts, res


def _official(cases, evaluator=OfficialVQAEval):
    return evaluator().evaluate(*_qa(cases))


def test_reference_transcription_matches_hand_computed_values():
    per_question, _, _ = _official(CASES)
    for i, (pred, answers, _, expected) in enumerate(CASES):
        if expected is not None:
            assert per_question[i] == pytest.approx(expected), (pred, answers)


@pytest.mark.parametrize('i', range(len(CASES)))
def test_per_question_accuracy_equals_official(i):
    per_question, _, _ = _official(CASES)
    pred, answers, _, expected = CASES[i]
    assert vqa_accuracy(pred, answers) == per_question[i]
    assert vqa_accuracy(pred, answers) == pytest.approx(expected)


# A generated set mixing every rule above: answer variants differing in case, number words, articles,
# punctuation (spaced or not), commas in numbers, periods (more than 32 too), contractions, whitespace.
_VARIANTS = [
    ['2', 'two', 'Two', '2.', ' 2 ', 'two\n', 'TWO'], ['0', 'none', 'zero', 'None.'], ['10', 'ten', 'Ten!'],
    ['1,000', '1000', '1, 000', 'one thousand'], ['3.5', '3.50', '3,5', '3 .5'],
    ['yes', 'Yes', 'yes.', 'YES', 'yes!', 'Yes, it is', '\tyes'], ['no', 'No', 'no.', 'nope', 'no!'],
    ['dog', 'a dog', 'the dog', 'Dog', 'dogs', 'A Dog.', 'an dog'],
    ['t-shirt', 't shirt', 'tshirt', 't - shirt', 'T-Shirt', 't -shirt'],
    ['red, white', 'red white', 'red,white', 'red and white', 'red/white', 'red / white'],
    ["don't", 'dont', 'do not', "Don't"], ["isn't", 'isnt', 'is not'], ["i'm", 'Im', 'im', "I'm"],
    ["somebody'd", 'somebodyd', "somebody'd've", 'somebodyd\'ve'],
    ['left', '(left)', '[left]', '{left}', 'left?', 'left;', '"left"', 'left_side', 'left-side'],
    ['u.s.a.', 'usa', 'u.s.a', 'U.S.A.', 'us a'], ['3:30', '330', '3 30', '3.30'],
    ['a+b', 'a=b', 'a\\b', 'a>b', 'a<b', 'a@b', 'a`b', 'a b', 'ab'],
    ['.' * 40 + 'x', '.' * 32 + 'x', 'x', '.' * 33 + 'x', '.x', '. ' * 20 + 'x'],
    ['5.', '5', '.5', '5 .', 'five'], ['', ' ', 'nothing', '\n'],
]
_TYPES = ['number', 'yes/no', 'other']


def generated_questions(n, seed, identical_share=0.3, num_answers=(10,)):
    """``n`` (prediction, human answers, answer type) from :data:`_VARIANTS`, deterministic per seed."""
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        group = rng.choice(_VARIANTS)
        size = rng.choice(num_answers)
        if rng.random() < identical_share:
            answers = [rng.choice(group)] * size
        else:
            pool = rng.sample(group, rng.randint(1, min(4, len(group)))) + [rng.choice(rng.choice(_VARIANTS))]
            answers = [rng.choice(pool) for _ in range(size)]
        pred = rng.choice(group) if rng.random() < 0.85 else rng.choice(rng.choice(_VARIANTS))
        if rng.random() < 0.1:
            pred = rng.choice([' ', '\n', '\t', '']) + pred + rng.choice([' ', '\n', '\t', ''])
        cases.append((pred, answers, rng.choice(_TYPES), None))
    return cases


LARGE = generated_questions(20000, seed=0, num_answers=(10, 10, 10, 3, 5))


@pytest.mark.parametrize('pre2021, evaluator', [(False, OfficialVQAEval), (True, Pre2021VQAEval)])
def test_per_question_equality_on_a_large_generated_set(pre2021, evaluator):
    per_question, _, _ = _official(LARGE, evaluator)
    differing = [i for i, (pred, answers, _, _) in enumerate(LARGE)
                 if vqa_accuracy(pred, answers, pre2021=pre2021) != per_question[i]]
    assert differing == [], [LARGE[i] for i in differing[:5]]
    # the set exercises the rules: identical and differing answers, partial agreement
    scores = set(per_question.values())
    assert {0.0, 1.0} <= scores and len(scores) > 5


def test_metric_from_config_matches_official_overall_and_per_type():
    cases = CASES + LARGE[:500]
    _, overall, per_type = _official(cases)
    metric = METRICS.build(dict(type='VQAAcc'))
    samples = [dict(pred_answer=p, gt_answer=a, answer_type=t, question_id=i) for i, (p, a, t, _) in enumerate(cases)]
    metric.process(None, samples[:10])
    metric.process(None, [DataSample(**s) for s in samples[10:]])  # DataSample objects work too
    result = metric.evaluate(len(samples))
    assert set(result) == {'VQA/accuracy', 'VQA/yes/no', 'VQA/number', 'VQA/other'}
    assert result['VQA/accuracy'] == pytest.approx(overall, abs=1e-9)
    for answer_type, value in per_type.items():
        assert result[f'VQA/{answer_type}'] == pytest.approx(value, abs=1e-9)


def test_per_question_type_is_reported_on_request():
    # Hand-computed: 'red' given by 3 of 10 annotators. Leaving out one of the 7 'blue' keeps 3 matches (score 1),
    # leaving out one of the 3 'red' keeps 2 (score 2/3): the official mean is (7 * 1 + 3 * 2/3) / 10 = 0.9.
    samples = [dict(pred_answer='red', gt_answer=['red'] * 3 + ['blue'] * 7, answer_type='other',
                    question_type='what color is the', question_id=1),
               dict(pred_answer='2', gt_answer=['2'] * 10, answer_type='number', question_type='how many',
                    question_id=2),
               dict(pred_answer='3', gt_answer=['2'] * 10, answer_type='number', question_type='how many',
                    question_id=3)]
    metric = METRICS.build(dict(type='VQAAcc', per_question_type=True))
    metric.process(None, samples)
    result = metric.evaluate(3)
    assert result['VQA/question_type/what color is the'] == pytest.approx(90.0)
    assert result['VQA/question_type/how many'] == pytest.approx(50.0)
    assert result['VQA/accuracy'] == pytest.approx((90 + 100 + 0) / 3)
    plain = METRICS.build(dict(type='VQAAcc'))
    plain.process(None, samples)
    assert not any('question_type' in key for key in plain.evaluate(3))


def test_pre2021_logic_is_an_explicit_opt_in():
    """On answers that differ only in form ("two" vs "2"), the pre-2021 logic scores far lower."""
    mixed = [(pred, answers, 'number', None) for pred in ('two', '2', 'Two')
             for answers in (_answers(('2', 5), ('two', 5)), _answers(('two', 4), ('3', 6)),
                             _answers(('Two', 3), ('2', 3), ('3', 4)))]
    _, official, _ = _official(mixed)
    _, legacy, _ = _official(mixed, Pre2021VQAEval)
    samples = [dict(pred_answer=p, gt_answer=a, question_id=i) for i, (p, a, _, _) in enumerate(mixed)]
    scores = {}
    for pre2021 in (False, True):
        cfg = dict(type='VQAAcc', pre2021=True) if pre2021 else dict(type='VQAAcc')
        metric = METRICS.build(cfg)
        metric.process(None, samples)
        scores[pre2021] = metric.evaluate(len(samples))['VQA/accuracy']
    assert scores[False] == pytest.approx(official) and scores[True] == pytest.approx(legacy)
    assert scores[False] - scores[True] > 20


def test_other_numbers_of_answers():
    assert vqa_accuracy('Cat', ['cat', 'cat', 'dog']) == pytest.approx((1 / 3 + 1 / 3 + 2 / 3) / 3)
    # one answer: equality of the stripped strings (one answer is "all identical", so no normalization)
    assert vqa_accuracy(' cat\n', ['cat']) == 1.0 and vqa_accuracy('Cat', ['cat']) == 0.0
    metric = METRICS.build(dict(type='VQAAcc', prefix='vqa'))
    metric.process(None, [dict(pred_answer='cat', gt_answer='cat')])  # a single answer given as a str
    assert metric.evaluate(1) == {'vqa/accuracy': 100.0}


def test_duplicate_questions_count_once():
    metric = METRICS.build(dict(type='VQAAcc'))
    metric.process(None, [dict(pred_answer='yes', gt_answer=['yes'] * 10, question_id=5),
                          dict(pred_answer='no', gt_answer=['no'] * 10, question_id=6),
                          dict(pred_answer='no', gt_answer=['yes'] * 10, question_id=5)])  # padding repeat
    assert metric.evaluate(3) == {'VQA/accuracy': 100.0}


class LlavaEvalAIAnswerProcessor:
    """Transcription of ``EvalAIAnswerProcessor`` in haotian-liu/LLaVA llava/eval/m4c_evaluator.py (main);
    its CONTRACTIONS / NUMBER_MAP / ARTICLES equal vqaEval.py's, so those are shared."""
    CONTRACTIONS = _OFFICIAL_CONTRACTIONS
    NUMBER_MAP = OfficialVQAEval().manualMap
    ARTICLES = ["a", "an", "the"]
    PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
    COMMA_STRIP = re.compile(r"(?<=\d)(\,)+(?=\d)")
    PUNCTUATIONS = [";", r"/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`",
                    ",", "?", "!"]

    def word_tokenize(self, word):
        word = word.lower()
        word = word.replace(",", "").replace("?", "").replace("'s", " 's")
        return word.strip()

    def process_punctuation(self, in_text):
        out_text = in_text
        for p in self.PUNCTUATIONS:
            if (p + " " in in_text or " " + p in in_text) or (
                re.search(self.COMMA_STRIP, in_text) is not None
            ):
                out_text = out_text.replace(p, "")
            else:
                out_text = out_text.replace(p, " ")
        out_text = self.PERIOD_STRIP.sub("", out_text, re.UNICODE)
        return out_text

    def process_digit_article(self, in_text):
        out_text = []
        temp_text = in_text.lower().split()
        for word in temp_text:
            word = self.NUMBER_MAP.setdefault(word, word)
            if word not in self.ARTICLES:
                out_text.append(word)
            else:
                pass
        for word_id, word in enumerate(out_text):
            if word in self.CONTRACTIONS:
                out_text[word_id] = self.CONTRACTIONS[word]
        out_text = " ".join(out_text)
        return out_text

    def __call__(self, item):
        item = self.word_tokenize(item)
        item = item.replace("\n", " ").replace("\t", " ").strip()
        item = self.process_punctuation(item)
        item = self.process_digit_article(item)
        return item


def test_evalai_answer_processor_equals_llavas():
    texts = [pred for pred, *_ in LARGE[:3000]] + [a for _, answers, *_ in LARGE[:300] for a in answers]
    texts += ["It's red, isn't it?", "The cat's toy.", '1,000,000 dollars', '3.5!', 'a,b,1,,2']
    ours, llava = EvalAIAnswerProcessor(), LlavaEvalAIAnswerProcessor()
    assert [t for t in texts if ours(t) != llava(t)] == []


@pytest.mark.parametrize('raw, cleaned', [
    ('The poster shows a 10% discount.', 'poster shows 10% discount'),
    ('Yes!', 'yes'),
    ("It's red, isn't it?", "it 's red isn't it"),
    ('Two dogs', '2 dogs'),
    ('T-Shirt', 't shirt'),
    ('1,000', '1000'),
])
def test_llava_evalai_answer_processor(raw, cleaned):
    assert EvalAIAnswerProcessor()(raw) == cleaned


def test_postprocess_cleans_predictions_before_scoring():
    plain = METRICS.build(dict(type='VQAAcc'))
    cleaned = METRICS.build(dict(type='VQAAcc', postprocess=True))
    sample = dict(pred_answer='T-Shirt', gt_answer=['t-shirt'] * 10)
    for metric in (plain, cleaned):
        metric.process(None, [sample])
    # official normalization alone keeps "t-shirt" apart from "t shirt"; so does the EvalAI cleaner
    assert plain.evaluate(1)['VQA/accuracy'] == 0.0
    assert cleaned.evaluate(1)['VQA/accuracy'] == 0.0
    metric = METRICS.build(dict(type='VQAAcc', postprocess=True))
    metric.process(None, [dict(pred_answer='Yes, it is.', gt_answer=['yes it is'] * 10)])
    assert metric.evaluate(1)['VQA/accuracy'] == 100.0


def test_format_only_writes_a_test_dev_submission(tmp_path):
    out = tmp_path / 'results' / 'vqav2' / 'test-dev.json'  # parents do not exist yet
    metric = METRICS.build(dict(type='VQAAcc', format_only=True, outfile_path=str(out), postprocess=True))
    metric.process(None, [dict(pred_answer='Two.', question_id=1), DataSample(pred_answer='A cat', question_id=22)])
    metric.process(None, [dict(pred_answer='ignored repeat', question_id=1)])
    assert metric.evaluate(3) == {}
    assert json.loads(out.read_text()) == [{'question_id': 1, 'answer': '2'}, {'question_id': 22, 'answer': 'cat'}]
    assert [p.name for p in out.parent.iterdir()] == ['test-dev.json']  # no temporary file left behind


def test_format_only_needs_a_path_and_question_ids(tmp_path):
    with pytest.raises(ValueError, match='outfile_path'):
        METRICS.build(dict(type='VQAAcc', format_only=True))
    metric = METRICS.build(dict(type='VQAAcc', format_only=True, outfile_path=str(tmp_path / 'x.json')))
    metric.process(None, [dict(pred_answer='yes')])
    with pytest.raises(ValueError, match='question_id'):
        metric.evaluate(1)


def test_missing_ground_truth_is_named():
    metric = METRICS.build(dict(type='VQAAcc'))
    with pytest.raises(KeyError, match='gt_answer'):
        metric.process(None, [dict(pred_answer='yes', question_id=1)])


def test_submission_is_padded_to_the_server_question_list(tmp_path):
    """EvalAI wants every test2015 question: unanswered ones get '' (LLaVA's convert script)."""
    import json
    questions = tmp_path / 'llava_vqav2_mscoco_test2015.jsonl'
    questions.write_text(''.join(json.dumps({'question_id': q, 'image': 'x.jpg', 'text': 't'}) + '\n'
                                 for q in (5, 7, 9)))
    out = tmp_path / 'sub.json'
    metric = METRICS.build(dict(type='VQAAcc', format_only=True, outfile_path=str(out),
                                submission_question_file=str(questions)))
    metric.process(None, [{'pred_answer': 'two', 'question_id': 7}])
    assert metric.evaluate(1) == {}
    assert json.loads(out.read_text()) == [{'question_id': 7, 'answer': 'two'}, {'question_id': 5, 'answer': ''},
                                           {'question_id': 9, 'answer': ''}]
    stray = METRICS.build(dict(type='VQAAcc', format_only=True, outfile_path=str(tmp_path / 'bad.json'),
                               submission_question_file=str(questions)))
    stray.process(None, [{'pred_answer': 'two', 'question_id': 8}])
    with pytest.raises(ValueError, match=r'not in .*test2015.jsonl: \[8\]'):
        stray.evaluate(1)
    assert not (tmp_path / 'bad.json').exists()
