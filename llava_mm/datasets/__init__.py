"""Datasets and transforms (registered in ``llava_mm.registry``)."""
from .transforms import CenterCropSquare, PackLlavaInputs, PadToSquare, ResizeShortestEdge

__all__ = ['CenterCropSquare', 'PackLlavaInputs', 'PadToSquare', 'ResizeShortestEdge']
