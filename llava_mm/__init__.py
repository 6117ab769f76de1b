"""llava_mm: LLaVA (CLIP ViT-L/14 -> projector -> LLaMA/Vicuna) for OpenMMLab.

Importing the package registers every component in ``llava_mm.registry``.
"""
from . import datasets, evaluation, models  # noqa: F401  (register components)
from .apis import get_model, inference_model, list_models
from .version import __version__

__all__ = ['__version__', 'get_model', 'inference_model', 'list_models']
