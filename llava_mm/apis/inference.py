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
from llava_mm.datasets.transforms import pil_to_bgr
from llava_mm.registry import TRANSFORMS
from .model_zoo import check_device, get_model, resolve_dtype

ImageLike = Union[str, Path, Image.Image, np.ndarray]


def _load_input(image: ImageLike) -> Dict:
    """Pipeline input for one image, read as LLaVA reads it; errors name the file or the expected format."""
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f'Image file not found: {path}')
        try:  # the header now, so a bad file is named before any batch runs
            with Image.open(path) as im:
                im.verify()
        except Exception as err:
            raise ValueError(f'Cannot read image file {path}: {err}') from err
        return {'img_path': str(path)}
    if isinstance(image, Image.Image):
        array = pil_to_bgr(image)
    elif isinstance(image, np.ndarray):
        array = _check_array(image)
    else:
        raise TypeError(f'image must be a path, PIL image or numpy array (BGR), got {type(image).__name__}')
    return {'img': array, 'img_shape': array.shape[:2], 'ori_shape': array.shape[:2]}


def _check_array(image: np.ndarray) -> np.ndarray:
    """A uint8 HxW / HxWx3 (BGR) / HxWx4 (BGRA, alpha dropped like PIL's convert('RGB')) array."""
    expected = 'expected a uint8 array of shape HxWx3 (BGR, as cv2.imread gives), HxWx4 (BGRA) or HxW (grey)'
    if image.dtype != np.uint8:
        raise ValueError(f'{expected}; got dtype {image.dtype}. Convert floats in [0, 1] with '
                         '(x * 255).round().astype(np.uint8)')
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    elif image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'{expected}; got shape {tuple(image.shape)}')
    return np.ascontiguousarray(image)


def test_pipeline_of(model: nn.Module) -> list:
    """The image pipeline of ``model.cfg``, or LLaVA v1.5's at the tower's resolution (no config)."""
    cfg = getattr(model, 'cfg', None)
    if cfg is not None and cfg.get('test_pipeline'):
        return list(cfg.test_pipeline)
    return llava_test_pipeline(model.vision_tower.config.image_size, pad_to_square=True)


def _build_pipeline(model: nn.Module, from_file: bool) -> Compose:
    init_default_scope('llava_mm')
    steps = [TRANSFORMS.build(step) for step in test_pipeline_of(model)
             if from_file or not step['type'].startswith('Load')]
    return Compose(steps)


def inference_model(model: Union[nn.Module, str],
                    image: Union[ImageLike, Sequence[ImageLike]],
                    question: Optional[Union[str, Sequence[str]]] = None,
                    device: Optional[str] = None,
                    batch_size: int = 8,
                    dtype: Optional[str] = None,
                    **generation_kwargs) -> Union[Dict, List[Dict]]:
    """Caption an image, or answer a question about it.

    Args:
        model: a model from ``get_model`` or anything ``get_model`` accepts
            (then built with its pretrained weights on ``device``).
        image: a path, PIL image or BGR array, or a list of them.
        question: a question (or one per image). Without it the model captions.
        device, dtype: for a model given by name, where and in which dtype to build it
            (see ``get_model``); a built model is moved / cast to them when given.
        **generation_kwargs: override ``generation_cfg`` (``max_new_tokens``,
            ``num_beams`` ...).

    Returns:
        ``{'pred_caption': ...}`` or ``{'question': ..., 'pred_answer': ...}``,
        or a list of them when ``image`` is a list.
    """
    if not isinstance(model, nn.Module):
        model = get_model(model, pretrained=True, device=device, dtype=dtype or 'auto')
    elif device is not None or dtype not in (None, 'auto'):
        model = model.to(device=check_device(device), dtype=resolve_dtype(dtype) if dtype not in (None, 'auto')
                         else None)
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
