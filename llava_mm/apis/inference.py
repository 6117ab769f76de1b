"""``inference_model``: one call from an image (and question) to text."""
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from PIL import Image
from torch import nn

from llava_mm.models.builder import llava_test_pipeline
from llava_mm.registry import TRANSFORMS
from .model_zoo import get_model

ImageLike = Union[str, Path, Image.Image, np.ndarray]


def _load_input(image: ImageLike) -> Dict:
    """Pipeline input for one image; files are checked here so errors name them."""
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f'Image file not found: {path}')
        try:
            with Image.open(path) as im:
                im.verify()
        except Exception as err:
            raise ValueError(f'Cannot read image file {path}: {err}') from err
        return {'img_path': str(path)}
    if isinstance(image, Image.Image):
        array = np.asarray(image.convert('RGB'))[..., ::-1]  # mmcv pipelines work in BGR
    elif isinstance(image, np.ndarray):
        array = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    else:
        raise TypeError(f'image must be a path, PIL image or numpy array (BGR), got {type(image).__name__}')
    array = np.ascontiguousarray(array)
    return {'img': array, 'img_shape': array.shape[:2], 'ori_shape': array.shape[:2]}


def test_pipeline_of(model: nn.Module) -> list:
    """The image pipeline of ``model.cfg``, or LLaVA v1.5's at the tower's resolution (no config)."""
    cfg = getattr(model, 'cfg', None)
    if cfg is not None and cfg.get('test_pipeline'):
        return list(cfg.test_pipeline)
    return llava_test_pipeline(model.vision_tower.config.image_size, pad_to_square=True)


def _build_pipeline(model: nn.Module, from_file: bool) -> Compose:
    init_default_scope('llava_mm')
    steps = [TRANSFORMS.build(step) for step in test_pipeline_of(model)
             if from_file or 'LoadImage' not in step['type']]
    return Compose(steps)


def inference_model(model: Union[nn.Module, str],
                    image: Union[ImageLike, Sequence[ImageLike]],
                    question: Optional[Union[str, Sequence[str]]] = None,
                    device: Optional[str] = None,
                    batch_size: int = 8,
                    **generation_kwargs) -> Union[Dict, List[Dict]]:
    """Caption an image, or answer a question about it.

    Args:
        model: a model from ``get_model`` or anything ``get_model`` accepts
            (then built with its pretrained weights on ``device``).
        image: a path, PIL image or BGR array, or a list of them.
        question: a question (or one per image). Without it the model captions.
        **generation_kwargs: override ``generation_cfg`` (``max_new_tokens``,
            ``num_beams`` ...).

    Returns:
        ``{'pred_caption': ...}`` or ``{'question': ..., 'pred_answer': ...}``,
        or a list of them when ``image`` is a list.
    """
    if not isinstance(model, nn.Module):
        model = get_model(model, pretrained=True, device=device)
    elif device is not None:
        model = model.to(device)
    single = not isinstance(image, (list, tuple))
    images = [image] if single else list(image)
    if question is None or isinstance(question, str):
        questions = [question] * len(images)
    else:
        questions = list(question)
        if len(questions) != len(images):
            raise ValueError(f'Got {len(questions)} questions for {len(images)} images')
    if question is None and getattr(model, 'task', 'caption') == 'vqa':
        raise ValueError('This is a VQA model: pass a question, e.g. inference_model(model, image, "What is it?")')

    # One pipeline for files (it loads them) and one for in-memory images (already loaded).
    pipelines = {from_file: _build_pipeline(model, from_file) for from_file in (True, False)}
    results = []
    for start in range(0, len(images), batch_size):
        batch = []
        for img, q in zip(images[start:start + batch_size], questions[start:start + batch_size]):
            item = _load_input(img)
            if q is not None:
                item['question'] = q
            batch.append(pipelines['img_path' in item](item))
        data = model.data_preprocessor(pseudo_collate(batch), False)
        for sample in model(**data, mode='predict', **generation_kwargs):
            if sample.get('question'):
                results.append({'question': sample.question, 'pred_answer': sample.pred_answer})
            else:
                results.append({'pred_caption': sample.pred_caption})
    return results[0] if single else results
