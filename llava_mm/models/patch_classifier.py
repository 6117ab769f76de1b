"""A CLIP-style vision tower trained to say what each patch shows: the vision pretraining stage of a recipe
that has no pretrained CLIP to start from.

LLaVA starts from OpenAI's CLIP. A model trained from scratch offline (the tiny
scenes model) has none, so its stage 0 teaches the tower directly: one linear
head per label family (colour, kind, ...) reads the tower's LLaVA features (the
feature layer's patch tokens, exactly what the projector will read) and is
trained with a cross-entropy per patch. Per-patch targets make the tokens carry
*where* things are, which whole-image labels do not. The heads are then
dropped: ``save_clip_dir`` writes the tower as a transformers CLIP vision
checkpoint, which a LLaVA config's ``init_from.vision_tower`` reads like
``openai/clip-vit-large-patch14-336``.
"""
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn
from transformers import CLIPImageProcessorPil, CLIPVisionModel

from llava_mm.registry import MODELS
from .data_preprocessor import build_data_preprocessor
from .prompt import IGNORE_INDEX  # patches left out of the loss, like unsupervised tokens


@MODELS.register_module()
class PatchClassifier(BaseModel):
    """Vision tower + one linear head per label family over its patch tokens.

    Args:
        vision_tower: a ``CLIPVisionTower`` config (``feature_select='patch'``).
        heads: label family -> number of classes; each data sample carries ``patch_labels[family]``, a
            ``LongTensor`` of one class per patch (``IGNORE_INDEX`` leaves a patch out).
        position_head: also learn, from each patch token, which patch it is (a head ``position`` over the
            patch indices, needing no labels): the tokens keep *where* they are, which a language model reading
            them in sequence cannot otherwise tell ("the cat on the left").
        data_preprocessor: defaults to ``LlavaDataPreprocessor`` (CLIP normalization).
    """

    def __init__(self, vision_tower: dict, heads: Dict[str, int], position_head: bool = False,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=build_data_preprocessor(data_preprocessor), init_cfg=init_cfg)
        if not heads:
            raise ValueError('PatchClassifier needs at least one head (label family -> number of classes)')
        self.vision_tower = MODELS.build(vision_tower)
        if self.vision_tower.feature_select != 'patch':
            raise ValueError("PatchClassifier labels patches: its vision tower needs feature_select='patch'")
        if position_head and 'position' in heads:
            raise ValueError("heads has a 'position' family and position_head=True adds one: pick one")
        width = self.vision_tower.hidden_size
        self.heads = nn.ModuleDict({name: nn.Linear(width, classes) for name, classes in heads.items()})
        self.position_head = position_head
        if position_head:
            self.heads['position'] = nn.Linear(width, self.vision_tower.num_patches)

    def init_weights(self) -> None:
        """Modules are initialised by transformers / PyTorch at construction (mmengine's pass would redo it)."""

    def forward(self, images: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        features = self.vision_tower(images)
        logits = {name: head(features) for name, head in self.heads.items()}
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            return self.loss(logits, data_samples)
        if mode == 'predict':
            for i, sample in enumerate(data_samples):
                sample.set_field({name: x[i].argmax(-1) for name, x in logits.items()}, 'pred_patch_labels')
            return data_samples
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")

    def loss(self, logits: Dict[str, torch.Tensor], data_samples: Sequence) -> Dict[str, torch.Tensor]:
        losses = {}
        for name, x in logits.items():
            if name == 'position' and self.position_head:
                target = torch.arange(x.shape[1], device=x.device).expand(x.shape[:2])
            else:
                target = self._labels(data_samples, name).to(x.device)
            if target.shape != x.shape[:2]:
                raise ValueError(f'patch_labels[{name!r}] has shape {tuple(target.shape)}; the tower gives '
                                 f'{tuple(x.shape[:2])} (batch, patches)')
            losses[f'loss_{name}'] = F.cross_entropy(x.flatten(0, 1).float(), target.flatten(),
                                                     ignore_index=IGNORE_INDEX)
            with torch.no_grad():
                labelled = target != IGNORE_INDEX
                losses[f'acc_{name}'] = (x.argmax(-1) == target)[labelled].float().mean()
        return losses

    @staticmethod
    def _labels(data_samples: Sequence, name: str) -> torch.Tensor:
        try:
            return torch.stack([torch.as_tensor(s.patch_labels[name]) for s in data_samples])
        except (AttributeError, KeyError):
            raise KeyError(f'every data sample needs patch_labels[{name!r}] (one class per patch)') from None

    def parse_losses(self, losses: Dict[str, torch.Tensor]):
        """Accuracies are logged, not optimised."""
        loss = sum(v for k, v in losses.items() if k.startswith('loss_'))
        log_vars = {'loss': loss.detach(), **{k: v.detach() for k, v in losses.items()}}
        return loss, log_vars

    def save_clip_dir(self, out: Union[str, Path]) -> Path:
        """Write the tower as a transformers CLIP vision checkpoint (config.json, model.safetensors and the
        image processor's preprocessor_config.json). Only what LLaVA reads is trained: the layers up to the
        feature layer. The layers after it and ``post_layernorm`` keep their initial values, so CLIP's own
        ``last_hidden_state`` / ``pooler_output`` of this checkpoint mean nothing."""
        clip = CLIPVisionModel(self.vision_tower.config)
        missing, unexpected = clip.load_state_dict(
            {k: v.detach().float() for k, v in self.vision_tower.state_dict().items()}, strict=False)
        if unexpected or any(not k.startswith('post_layernorm.') for k in missing):
            raise RuntimeError(f'vision tower does not map onto CLIP: missing {missing}, unexpected {unexpected}')
        clip.save_pretrained(str(out), safe_serialization=True)
        size = self.vision_tower.config.image_size
        CLIPImageProcessorPil(size={'shortest_edge': size}, crop_size={'height': size, 'width': size}).save_pretrained(
            str(out))
        return Path(out)
