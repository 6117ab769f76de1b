"""PatchClassifier: the vision pretraining model of a recipe with no CLIP to start from."""
import pytest
import torch
from mmpretrain.structures import DataSample

from llava_mm.models import PatchClassifier

TOWER = dict(type='CLIPVisionTower', vision_config=dict(
    hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2, image_size=32, patch_size=8))


def samples(n, labels):
    return [DataSample(patch_labels={'kind': torch.tensor(labels[i])}) for i in range(n)]


def test_loss_is_cross_entropy_per_patch_and_ignores_unlabelled_patches():
    torch.manual_seed(0)
    model = PatchClassifier(TOWER, heads=dict(kind=3), position_head=True)
    images = torch.randn(2, 3, 32, 32)
    labels = [[0, 1, 2, -100] * 4, [2] * 16]
    losses = model(images, samples(2, labels), mode='loss')
    logits = model(images, mode='tensor')
    target = torch.tensor(labels)
    expected = torch.nn.functional.cross_entropy(logits['kind'].flatten(0, 1), target.flatten(), ignore_index=-100)
    assert torch.allclose(losses['loss_kind'], expected)
    # The position head learns each patch's own index; it needs no labels.
    position = torch.nn.functional.cross_entropy(logits['position'].flatten(0, 1), torch.arange(16).repeat(2))
    assert torch.allclose(losses['loss_position'], position)
    loss, log_vars = model.parse_losses(losses)
    assert torch.allclose(loss, losses['loss_kind'] + losses['loss_position']) and 'acc_kind' in log_vars


def test_missing_or_misshaped_labels_are_named():
    model = PatchClassifier(TOWER, heads=dict(kind=3))
    with pytest.raises(KeyError, match=r"patch_labels\['kind'\]"):
        model(torch.randn(1, 3, 32, 32), [DataSample(patch_labels={'colour': torch.zeros(16)})], mode='loss')
    with pytest.raises(ValueError, match=r"patch_labels\['kind'\] has shape \(1, 9\)"):
        model(torch.randn(1, 3, 32, 32), samples(1, [[0] * 9]), mode='loss')
    with pytest.raises(ValueError, match='position_head=True adds one'):
        PatchClassifier(TOWER, heads=dict(position=16), position_head=True)


def test_clip_directory_holds_the_tower(tmp_path):
    from transformers import CLIPVisionModel
    model = PatchClassifier(TOWER, heads=dict(kind=3))
    clip = CLIPVisionModel.from_pretrained(model.save_clip_dir(tmp_path / 'clip'))
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ours = model.vision_tower(images)
        theirs = clip(pixel_values=images, output_hidden_states=True).hidden_states[-2][:, 1:]
    assert torch.allclose(ours, theirs, atol=1e-6)
