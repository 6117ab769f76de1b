"""Projectors mapping vision features into the language model's embedding space.

LLaVA v1 uses one linear layer; v1.5 a 2-layer MLP with GELU. Submodule names
(``linear_1``, ``linear_2``) follow transformers' ``LlavaMultiModalProjector``.
"""
import torch
from torch import nn

from llava_mm.registry import MODELS


@MODELS.register_module()
class LinearProjector(nn.Module):
    """LLaVA v1 projector: ``linear_1``."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_features, out_features)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear_1(features)


@MODELS.register_module()
class MLPProjector(nn.Module):
    """LLaVA v1.5 projector (``mlp2x_gelu``): linear -> GELU -> linear."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_features, out_features)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(out_features, out_features)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(features)))
