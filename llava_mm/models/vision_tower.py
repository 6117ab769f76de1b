"""CLIP ViT vision tower that returns LLaVA's image features.

LLaVA reads the *penultimate* encoder layer (``hidden_states[-2]``) and drops
the CLS token. The tower is transformers' CLIP vision model without its
``post_layernorm`` (LLaVA never uses it), so parameter counts match the
published 7B models. Layers after the selected one are not run.
"""
from typing import Literal

import torch
from torch import nn
from transformers import CLIPVisionConfig, CLIPVisionModel

from llava_mm.registry import MODELS


@MODELS.register_module()
class CLIPVisionTower(nn.Module):
    """CLIP vision encoder returning LLaVA's features.

    Args:
        vision_config: keyword arguments of ``transformers.CLIPVisionConfig``.
        feature_layer: index into the encoder's hidden states (0 = embeddings,
            -1 = last layer). LLaVA uses -2.
        feature_select: ``'patch'`` drops the CLS token (LLaVA's ``default``),
            ``'cls_patch'`` keeps it (LLaVA's ``full``).

    Whether it trains is the model's choice (``Llava(freeze=...)``): with no
    parameter requiring grad it runs without building a graph.
    """

    def __init__(self,
                 vision_config: dict,
                 feature_layer: int = -2,
                 feature_select: Literal['patch', 'cls_patch'] = 'patch') -> None:
        super().__init__()
        if feature_select not in ('patch', 'cls_patch'):
            raise ValueError(f"feature_select must be 'patch' or 'cls_patch', got {feature_select!r}")
        self.config = CLIPVisionConfig(**vision_config)
        num_states = self.config.num_hidden_layers + 1
        if not -num_states <= feature_layer < num_states:
            raise ValueError(f'feature_layer={feature_layer} is out of range for a tower with '
                             f'{self.config.num_hidden_layers} layers')
        clip = CLIPVisionModel(self.config)
        self.embeddings = clip.embeddings
        self.pre_layrnorm = clip.pre_layrnorm
        self.encoder = clip.encoder
        self.feature_layer = feature_layer
        self.feature_select = feature_select
        self._num_layers_to_run = feature_layer % num_states
        # Layers after the feature layer never run (LLaVA keeps them in its checkpoints): they never train, and
        # DDP must not wait for their gradients.
        self.encoder.layers[self._num_layers_to_run:].requires_grad_(False)

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    @property
    def num_patches(self) -> int:
        return (self.config.image_size // self.config.patch_size) ** 2

    @property
    def num_image_tokens(self) -> int:
        return self.num_patches + (self.feature_select == 'cls_patch')

    @property
    def frozen(self) -> bool:
        return not any(p.requires_grad for p in self.parameters())

    @property
    def unused_layers(self) -> nn.ModuleList:
        """The encoder layers after the feature layer (never run)."""
        return self.encoder.layers[self._num_layers_to_run:]

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) normalized pixels -> (B, num_image_tokens, hidden_size)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            dtype = self.embeddings.patch_embedding.weight.dtype
            hidden = self.pre_layrnorm(self.embeddings(pixel_values.to(dtype)))
            for layer in self.encoder.layers[:self._num_layers_to_run]:
                hidden = layer(hidden, None)
        return hidden[:, 1:] if self.feature_select == 'patch' else hidden
