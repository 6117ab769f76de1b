"""llava_mm: LLaVA (CLIP ViT-L/14 -> projector -> LLaMA/Vicuna) for OpenMMLab.

``import llava_mm`` is cheap: the public functions and the sub-packages are
imported on first use (PEP 562 module ``__getattr__``), and components
register themselves on the first look-up in ``llava_mm.registry`` (each
registry names the modules that fill it), so configs with
``default_scope = 'llava_mm'`` build without importing anything by hand.
"""
import importlib
from typing import TYPE_CHECKING, Any, List

from .version import __version__

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these come from __getattr__
    from .apis import chat, get_model, inference_model, list_models, stream_chat  # noqa: F401

# Public name -> module that defines it.
_LAZY = {
    'chat': 'llava_mm.apis',
    'stream_chat': 'llava_mm.apis',
    'get_model': 'llava_mm.apis',
    'inference_model': 'llava_mm.apis',
    'list_models': 'llava_mm.apis',
}
_SUBPACKAGES = ('apis', 'converters', 'datasets', 'engine', 'evaluation', 'fileio', 'models', 'registry', 'scenes',
                'testing')

__all__ = ['__version__', *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f'{__name__}.{name}')
    else:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> List[str]:
    return sorted({*globals(), *_LAZY, *_SUBPACKAGES})
