"""User-facing API: build models and run them."""
from .inference import inference_model
from .model_zoo import get_model, list_models, load_weights

__all__ = ['get_model', 'inference_model', 'list_models', 'load_weights']
