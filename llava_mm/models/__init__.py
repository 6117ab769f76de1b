"""LLaVA model components (registered in ``llava_mm.registry``)."""
from .data_preprocessor import LlavaDataPreprocessor
from .language_model import build_llama, build_tokenizer
from .llava import Llava
from .patch_classifier import PatchClassifier
from .projectors import LinearProjector, MLPProjector
from .prompt import IMAGE_TOKEN, IMAGE_TOKEN_INDEX, PROMPT_TEMPLATES, tokenize_with_image
from .vision_tower import CLIPVisionTower

__all__ = ['CLIPVisionTower', 'IMAGE_TOKEN', 'IMAGE_TOKEN_INDEX', 'LinearProjector', 'Llava', 'LlavaDataPreprocessor',
           'MLPProjector', 'PROMPT_TEMPLATES', 'PatchClassifier', 'build_llama', 'build_tokenizer',
           'tokenize_with_image']
