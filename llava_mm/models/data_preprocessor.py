"""Batches images for LLaVA and normalizes them exactly like CLIP's image processor.

Pipelines hand over uint8 CHW images (BGR, mmcv's convention). Normalization
repeats transformers' arithmetic (rescale in float64, cast to float32, then
``(x - mean) / std`` in float32) so pixel values are bit-identical to
``CLIPImageProcessor`` / ``LlavaImageProcessor`` output.
"""
from typing import Any, Dict, Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

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
        self._luts: dict = {}

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 3, H, W) -> normalized float32, RGB."""
        if self.to_rgb:
            images = images.flip(-3)
        if images.dtype == torch.uint8:
            # A uint8 pixel has 256 values: look the result up instead of
            # computing it (same arithmetic, so the same bits; twice as fast).
            lut = self._lookup_table(images.device)
            out = torch.empty(images.shape, dtype=torch.float32, device=images.device)
            for c in range(images.shape[-3]):
                out[:, c] = lut[c][images[:, c].int()]
            return out
        return self._rescale_normalize(images.to(torch.float64))

    def _rescale_normalize(self, values: torch.Tensor) -> torch.Tensor:
        """transformers' arithmetic on (..., C, H, W): rescale in float64, cast,
        normalize in float32."""
        values = (values * self.rescale_factor).to(torch.float32)
        mean = values.new_tensor(self.mean).view(-1, 1, 1)
        std = values.new_tensor(self.std).view(-1, 1, 1)
        return (values - mean) / std

    def _lookup_table(self, device: torch.device) -> torch.Tensor:
        if device not in self._luts:
            levels = torch.arange(256, dtype=torch.float64).view(1, 256, 1).expand(len(self.mean), 256, 1)
            self._luts[device] = self._rescale_normalize(levels)[..., 0].to(device)
        return self._luts[device]

    def forward(self, data: Dict[str, Any], training: bool = False) -> Dict[str, Any]:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(img.shape) for img in inputs}
            if len(shapes) > 1:
                raise ValueError(f'All images in a batch must have the same shape after the pipeline, got {shapes}')
            inputs = torch.stack(list(inputs))
        images: Optional[torch.Tensor] = self.normalize(inputs) if inputs is not None else None
        return {'images': images, 'data_samples': data.get('data_samples')}
