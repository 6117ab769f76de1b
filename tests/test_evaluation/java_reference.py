"""The Java side of the comparisons: pycocoevalcap's own PTBTokenizer and scorers.

Tests using these are skipped where ``java`` is not on PATH.
"""
import shutil
from collections import OrderedDict
from typing import Dict, List, Sequence

import pytest

requires_java = pytest.mark.skipif(shutil.which('java') is None,
                                   reason='needs Java for the pycocoevalcap reference')


def java_tokenize_lines(lines: Sequence[str]) -> List[str]:
    """pycocoevalcap's Java PTBTokenizer on captions, one output string per caption, in order."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    captions = OrderedDict((i, [{'caption': line}]) for i, line in enumerate(lines))
    tokenized = PTBTokenizer().tokenize(captions)
    return [tokenized[i][0] for i in range(len(lines))]


def official_caption_scores(gt_file: str, predictions: List[Dict], with_meteor: bool = True) -> Dict[str, float]:
    """COCOEvalCap as the official toolkit runs it (pycocotools loadRes, Java tokenizer), minus SPICE."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    from pycocotools.coco import COCO

    coco = COCO(gt_file)
    coco_res = coco.loadRes([dict(p) for p in predictions])
    image_ids = coco_res.getImgIds()  # COCOEvalCap.params['image_id'] = cocoRes.getImgIds()
    gts = {i: coco.imgToAnns[i] for i in image_ids}
    res = {i: coco_res.imgToAnns[i] for i in image_ids}
    tokenizer = PTBTokenizer()
    gts, res = tokenizer.tokenize(gts), tokenizer.tokenize(res)
    out = {}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    for k in range(4):
        out[f'Bleu_{k + 1}'] = bleu[k]
    if with_meteor:
        out['METEOR'] = Meteor().compute_score(gts, res)[0]
    out['ROUGE_L'] = Rouge().compute_score(gts, res)[0]
    out['CIDEr'] = Cider().compute_score(gts, res)[0]
    return out
