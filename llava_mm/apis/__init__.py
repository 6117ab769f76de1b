"""User-facing API: build models and run them."""
from .chat import chat, stream_chat
from .inference import inference_model
from .model_zoo import get_model, list_models, load_weights

__all__ = ['chat', 'get_model', 'inference_model', 'list_models', 'load_weights', 'stream_chat']
