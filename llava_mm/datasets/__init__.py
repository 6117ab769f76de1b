"""Datasets and transforms (registered in ``llava_mm.registry``)."""
from .coco_caption import COCOCaption
from .jsonl import LlavaQuestionJsonl, VQAJsonl
from .scienceqa import ScienceQA, scienceqa_prompt
from .transforms import CenterCropSquare, PackLlavaInputs, PadToSquare, ResizeShortestEdge
from .vqav2 import VQAv2

__all__ = [
    'COCOCaption', 'LlavaQuestionJsonl', 'ScienceQA', 'VQAJsonl', 'VQAv2', 'scienceqa_prompt',
    'CenterCropSquare', 'PackLlavaInputs', 'PadToSquare', 'ResizeShortestEdge'
]
