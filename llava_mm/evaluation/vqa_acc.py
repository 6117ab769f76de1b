"""VQA accuracy as the official VQAv2 evaluation scores it, or a test-dev submission file."""
from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from llava_mm.datasets.annotation_files import load_json, load_jsonl
from llava_mm.fileio import write_bytes_atomic
from llava_mm.registry import METRICS
from .samples import first_per_question, get_field, plain_value
from .vqa_normalization import EvalAIAnswerProcessor, vqa_accuracy

__all__ = ['VQAAcc']


@METRICS.register_module()
class VQAAcc(BaseMetric):
    """Official VQA accuracy (in percent), overall and per answer type.

    Data samples (dicts or DataSample-like objects) carry ``pred_answer``,
    ``gt_answer`` (the human answers, 10 for VQAv2), and optionally
    ``answer_type`` (``yes/no``, ``number``, ``other``) and ``question_id``.
    Each question is scored exactly like the official ``vqaEval.py`` at its
    current HEAD (see :mod:`.vqa_normalization`); the reported numbers are the
    unrounded means (the official tool rounds to 2 decimals when printing).

    Returned keys: ``accuracy`` and one key per answer type seen
    (``yes/no``, ``number``, ``other``); with ``per_question_type``, also
    ``question_type/<type>`` for each ``question_type`` the samples carry
    (VQAv2's leading words: ``what color is the``, ``how many``, ...), as the
    official tool's ``perQuestionType``.

    Args:
        postprocess: clean predictions with LLaVA's EvalAI answer processor
            first, as LLaVA does before uploading VQAv2 answers.
        format_only: instead of scoring, write the submission json
            ``[{"question_id": int, "answer": str}, ...]`` (VQAv2 test-dev has
            no public answers) to ``outfile_path`` and return ``{}``.
        outfile_path: where ``format_only`` writes (parents are created; the
            file is replaced atomically).
        submission_question_file: with ``format_only``, the questions the
            server expects answers for (LLaVA's ``llava_vqav2_mscoco_test2015.jsonl``
            or an official questions json); those not answered get ``''``, as
            LLaVA's ``convert_vqav2_for_submission.py`` does for EvalAI.
        pre2021: score with the logic ``vqaEval.py`` had before commit a013f00
            (March 2021), to compare with numbers computed by that version.
        per_question_type: also report the accuracy per question type.
        collect_device, prefix, collect_dir: see mmengine ``BaseMetric``.
    """

    default_prefix: Optional[str] = 'VQA'

    def __init__(self,
                 postprocess: bool = False,
                 format_only: bool = False,
                 outfile_path: Optional[str] = None,
                 submission_question_file: Optional[str] = None,
                 pre2021: bool = False,
                 per_question_type: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if format_only and not outfile_path:
            raise ValueError('VQAAcc(format_only=True) needs outfile_path for the submission json')
        self.postprocess = postprocess
        self.format_only = format_only
        self.outfile_path = outfile_path
        self.submission_question_file = submission_question_file
        self.pre2021 = pre2021
        self.per_question_type = per_question_type
        self._processor = EvalAIAnswerProcessor()

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        for sample in data_samples:
            pred = get_field(sample, 'pred_answer')
            if not isinstance(pred, str):
                raise TypeError(f'pred_answer must be a str, got {type(pred).__name__}')
            if self.postprocess:
                pred = self._processor(pred)
            result = {
                'pred_answer': pred,
                'question_id': get_field(sample, 'question_id', None),
                'answer_type': get_field(sample, 'answer_type', None),
                'question_type': get_field(sample, 'question_type', None),
            }
            if not self.format_only:
                gt = get_field(sample, 'gt_answer')
                result['gt_answer'] = [gt] if isinstance(gt, str) else list(gt)
            self.results.append(result)

    def compute_metrics(self, results: List[Dict[str, Any]]) -> Dict[str, float]:
        results = first_per_question(results)
        if self.format_only:
            self._write_submission(results)
            return {}
        if not results:
            raise ValueError('VQAAcc got no results to score')
        by_type: Dict[str, List[float]] = OrderedDict()
        by_question_type: Dict[str, List[float]] = {}
        scores = []
        for result in results:
            score = vqa_accuracy(result['pred_answer'], result['gt_answer'], self.pre2021)
            scores.append(score)
            if result['answer_type'] is not None:
                by_type.setdefault(str(result['answer_type']), []).append(score)
            if self.per_question_type and result.get('question_type') is not None:
                by_question_type.setdefault(str(result['question_type']), []).append(score)
        metrics = {'accuracy': 100.0 * sum(scores) / len(scores)}
        for answer_type, values in by_type.items():
            metrics[answer_type] = 100.0 * sum(values) / len(values)
        for question_type, values in sorted(by_question_type.items()):
            metrics[f'question_type/{question_type}'] = 100.0 * sum(values) / len(values)
        return metrics

    def _write_submission(self, results: List[Dict[str, Any]]) -> None:
        missing = sum(r['question_id'] is None for r in results)
        if missing:
            raise ValueError(f'{missing} result(s) have no question_id; a VQAv2 submission needs them')
        submission = [{'question_id': int(plain_value(r['question_id'])), 'answer': r['pred_answer']} for r in results]
        if self.submission_question_file:
            expected = _question_ids(self.submission_question_file)
            answered = {s['question_id'] for s in submission}
            unknown = sorted(answered - set(expected))
            if unknown:
                raise ValueError(f'{len(unknown)} answered question id(s) are not in '
                                 f'{self.submission_question_file}: {unknown[:10]}')
            submission += [{'question_id': q, 'answer': ''} for q in expected if q not in answered]
        write_bytes_atomic(self.outfile_path, json.dumps(submission).encode('utf-8'))
        print_log(f'VQA submission with {len(submission)} answers written to {self.outfile_path}', logger='current')


def _question_ids(path: str) -> List[int]:
    """Question ids of a LLaVA questions jsonl or an official VQA questions json."""
    if path.endswith('.jsonl'):
        records = [record for _, record in load_jsonl(path, 'Question file')]
    else:
        data = load_json(path, 'Question file')
        records = data['questions'] if isinstance(data, dict) else data
    try:
        return [int(record['question_id']) for record in records]
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f'{path}: every question needs an integer question_id ({err})') from err
