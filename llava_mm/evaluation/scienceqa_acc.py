"""ScienceQA multiple-choice accuracy, parsing answers like LLaVA's ``eval_science_qa.py``."""
from __future__ import annotations

import re
import string
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Union

from mmengine.evaluator import BaseMetric

from llava_mm.registry import METRICS
from .samples import first_per_question, get_field, plain_value

__all__ = ['ScienceQAAcc', 'parse_choice']

_LLAVA_OPTIONS = ['A', 'B', 'C', 'D', 'E']
# LLaVA's pattern, unescaped '.' included: some character must follow the letter.
_ANSWER_IS = re.compile(r'The answer is ([A-Z]).')
_LENIENT_ANSWER_IS = re.compile(r'The answer is \(?([A-Z])\b')
_LETTER_PREFIX = re.compile(r'^\(?([A-Z])(?:[.:)]|$)')
_NORMALIZE_TEXT = re.compile(r'[\s' + re.escape(string.punctuation) + r']+')


def _llava_letter(reply: str) -> Optional[str]:
    """The letter LLaVA's ``eval_science_qa.py`` reads from a stripped reply, None where it says FAILED."""
    if reply in _LLAVA_OPTIONS:
        return reply
    if len(reply) >= 3 and reply[0] in _LLAVA_OPTIONS and reply[1:3] == '. ':
        return reply[0]
    found = _ANSWER_IS.findall(reply)
    return found[0] if len(found) == 1 else None


def _lenient_letter(reply: str) -> Optional[str]:
    """``B.``, ``B:``, ``(B)``, ``B)``, or ``The answer is B`` where every such phrase names B."""
    match = _LETTER_PREFIX.match(reply)
    if match:
        return match.group(1)
    found = set(_LENIENT_ANSWER_IS.findall(reply))
    return found.pop() if len(found) == 1 else None


def _normalized(text: str) -> str:
    return _NORMALIZE_TEXT.sub(' ', text).strip().lower()


def _letter_index(letter: str, num_choices: int) -> int:
    """As LLaVA's ``get_pred_idx``: only ``A``-``E`` within the number of choices count."""
    options = _LLAVA_OPTIONS[:num_choices]
    return options.index(letter) if letter in options else -1


def parse_choice(prediction: str, choices: Sequence[str], lenient: bool = False) -> int:
    """Index of the option a free-text prediction picks, -1 if none can be read.

    The reply is stripped (LLaVA's ``model_vqa_science.py`` strips the decoded
    text), then read by LLaVA's rules: it is exactly a letter ``A``-``E``; or it
    is at least 3 characters and starts with such a letter and ``'. '``
    (``B. cat``); or ``re.findall(r'The answer is ([A-Z]).', reply)`` finds
    exactly one match (the unescaped ``.`` needs one more character after the
    letter, so a bare ``The answer is B`` at the end is not read).  A letter
    beyond the number of choices is wrong.  With ``lenient`` (off by default, so
    scores are LLaVA's), replies LLaVA calls FAILED are also read when they
    start with a letter followed by ``.``, ``:`` or ``)`` (``B.``, ``B:``,
    ``(B)``), say ``The answer is B`` (every such phrase naming the same
    letter), or, punctuation and case aside, equal one option's text.
    """
    reply = prediction.strip()
    letter = _llava_letter(reply)
    if letter is not None:
        return _letter_index(letter, len(choices))
    if not lenient:
        return -1
    letter = _lenient_letter(reply)
    if letter is not None:
        return _letter_index(letter, len(choices))
    target = _normalized(reply)
    matches = [i for i, choice in enumerate(choices) if _normalized(str(choice)) == target]
    return matches[0] if len(matches) == 1 else -1


def _answer_index(gt: Union[str, int], num_choices: int) -> int:
    """gt_answer as a 0-based index: a letter ('B') or an int index (1)."""
    gt = plain_value(gt)
    if isinstance(gt, str):
        gt = gt.strip()
        if len(gt) == 1 and gt.upper() in string.ascii_uppercase:
            index = ord(gt.upper()) - ord('A')
        elif gt.isdigit():
            index = int(gt)
        else:
            raise ValueError(f"gt_answer must be an option letter or a 0-based index, got {gt!r}")
    elif isinstance(gt, int):
        index = gt
    else:
        raise TypeError(f'gt_answer must be a letter or an int, got {type(gt).__name__}')
    if not 0 <= index < num_choices:
        raise ValueError(f'gt_answer {gt!r} is out of range for {num_choices} choices')
    return index


@METRICS.register_module()
class ScienceQAAcc(BaseMetric):
    """ScienceQA accuracy (percent) of free-text answers to multiple-choice questions.

    Data samples (dicts or DataSample-like objects) carry ``pred_answer`` (the
    model's text), ``choices`` (option strings) and ``gt_answer``: the correct
    option as a letter (``'B'``) or a 0-based index (``1``, like ScienceQA's
    ``problems.json``).  Answers are read by :func:`parse_choice`; unreadable
    ones count as wrong.

    A question id seen twice (distributed padding) counts once, with its first
    answer.  Returned keys: ``accuracy``, ``img_accuracy`` when samples carry
    ``has_image`` (LLaVA's IMG-Accuracy), and ``<key>/<value>`` for each key of
    ``group_keys`` found in the samples (e.g. ``subject/natural science``).

    Args:
        group_keys: sample fields to break accuracy down by.
        lenient: also read ``B.``/``B:``/``(B)``, ``The answer is B`` and
            replies equal to an option's text (False, the default and what the
            shipped ScienceQA config uses: exactly LLaVA's parsing).
        collect_device, prefix, collect_dir: see mmengine ``BaseMetric``.
    """

    default_prefix: Optional[str] = 'scienceqa'

    def __init__(self,
                 group_keys: Sequence[str] = ('subject', 'category'),
                 lenient: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.group_keys = tuple(group_keys)
        self.lenient = lenient

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        for sample in data_samples:
            choices = list(get_field(sample, 'choices'))
            pred = get_field(sample, 'pred_answer')
            if not isinstance(pred, str):
                raise TypeError(f'pred_answer must be a str, got {type(pred).__name__}')
            gt = _answer_index(get_field(sample, 'gt_answer'), len(choices))
            result = {
                'question_id': get_field(sample, 'question_id', None),
                'correct': parse_choice(pred, choices, self.lenient) == gt,
                'has_image': get_field(sample, 'has_image', None),
                'groups': {k: get_field(sample, k, None) for k in self.group_keys},
            }
            self.results.append(result)

    def compute_metrics(self, results: List[Dict[str, Any]]) -> Dict[str, float]:
        results = first_per_question(results)
        if not results:
            raise ValueError('ScienceQAAcc got no results to score')
        metrics = {'accuracy': _percent([r['correct'] for r in results])}
        with_image = [r['correct'] for r in results if r['has_image']]
        if any(r['has_image'] is not None for r in results) and with_image:
            metrics['img_accuracy'] = _percent(with_image)
        groups: Dict[str, List[bool]] = OrderedDict()
        for r in results:
            for key, value in r['groups'].items():
                if value is not None:
                    groups.setdefault(f'{key}/{value}', []).append(r['correct'])
        for name, values in groups.items():
            metrics[name] = _percent(values)
        return metrics


def _percent(values: List[bool]) -> float:
    return 100.0 * sum(values) / len(values)
