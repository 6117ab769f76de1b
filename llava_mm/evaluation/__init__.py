"""Evaluation metrics (registered in ``llava_mm.registry.METRICS``).

* :class:`COCOCaption` - official COCO caption scores without Java (:mod:`.caption`).
* :class:`VQAAcc` - official VQAv2 accuracy (``vqaEval.py`` at its current HEAD), or a test-dev submission file.
* :class:`ScienceQAAcc` - ScienceQA multiple-choice accuracy, parsed like LLaVA's ``eval_science_qa.py``.
"""
from .caption import COCOCaption, PTBTokenizer, coco_caption_scores, tokenize_lines
from .scienceqa_acc import ScienceQAAcc, parse_choice
from .vqa_acc import VQAAcc
from .vqa_normalization import EvalAIAnswerProcessor, vqa_accuracy

__all__ = [
    'COCOCaption', 'VQAAcc', 'ScienceQAAcc', 'coco_caption_scores', 'PTBTokenizer', 'tokenize_lines',
    'parse_choice', 'EvalAIAnswerProcessor', 'vqa_accuracy'
]
