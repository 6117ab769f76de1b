'''llava_mm: LLaVA (CLIP ViT-L/14 -> projector -> LLaMA/Vicuna) for OpenMMLab.

Importing the package registers every component in ``llava_mm.registry``.
'''
from . import datasets, evaluation, models  # noqa: F401  (register components)
from .apis import chat, get_model, inference_model, list_models, stream_chat
from .version import __version__

__all__ = ['__version__', 'chat', 'get_model', 'inference_model', 'list_models', 'stream_chat']
