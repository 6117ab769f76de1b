"""The tiny scenes recipe's two stages as the retrain command runs them: ``tools/train.py`` on the shipped configs
(only data paths and lengths changed), on a few drawn scenes."""
import json
from pathlib import Path

import pytest
import torch
from transformers import CLIPVisionModel

from llava_mm import get_model
from llava_mm.converters import iter_safetensors
from llava_mm.scenes import write_scenes
from training_setup import REPO, losses, train

VISION = REPO / 'configs/llava/llava-tiny-scenes_vision.py'
FINETUNE = REPO / 'configs/llava/llava-tiny-scenes_finetune.py'
SMALL = ['train_dataloader.batch_size=8', 'global_batch_size=8', 'train_dataloader.num_workers=0',
         'default_hooks.logger.interval=1',
         'train_dataloader.persistent_workers=False', 'randomness.seed=0']


def test_vision_config_heads_match_the_scene_vocabulary():
    from mmengine.config import Config
    from llava_mm.scenes.patch_labels import PATCH_CLASSES
    heads = Config.fromfile(str(VISION)).model.heads
    assert dict(heads) == {name: len(classes) for name, classes in PATCH_CLASSES.items()}


@pytest.fixture(scope='module')
def scenes(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('scenes') / 'train'
    write_scenes(root, 32, seed=3, split='train2014', outputs=('pretrain', 'instruct'))
    return root


@pytest.fixture(scope='module')
def vision_run(scenes, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp('vision')
    train(VISION, work, '--cfg-options', f'train_dataloader.dataset.data_root={scenes}', 'train_cfg.max_epochs=6',
          *SMALL)
    return work


def logged(work_dir: Path, key: str) -> list:
    records = [json.loads(line) for line in next(work_dir.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    return [r[key] for r in records if key in r]


def test_vision_stage_learns_patch_labels_and_writes_a_clip_checkpoint(vision_run):
    assert len(losses(vision_run)) == 24
    # The labels' own losses (the position head learns from the position embeddings alone).
    labels = [c + k for c, k in zip(logged(vision_run, 'loss_colour'), logged(vision_run, 'loss_kind'))]
    assert sum(labels[-3:]) / 3 < 0.6 * sum(labels[:3]) / 3, labels
    clip = CLIPVisionModel.from_pretrained(vision_run / 'vision_tower')  # transformers reads it as CLIP
    assert clip.config.image_size == 64 and clip.config.patch_size == 8
    trained = torch.load(next(vision_run.glob('iter_*.pth')), map_location='cpu', weights_only=False)['state_dict']
    saved = dict(clip.state_dict())
    tower = {k[len('vision_tower.'):]: v for k, v in trained.items() if k.startswith('vision_tower.')}
    assert set(tower) == set(saved) - {k for k in saved if k.startswith('post_layernorm.')}
    assert all(torch.equal(tower[k], saved[k]) for k in tower)


def test_finetune_stage_starts_from_the_vision_stage_tower(vision_run, scenes, tmp_path):
    # Learning rate 0: the written model holds exactly what the stage started from.
    tower_dir = vision_run / 'vision_tower'
    result = train(FINETUNE, tmp_path, '--cfg-options', f'train_dataloader.dataset.data_root={scenes}',
                   f'init_from.vision_tower={tower_dir}', 'optim_wrapper.optimizer.lr=0.0', *SMALL)
    assert f'vision_tower initialised from {tower_dir}' in result.stdout + result.stderr
    model = get_model(str(tmp_path / 'model'))
    clip = dict(iter_safetensors(tower_dir / 'model.safetensors'))
    tower = {k[len('vision_tower.'):]: v for k, v in model.state_dict().items() if k.startswith('vision_tower.')}
    assert tower and all(torch.equal(v, clip[k]) for k, v in tower.items())
    config = json.loads((tower_dir / 'config.json').read_text())
    assert model.vision_tower.config.hidden_size == config['hidden_size']
