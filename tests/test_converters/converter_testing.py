"""Helpers for the converter tests: run the scripts like a user, read a model's logits."""
import importlib.util
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def load_script(name: str):
    """A tools/model_converters script as a module, so tests call its ``main(argv)`` like the shell would."""
    path = REPO / 'tools' / 'model_converters' / name
    spec = importlib.util.spec_from_file_location(path.stem.replace('-', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prompt_logits(model, image_path) -> torch.Tensor:
    """llava_mm's prompt logits for an image file through the model's own test pipeline."""
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from llava_mm.registry import TRANSFORMS
    init_default_scope('llava_mm')
    pipeline = Compose([TRANSFORMS.build(step) for step in model.cfg.test_pipeline])
    data = model.data_preprocessor(pseudo_collate([pipeline({'img_path': str(image_path)})]), False)
    with torch.no_grad():
        return model(**data, mode='tensor')
