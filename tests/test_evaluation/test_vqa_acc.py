"""VQAAcc scores each question exactly like the official VQA evaluation (vqaEval.py)."""
import json
import re

import pytest
from mmpretrain.structures import DataSample

from llava_mm.evaluation import EvalAIAnswerProcessor, vqa_accuracy
from llava_mm.registry import METRICS


# ---------------------------------------------------------------------------
# Independent reference: a transcription of VQAEval.evaluate / processPunctuation
# / processDigitArticle from GT-Vision-Lab/VQA PythonEvaluationTools/vqaEvaluation/
# vqaEval.py (master), kept close to the original on purpose.
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
    def __init__(self):
        self.contractions = _OFFICIAL_CONTRACTIONS
        self.manualMap = {'none': '0', 'zero': '0', 'one': '1', 'two': '2', 'three': '3', 'four': '4',
                          'five': '5', 'six': '6', 'seven': '7', 'eight': '8', 'nine': '9', 'ten': '10'}
        self.articles = ['a', 'an', 'the']
        self.periodStrip = re.compile(r'(?!<=\d)(\.)(?!\d)')
        self.commaStrip = re.compile(r'(\d)(\,)(\d)')
        self.punct = [';', r'/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`',
                      ',', '?', '!']

    def evaluate(self, gts, res):
        """gts: {qid: {'answers': [{'answer', 'answer_id'}], 'answer_type'}}, res: {qid: {'answer'}}."""
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
            ansType = gts[quesId]['answer_type']
            avgGTAcc = float(sum(gtAcc)) / len(gtAcc)
            accQA.append(avgGTAcc)
            accAnsType.setdefault(ansType, []).append(avgGTAcc)
            evalQA[quesId] = avgGTAcc
        overall = 100 * float(sum(accQA)) / len(accQA)  # the official rounds to 2 digits here
        per_type = {t: 100 * float(sum(v)) / len(v) for t, v in accAnsType.items()}
        return evalQA, overall, per_type

    def processPunctuation(self, inText):
        outText = inText
        for p in self.punct:
            if (p + ' ' in inText or ' ' + p in inText) or (re.search(self.commaStrip, inText) is not None):
                outText = outText.replace(p, '')
            else:
                outText = outText.replace(p, ' ')
        outText = self.periodStrip.sub('', outText, re.UNICODE)
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


# (prediction, 10 human answers, answer type, hand-computed accuracy or None)
def _answers(*pairs):
    out = []
    for answer, count in pairs:
        out += [answer] * count
    assert len(out) == 10
    return out


CASES = [
    # agreement levels: 0..10 humans agreeing with the prediction
    ('2', _answers(('3', 10)), 'number', 0.0),
    ('2', _answers(('2', 1), ('3', 9)), 'number', 0.3),
    ('2', _answers(('2', 2), ('3', 8)), 'number', 0.6),
    ('2', _answers(('2', 3), ('3', 7)), 'number', 0.9),
    ('2', _answers(('2', 4), ('3', 6)), 'number', 1.0),
    ('2', _answers(('2', 7), ('3', 3)), 'number', 1.0),
    ('2', _answers(('2', 10)), 'number', 1.0),
    # numbers as words, case, articles, whitespace
    ('Two', _answers(('2', 10)), 'number', 1.0),
    ('ten', _answers(('10', 5), ('9', 5)), 'number', 1.0),
    ('none', _answers(('0', 2), ('1', 8)), 'number', 0.6),
    ('A Dog', _answers(('dog', 10)), 'other', 1.0),
    ('the dog', _answers(('dog', 6), ('cat', 4)), 'other', 1.0),
    ('  yes \n', _answers(('yes', 10)), 'yes/no', 1.0),
    ('yes\tsir', _answers(('yes sir', 10)), 'other', 1.0),
    # punctuation and periods
    ('yes.', _answers(('yes', 10)), 'yes/no', 1.0),
    ('Yes!', _answers(('yes', 3), ('no', 7)), 'yes/no', 0.9),
    ("it's red", _answers(("it's red", 4), ('red', 6)), 'other', 1.0),
    ('t-shirt', _answers(('t-shirt', 10)), 'other', 0.0),  # identical human answers are not normalized
    ('t-shirt', _answers(('t-shirt', 9), ('shirt', 1)), 'other', 1.0),
    ('t - shirt', _answers(('t shirt', 5), ('shirt', 5)), 'other', 1.0),  # spaced '-' is dropped
    ('t - shirt', _answers(('tshirt', 5), ('shirt', 5)), 'other', 0.0),
    ('3.5', _answers(('3.5', 10)), 'number', 1.0),
    ('u.s.a.', _answers(('usa', 10)), 'other', 1.0),
    ('what?', _answers(('what', 4), ('who', 6)), 'other', None),
    ('(left)', _answers(('left', 10)), 'other', 1.0),
    # commas inside numbers
    ('1,000', _answers(('1000', 10)), 'number', 1.0),
    ('1000', _answers(('1,000', 10)), 'number', 0.0),  # identical answers keep their comma
    ('1000', _answers(('1,000', 5), ('1000', 5)), 'number', 1.0),
    ('red, white', _answers(('red white', 10)), 'other', 1.0),
    # contractions
    ('dont', _answers(("don't", 10)), 'other', 1.0),
    ("don't", _answers(("don't", 6), ('no', 4)), 'other', 1.0),
    ('Im here', _answers(("i'm here", 10)), 'other', 0.0),  # capitalized keys never match after lower()
    ('isnt', _answers(("isn't", 3), ('no', 7)), 'yes/no', 0.9),
    ('', _answers(('', 1), ('nothing', 9)), 'other', 0.3),
    ('. ' * 40 + 'x', _answers(('x', 10)), 'other', None),  # only 32 periods are stripped
]


def _official(cases):
    gts = {i: {'answers': [{'answer': a, 'answer_id': j + 1, 'answer_confidence': 'yes'}
                           for j, a in enumerate(answers)], 'answer_type': t, 'question_type': 'what'}
           for i, (_, answers, t, _) in enumerate(cases)}
    res = {i: {'answer': pred} for i, (pred, *_) in enumerate(cases)}
    return OfficialVQAEval().evaluate(gts, res)


def test_reference_transcription_matches_hand_computed_values():
    per_question, _, _ = _official(CASES)
    for i, (pred, answers, _, expected) in enumerate(CASES):
        if expected is not None:
            assert per_question[i] == pytest.approx(expected), (pred, answers)


@pytest.mark.parametrize('i', range(len(CASES)))
def test_per_question_accuracy_equals_official(i):
    per_question, _, _ = _official(CASES)
    pred, answers, _, expected = CASES[i]
    assert vqa_accuracy(pred, answers) == pytest.approx(per_question[i], abs=1e-12)
    if expected is not None:
        assert vqa_accuracy(pred, answers) == pytest.approx(expected)


def test_metric_from_config_matches_official_overall_and_per_type():
    _, overall, per_type = _official(CASES)
    metric = METRICS.build(dict(type='VQAAcc'))
    samples = [dict(pred_answer=p, gt_answer=a, answer_type=t, question_id=i) for i, (p, a, t, _) in enumerate(CASES)]
    metric.process(None, samples[:10])
    metric.process(None, [DataSample(**s) for s in samples[10:]])  # DataSample objects work too
    result = metric.evaluate(len(samples))
    assert set(result) == {'VQA/accuracy', 'VQA/yes/no', 'VQA/number', 'VQA/other'}
    assert result['VQA/accuracy'] == pytest.approx(overall, abs=1e-9)
    for answer_type, value in per_type.items():
        assert result[f'VQA/{answer_type}'] == pytest.approx(value, abs=1e-9)


def test_other_numbers_of_answers():
    assert vqa_accuracy('cat', ['cat', 'cat', 'dog']) == pytest.approx((1 / 3 + 1 / 3 + 2 / 3) / 3)
    assert vqa_accuracy('cat', ['cat']) == 1.0 and vqa_accuracy('dog', ['cat']) == 0.0
    metric = METRICS.build(dict(type='VQAAcc', prefix='vqa'))
    metric.process(None, [dict(pred_answer='Cat', gt_answer='cat')])  # a single answer given as a str
    assert metric.evaluate(1) == {'vqa/accuracy': 100.0}


def test_duplicate_questions_count_once():
    metric = METRICS.build(dict(type='VQAAcc'))
    metric.process(None, [dict(pred_answer='yes', gt_answer=['yes'] * 10, question_id=5),
                          dict(pred_answer='no', gt_answer=['no'] * 10, question_id=6),
                          dict(pred_answer='no', gt_answer=['yes'] * 10, question_id=5)])  # padding repeat
    assert metric.evaluate(3) == {'VQA/accuracy': 100.0}


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
