"""What the training tests share: a tiny model to start from, drawn scene data, and configs that inherit the
shipped training bases (datasets, schedules, runtime) with only sizes and paths changed."""
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

from llava_mm.converters import iter_safetensors, read_config
from llava_mm.models.builder import llava_test_pipeline
from llava_mm.scenes import write_scenes

REPO = Path(__file__).resolve().parents[2]
BASES = REPO / 'configs/llava/_base_'
IMAGE_SIZE = 56  # 16 image tokens with patch 14


def make_scene_data(root: Path, num_images: int, seed: int) -> Path:
    write_scenes(root, num_images=num_images, seed=seed, outputs=('pretrain', 'instruct'))
    return root


def write_train_config(path: Path, start: Optional[Path], data_root: Path, ann_file: str, template: str = 'vicuna_v1',
                       stage: str = 'finetune', global_batch_size: int = 4, batch_size: int = 2,
                       max_epochs: int = 1, lr: float = 1e-3, checkpoint_interval: int = 1000,
                       model: Optional[Dict] = None, extra: str = '', model_cfg: Optional[Dict] = None,
                       tokenizer: Optional[Path] = None) -> Path:
    """A config for ``tools/train.py`` that starts from the model directory ``start`` (or, with ``start=None``,
    builds ``model_cfg`` and takes its weights from ``init_from`` in ``extra``)."""
    tokenizer = tokenizer or start
    if model_cfg is None:
        model_cfg = read_config(start).model.to_dict()
    model_cfg = {**model_cfg, 'tokenizer': {'type': 'AutoTokenizer', 'name_or_path': str(tokenizer)}}
    model_cfg.update(model or {})
    pipeline = llava_test_pipeline(IMAGE_SIZE)
    text = f"""_base_ = [{str(BASES / f'datasets/llava_{"pretrain" if stage == "pretrain" else "instruct"}.py')!r},
          {str(BASES / f'schedules/llava_{stage}.py')!r}]
model = {model_cfg!r}
test_pipeline = {pipeline!r}
load_from = {str(start) if start else None!r}
global_batch_size = {global_batch_size}
train_dataloader = dict(
    batch_size={batch_size}, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={str(data_root)!r}, ann_file={ann_file!r}, data_prefix='', template={template!r},
                 tokenizer={str(tokenizer)!r}, num_image_tokens={(IMAGE_SIZE // 14) ** 2}, pipeline=test_pipeline))
optim_wrapper = dict(optimizer=dict(lr={lr}))
max_epochs = {max_epochs}
train_cfg = dict(max_epochs={max_epochs})
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, end={max_epochs},
                        convert_to_iter_based=True)]
default_hooks = dict(checkpoint=dict(interval={checkpoint_interval}, max_keep_ckpts=-1), logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
{extra}
"""
    path.write_text(text)
    return path


def train(config: Path, work_dir: Path, *args: str, nproc: int = 1, timeout: int = 600) -> subprocess.CompletedProcess:
    """``tools/train.py`` (or ``tools/dist_train.sh`` with ``nproc`` > 1) in a subprocess; raises on failure."""
    if nproc == 1:
        cmd = [sys.executable, str(REPO / 'tools/train.py'), str(config), '--work-dir', str(work_dir), *args]
    else:
        cmd = ['bash', str(REPO / 'tools/dist_train.sh'), str(config), str(nproc), '--work-dir', str(work_dir),
               *args]
    env = {**__import__('os').environ, 'PYTHON': sys.executable, 'OMP_NUM_THREADS': '1',
           'PORT': str(29500 + (abs(hash(str(work_dir))) % 2000))}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if result.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n'
                             f'{result.stderr[-5000:]}')
    return result


def weights(model_dir: Path) -> Dict:
    return dict(iter_safetensors(model_dir))


def losses(work_dir: Path) -> list:
    """The logged training losses, in order (mmengine's scalars.json)."""
    files = sorted(work_dir.glob('*/vis_data/scalars.json'))
    values = []
    for line in files[-1].read_text().splitlines():
        record = json.loads(line)
        if 'loss' in record:
            values.append(record['loss'])
    return values


def load_script(path: Path):
    """A tools/ script as a module (its ``main(argv)`` is what the command line runs)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(Path(path).stem.replace('-', '_'), str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
