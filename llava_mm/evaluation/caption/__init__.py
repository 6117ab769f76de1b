"""The COCO caption evaluation without Java, in one place.

* :mod:`.ptb_tokenizer` - Python port of the Stanford PTBTokenizer jar pycocoevalcap runs;
* :mod:`.scorers` - BLEU-1..4 and CIDEr-D equal to pycocoevalcap's, vectorized;
* :mod:`.coco_caption` - the :class:`COCOCaption` metric and :func:`coco_caption_scores`.
"""
from .coco_caption import COCOCaption, coco_caption_scores
from .ptb_tokenizer import PTBTokenizer, tokenize_lines

__all__ = ['COCOCaption', 'coco_caption_scores', 'PTBTokenizer', 'tokenize_lines']
