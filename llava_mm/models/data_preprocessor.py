"""Batches images for LLaVA and normalizes them exactly like CLIP's image processor.

Pipelines hand over uint8 CHW images (BGR, mmcv's convention). Normalization
gives the same bits as transformers' arithmetic (rescale in float64, cast to
float32, then ``(x - mean) / std`` in float32), so pixel values are identical
to ``CLIPImageProcessor`` / ``LlavaImageProcessor`` output.
"""
from typing import Any, Dict, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from torch import nn

from llava_mm.registry import MODELS

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@MODELS.register_module()
class LlavaDataPreprocessor(BaseDataPreprocessor):
    """Stack, rescale and normalize images; pass data samples through.

    Args:
        mean / std: per-channel statistics on the 0-1 scale, RGB order.
        to_rgb: flip BGR (mmcv loading) to RGB.
    """

    def __init__(self,
                 mean: Sequence[float] = OPENAI_CLIP_MEAN,
                 std: Sequence[float] = OPENAI_CLIP_STD,
                 to_rgb: bool = True,
                 rescale_factor: float = 1 / 255) -> None:
        super().__init__()
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.to_rgb = to_rgb
        self.rescale_factor = rescale_factor

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 3, H, W) -> normalized float32, RGB."""
        if self.to_rgb:
            images = images.flip(-3)
        if images.dtype == torch.uint8 and self.rescale_factor == 1 / 255:
            # float32 x / 255 equals transformers' float32(float64(x) * (1 / 255)) for
            # every uint8 value (checked for all 256 in the tests), at a fraction of the cost.
            values = images.to(torch.float32).div_(255)
        else:
            values = (images.to(torch.float64) * self.rescale_factor).to(torch.float32)
        mean = values.new_tensor(self.mean).view(-1, 1, 1)
        std = values.new_tensor(self.std).view(-1, 1, 1)
        return (values - mean) / std

    def forward(self, data: Dict[str, Any], training: bool = False) -> Dict[str, Any]:
        """``inputs`` may hold ``None`` for text-only samples: ``images`` then stacks the others, in order,
        and each data sample's ``has_image`` says which is which."""
        data = self.cast_data(data)
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, (list, tuple)):
            if samples is not None:
                for sample, img in zip(samples, inputs):
                    sample.set_field(img is not None, 'has_image', field_type='metainfo')
            present = [img for img in inputs if img is not None]
            shapes = {tuple(img.shape) for img in present}
            if len(shapes) > 1:
                raise ValueError(f'All images in a batch must have the same shape after the pipeline, got {shapes}')
            inputs = torch.stack(present) if present else None
        images: Optional[torch.Tensor] = self.normalize(inputs) if inputs is not None else None
        return {'images': images, 'data_samples': samples}


def build_data_preprocessor(cfg: Optional[Union[dict, nn.Module]]) -> nn.Module:
    """A model's data preprocessor, ``LlavaDataPreprocessor`` by default, built from llava_mm's registry (mmengine's
    ``BaseModel`` would look in its own)."""
    return MODELS.build(cfg or dict(type='LlavaDataPreprocessor')) if isinstance(cfg or {}, dict) else cfg
