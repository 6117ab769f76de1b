"""Answer normalization and scoring of the official VQA evaluation.

Follows ``PythonEvaluationTools/vqaEvaluation/vqaEval.py`` of the official VQA
API (GT-Vision-Lab/VQA) at its current HEAD, commit a013f00 "Fixed processing
answers bug" (March 2021), quirks included, because they decide scores.  Per
question:

* ``\\n`` / ``\\t`` become spaces and outer whitespace is stripped, in the
  prediction and in every human answer;
* if the stripped human answers are **not all identical**, every human answer
  and the prediction go through :func:`process_punctuation` then
  :func:`process_digit_article` (lower case, number words -> digits, articles
  dropped, ``dont`` -> ``don't``); **if they are all identical, the raw
  stripped strings are compared** (``'Yes'`` or ``'two'`` against ten ``'yes'``
  / ``'2'`` score 0);
* ``'.'`` not followed by a digit is removed at most 32 times per answer
  (``re.sub(pattern, '', text, re.UNICODE)`` passes ``re.UNICODE == 32`` as the
  count);
* accuracy = mean over the leave-one-out subsets of the human answers of
  ``min(1, #matches / 3)``.

Before a013f00 the script normalized the prediction always and the human
answers with ``process_punctuation`` only (and only when they differed); that
logic, behind many pre-2021 numbers, is kept as ``pre2021=True``.

:class:`EvalAIAnswerProcessor` is the answer cleaner LLaVA applies to its
predictions before uploading them (``llava/eval/m4c_evaluator.py``, from MMF).
"""
from __future__ import annotations

import re
from typing import Sequence

__all__ = ['process_punctuation', 'process_digit_article', 'normalize_answer', 'vqa_accuracy',
           'EvalAIAnswerProcessor']

CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm", "Ive": "I've",
    "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll", "let's": "let's",
    "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've", "mightn'tve": "mightn't've",
    "mightve": "might've", "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's",
    "shouldve": "should've", "shouldnt": "shouldn't", "shouldnt've": "shouldn't've",
    "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd", "somebodyd've": "somebody'd've",
    "somebody'dve": "somebody'd've", "somebodyll": "somebody'll", "somebodys": "somebody's",
    "someoned": "someone'd", "someoned've": "someone'd've", "someone'dve": "someone'd've",
    "someonell": "someone'll", "someones": "someone's", "somethingd": "something'd",
    "somethingd've": "something'd've", "something'dve": "something'd've", "somethingll": "something'll",
    "thats": "that's", "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas",
    "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't",
    "whatll": "what'll", "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's",
    "whered": "where'd", "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll",
    "whyre": "why're", "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll",
    "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're",
    "youve": "you've",
}
NUMBER_WORDS = {'none': '0', 'zero': '0', 'one': '1', 'two': '2', 'three': '3', 'four': '4', 'five': '5',
                'six': '6', 'seven': '7', 'eight': '8', 'nine': '9', 'ten': '10'}
ARTICLES = frozenset(['a', 'an', 'the'])
# "(?!<=\d)" is a lookahead typo for a lookbehind in the original; kept as is.
PERIOD_STRIP = re.compile(r'(?!<=\d)(\.)(?!\d)')
COMMA_STRIP = re.compile(r'(\d)(,)(\d)')
PUNCTUATION = [';', r'/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',',
               '?', '!']


def process_punctuation(text: str, number_comma: 're.Pattern[str]' = COMMA_STRIP) -> str:
    """``VQAEval.processPunctuation``: drop or space out punctuation, strip periods.

    Punctuation next to a space is dropped, elsewhere replaced by a space; all of
    it is dropped when ``number_comma`` (a comma between digits) is found.
    """
    out = text
    has_number_comma = number_comma.search(text) is not None
    for p in PUNCTUATION:
        if (p + ' ' in text or ' ' + p in text) or has_number_comma:
            out = out.replace(p, '')
        else:
            out = out.replace(p, ' ')
    return PERIOD_STRIP.sub('', out, re.UNICODE)  # count=32, as in the original


def process_digit_article(text: str) -> str:
    """``VQAEval.processDigitArticle``: lower case, number words, articles, contractions."""
    words = []
    for word in text.lower().split():
        word = NUMBER_WORDS.get(word, word)
        if word not in ARTICLES:
            words.append(word)
    return ' '.join(CONTRACTIONS.get(word, word) for word in words)


def normalize_answer(answer: str) -> str:
    """``processDigitArticle(processPunctuation(answer))``, what differing answers are compared by."""
    return process_digit_article(process_punctuation(answer))


def _strip(answer: str) -> str:
    return answer.replace('\n', ' ').replace('\t', ' ').strip()


def vqa_accuracy(pred_answer: str, gt_answers: Sequence[str], pre2021: bool = False) -> float:
    """Official VQA accuracy (0..1) of one prediction against the human answers.

    ``gt_answers`` are the raw human answers (10 for VQAv2), told apart by
    position as the official tool does by ``answer_id``.  With a single answer
    the leave-one-out formula is always 0, so one answer is scored by equality
    (of the stripped strings: one answer is "all identical").  ``pre2021``
    scores as ``vqaEval.py`` did before commit a013f00 (see the module doc).
    """
    if not gt_answers:
        raise ValueError('a question needs at least one ground-truth answer')
    if pre2021:
        pred = normalize_answer(_strip(pred_answer))
        gts = list(gt_answers)
        if len(set(gts)) > 1:
            gts = [process_punctuation(a) for a in gts]
    else:
        pred = _strip(pred_answer)
        gts = [_strip(a) for a in gt_answers]
        if len(set(gts)) > 1:
            gts = [normalize_answer(a) for a in gts]
            pred = normalize_answer(pred)
    if len(gts) == 1:
        return float(gts[0] == pred)
    matches = sum(a == pred for a in gts)
    total = 0.0
    for answer in gts:
        others_matching = matches - (answer == pred)
        total += min(1.0, others_matching / 3)
    return total / len(gts)


class EvalAIAnswerProcessor:
    """LLaVA's answer cleaner (``m4c_evaluator.EvalAIAnswerProcessor``, from MMF).

    Applied to predictions before writing a VQAv2 submission (and, with
    ``VQAAcc(postprocess=True)``, before scoring).  Unlike the official
    evaluation it lower-cases first, deletes ``,`` and ``?`` outright, splits
    ``'s`` off (``it 's``) and always normalizes.
    """

    COMMA_STRIP = re.compile(r'(?<=\d)(\,)+(?=\d)')

    def word_tokenize(self, word: str) -> str:
        word = word.lower()
        word = word.replace(',', '').replace('?', '').replace("'s", " 's")
        return word.strip()

    def __call__(self, answer: str) -> str:
        answer = self.word_tokenize(answer)
        answer = answer.replace('\n', ' ').replace('\t', ' ').strip()
        answer = process_punctuation(answer, self.COMMA_STRIP)
        return process_digit_article(answer)
