"""COCO caption metric: the official COCO caption scores without needing Java.

The numbers are those of the official toolkit (``pycocoevalcap`` +
``pycocotools``: ``coco.loadRes`` then ``COCOEvalCap`` restricted to the images
that have a prediction), computed as follows:

* tokenization: :mod:`.ptb_tokenizer`, a Python port of the Stanford
  PTBTokenizer jar that pycocoevalcap runs through Java (same tokens, same
  punctuation removal), so scores do not change with or without Java;
* BLEU-1..4 and CIDEr-D: :mod:`.scorers` (pycocoevalcap's formulas,
  vectorized; equal to pycocoevalcap to 1e-9);
* ROUGE-L: pycocoevalcap's ``Rouge``; METEOR: pycocoevalcap's ``Meteor``
  (a Java program, so reported only when ``java`` is on PATH); SPICE is never
  computed (Java + Stanford CoreNLP models, minutes per split).

Scores are fractions (CIDEr around 1.0 for good models), like pycocoevalcap.
"""
from __future__ import annotations

import shutil
from collections import OrderedDict
from typing import Any, Dict, Hashable, List, Optional, Sequence, Union

from mmengine.evaluator import BaseMetric

from llava_mm.datasets.annotation_files import load_json
from llava_mm.registry import METRICS
from ..samples import get_field, plain_value
from .ptb_tokenizer import tokenize_lines
from .scorers import bleu_cider

__all__ = ['COCOCaption', 'coco_caption_scores']

GroundTruth = Dict[str, Any]


class _CaptionGroundTruth:
    """References per image id, in the order the official evaluation uses."""

    def __init__(self, data: GroundTruth, source: str):
        if not isinstance(data, dict) or not isinstance(data.get('annotations'), list):
            raise ValueError(f'{source} is not a COCO captions ground truth: expected a dict with an '
                             "'annotations' list of {image_id, caption}")
        self.source = source
        self.refs: Dict[Hashable, List[str]] = OrderedDict()
        for img in data.get('images', []):  # coco.loadRes keeps the ground truth image order
            self.refs.setdefault(img['id'], [])
        for i, ann in enumerate(data['annotations']):
            try:
                image_id, caption = ann['image_id'], ann['caption']
            except (KeyError, TypeError):
                raise ValueError(f'{source}: annotation #{i} lacks image_id or caption: {ann!r}') from None
            self.refs.setdefault(image_id, []).append(caption)
        self._by_text = {str(k): k for k in self.refs}

    def resolve(self, image_id: Any) -> Optional[Hashable]:
        """The ground-truth id matching a predicted id (``391895`` and ``'391895'`` match)."""
        image_id = plain_value(image_id)
        try:
            if image_id in self.refs:
                return image_id
        except TypeError:  # unhashable
            return None
        return self._by_text.get(str(image_id))


def _load_ground_truth(ann_file: Union[str, GroundTruth]) -> _CaptionGroundTruth:
    if isinstance(ann_file, dict):
        return _CaptionGroundTruth(ann_file, 'ground truth dict')
    return _CaptionGroundTruth(load_json(ann_file, 'COCO caption ground truth'), ann_file)


def _java_available() -> bool:
    return shutil.which('java') is not None


def coco_caption_scores(ground_truth: Union[str, GroundTruth], predictions: Sequence[Dict[str, Any]],
                        meteor: Optional[bool] = None) -> Dict[str, float]:
    """Official COCO caption scores of ``predictions`` (``[{'image_id', 'caption'}, ...]``).

    Only images with a prediction are scored (as ``COCOEvalCap`` does after
    ``loadRes``).  A second prediction for the same image is ignored (the first
    one counts), which absorbs the duplicates of distributed padding.

    Args:
        ground_truth: path of a COCO captions json (``images`` + ``annotations``
            with ``image_id`` / ``caption``) or the loaded dict.
        predictions: one dict per prediction with ``image_id`` and ``caption``.
        meteor: compute METEOR (needs Java): None = if ``java`` is on PATH.

    Returns:
        ``Bleu_1``..``Bleu_4``, ``METEOR`` (when computed), ``ROUGE_L``, ``CIDEr``.
    """
    gt = _load_ground_truth(ground_truth)
    chosen: Dict[Hashable, str] = {}
    unknown: List[Any] = []
    for pred in predictions:
        image_id = gt.resolve(pred['image_id'])
        if image_id is None:
            unknown.append(plain_value(pred['image_id']))
            continue
        caption = pred['caption']
        if not isinstance(caption, str):
            raise TypeError(f'caption of image {image_id!r} must be a str, got {type(caption).__name__}')
        chosen.setdefault(image_id, caption)
    if unknown:
        shown = ', '.join(repr(i) for i in unknown[:20]) + (', ...' if len(unknown) > 20 else '')
        raise ValueError(f'{len(unknown)} prediction(s) for image ids not in the ground truth '
                         f'{gt.source}: {shown}')
    if not chosen:
        raise ValueError('no predictions to evaluate')
    image_ids = [k for k in gt.refs if k in chosen]
    no_refs = [k for k in image_ids if not gt.refs[k]]
    if no_refs:
        raise ValueError(f'images {no_refs[:20]} of {gt.source} have no reference captions')

    ref_lines = tokenize_lines([cap for k in image_ids for cap in gt.refs[k]])
    pred_lines = tokenize_lines([chosen[k] for k in image_ids])
    gts, res, pos = OrderedDict(), OrderedDict(), 0
    for k, pred in zip(image_ids, pred_lines):
        gts[k] = ref_lines[pos:pos + len(gt.refs[k])]
        pos += len(gt.refs[k])
        res[k] = [pred]

    from pycocoevalcap.rouge.rouge import Rouge
    scores = bleu_cider(gts, res)
    out = {f'Bleu_{k}': scores[f'Bleu_{k}'] for k in range(1, 5)}
    if meteor is None:
        meteor = _java_available()
    if meteor:
        out['METEOR'] = _meteor(gts, res)
    out['ROUGE_L'] = float(Rouge().compute_score(gts, res)[0])
    out['CIDEr'] = scores['CIDEr']
    return out


def _meteor(gts: Dict, res: Dict) -> float:
    if not _java_available():
        raise RuntimeError('METEOR needs Java (java is not on PATH); use meteor=None or False')
    from pycocoevalcap.meteor.meteor import Meteor
    scorer = Meteor()
    try:
        return float(scorer.compute_score(gts, res)[0])
    finally:
        del scorer


@METRICS.register_module()
class COCOCaption(BaseMetric):
    """Official COCO caption scores: BLEU-1..4, ROUGE-L, CIDEr(-D), and METEOR with Java.

    Data samples (dicts or DataSample-like objects) must carry ``image_id`` and
    ``pred_caption``.  See :func:`coco_caption_scores` for what is computed;
    the tokenizer is a pure-Python port of the Java one pycocoevalcap uses, so
    the scores are identical with or without Java (only METEOR needs it).

    Args:
        ann_file: COCO captions-format ground truth json (e.g.
            ``coco_karpathy_val_gt.json`` with ``images`` and ``annotations``).
        meteor: compute METEOR. None (default): when ``java`` is on PATH;
            True: required (error without Java); False: never.
        collect_device, prefix, collect_dir: see mmengine ``BaseMetric``.
    """

    default_prefix: Optional[str] = 'coco-caption'

    def __init__(self,
                 ann_file: str,
                 meteor: Optional[bool] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.ann_file = ann_file
        self.meteor = meteor

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        for sample in data_samples:
            self.results.append({
                'image_id': plain_value(get_field(sample, 'image_id')),
                'caption': get_field(sample, 'pred_caption'),
            })

    def compute_metrics(self, results: List[Dict[str, Any]]) -> Dict[str, float]:
        return coco_caption_scores(self.ann_file, results, meteor=self.meteor)
