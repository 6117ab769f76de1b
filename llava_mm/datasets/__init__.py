"""Datasets and transforms (registered in ``llava_mm.registry``)."""
from .coco_caption import COCOCaption
from llava_mm.models.conversation import (CONVERSATION_TEMPLATES, ConversationError, encode_chat_prompt, encode_conversation,
                           normalize_conversation, render_conversation)
from .jsonl import LlavaQuestionJsonl, VQAJsonl
from .llava_instruct import LlavaInstructDataset
from .scene_patches import ScenePatchDataset
from .scienceqa import ScienceQA, scienceqa_prompt
from .transforms import CenterCropSquare, PackLlavaInputs, PadToSquare, ResizeShortestEdge
from .vqav2 import VQAv2

__all__ = [
    'CONVERSATION_TEMPLATES', 'ConversationError', 'encode_chat_prompt', 'encode_conversation',
    'normalize_conversation', 'render_conversation', 'LlavaInstructDataset',
    'COCOCaption', 'LlavaQuestionJsonl', 'ScenePatchDataset', 'ScienceQA', 'VQAJsonl', 'VQAv2', 'scienceqa_prompt',
    'CenterCropSquare', 'PackLlavaInputs', 'PadToSquare', 'ResizeShortestEdge'
]
