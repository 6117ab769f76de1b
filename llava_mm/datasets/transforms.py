"""LLaVA image loading, preprocessing and packing, as mmcv transforms.

``LoadLlavaImage`` reads a file the way LLaVA and transformers do
(``Image.open(path).convert('RGB')``): no EXIF rotation and PIL's own mode
conversion (LA / P / CMYK / RGBA), so a path, the same PIL image and
transformers' processor give the same pixels. mmcv's ``LoadImageFromFile``
differs on both counts (it applies EXIF orientation and composites LA onto grey).

The three geometry transforms reproduce what transformers' CLIP / LLaVA image
processors do (and what original LLaVA did), so pixels equal theirs:

* v1:   ``ResizeShortestEdge(224)`` (bicubic) -> ``CenterCropSquare(224)``
* v1.5: ``PadToSquare`` with the CLIP-mean colour -> ``ResizeShortestEdge(336)``
  -> ``CenterCropSquare(336)`` (a no-op crop after padding, kept for parity).

Images are HWC uint8 arrays in mmcv's BGR order; colours are given in RGB.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.structures import DataSample
from PIL import Image

from llava_mm.registry import TRANSFORMS

#: Original LLaVA's pad colour: ``tuple(int(x * 255) for x in CLIP image_mean)``.
CLIP_MEAN_RGB = (122, 116, 104)


def pil_to_bgr(image: Image.Image) -> np.ndarray:
    """HWC uint8 BGR (mmcv's convention) of a PIL image, converted as LLaVA does: ``.convert('RGB')``."""
    return np.ascontiguousarray(np.asarray(image.convert('RGB'))[..., ::-1])


def read_image_file(path: str) -> np.ndarray:
    """``Image.open(path).convert('RGB')`` as a BGR array; errors name the file."""
    try:
        with Image.open(path) as image:
            return pil_to_bgr(image)
    except FileNotFoundError:
        raise FileNotFoundError(f'Image file not found: {path}') from None
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise ValueError(f'Cannot read image file {path}: {err}') from err


@TRANSFORMS.register_module()
class LoadLlavaImage(BaseTransform):
    """Load ``img_path`` like LLaVA: ``Image.open(path).convert('RGB')``, no EXIF orientation."""

    def transform(self, results: Dict) -> Dict:
        img = read_image_file(results['img_path'])
        results['img'] = img
        results['img_shape'] = results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class PadToSquare(BaseTransform):
    """Pad the shorter side (centred) so the image is square, like LLaVA's ``expand2square``."""

    def __init__(self, background: Tuple[int, int, int] = CLIP_MEAN_RGB, channel_order: str = 'bgr') -> None:
        self.background = tuple(background)[::-1] if channel_order == 'bgr' else tuple(background)

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        height, width = img.shape[:2]
        if height != width:
            side = max(height, width)
            square = np.empty((side, side, img.shape[2]), dtype=img.dtype)
            square[...] = np.asarray(self.background, dtype=img.dtype)
            top, left = (side - height) // 2, (side - width) // 2
            square[top:top + height, left:left + width] = img
            results['img'] = square
        results['img_shape'] = results['img'].shape[:2]
        return results


@TRANSFORMS.register_module()
class ResizeShortestEdge(BaseTransform):
    """Resize so the shorter edge is ``size``; the long edge is ``int(size * long / short)``."""

    _RESAMPLE = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR, 'nearest': Image.NEAREST}

    def __init__(self, size: int, interpolation: str = 'bicubic') -> None:
        if interpolation not in self._RESAMPLE:
            raise ValueError(f'interpolation must be one of {sorted(self._RESAMPLE)}, got {interpolation!r}')
        self.size = size
        self.resample = self._RESAMPLE[interpolation]

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        height, width = img.shape[:2]
        short, long = (width, height) if width <= height else (height, width)
        new_long = int(self.size * long / short)
        new_h, new_w = (new_long, self.size) if width <= height else (self.size, new_long)
        if (new_h, new_w) != (height, width):
            img = np.asarray(Image.fromarray(img).resize((new_w, new_h), resample=self.resample))
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class CenterCropSquare(BaseTransform):
    """Centre crop to ``size x size`` (top-left at floor of the margin), zero-padding small images."""

    def __init__(self, size: int) -> None:
        self.size = size

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        height, width = img.shape[:2]
        if height < self.size or width < self.size:
            new_h, new_w = max(height, self.size), max(width, self.size)
            canvas = np.zeros((new_h, new_w) + img.shape[2:], dtype=img.dtype)
            top, left = -(-(new_h - height) // 2), -(-(new_w - width) // 2)
            canvas[top:top + height, left:left + width] = img
            img, height, width = canvas, new_h, new_w
        top, left = (height - self.size) // 2, (width - self.size) // 2
        results['img'] = np.ascontiguousarray(img[top:top + self.size, left:left + self.size])
        results['img_shape'] = results['img'].shape[:2]
        return results


@TRANSFORMS.register_module()
class PackLlavaInputs(BaseTransform):
    """Image -> CHW uint8 tensor ``inputs``; annotation keys -> a ``DataSample``.

    ``data_keys`` that are present (question, answers, ids, ...) are copied to
    the data sample so models and metrics can read them.
    """

    DEFAULT_KEYS = ('question', 'gt_answer', 'answer', 'answer_type', 'question_type', 'question_id', 'image_id',
                    'choices', 'gt_caption', 'img_path', 'ori_shape', 'img_shape', 'sample_idx', 'category', 'subject')

    def __init__(self, data_keys: Optional[Sequence[str]] = None) -> None:
        self.data_keys = tuple(data_keys) if data_keys is not None else self.DEFAULT_KEYS

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        data_sample = DataSample()
        for key in self.data_keys:
            if key in results:
                data_sample.set_field(results[key], key)
        return {'inputs': inputs, 'data_samples': data_sample}
