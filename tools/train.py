"""Train (visual instruction tuning) a LLaVA model with mmengine's Runner.

    python tools/train.py CONFIG [--work-dir W] [--resume [CKPT]] [--amp [bfloat16|float16]]
                          [--cfg-options k=v ...] [--launcher none|pytorch|slurm]
    tools/dist_train.sh CONFIG GPUS [args]            # torchrun on one machine (gloo on CPUs)
    GPUS=16 tools/slurm_train.sh PARTITION JOB CONFIG [args]

The config's ``global_batch_size`` stays the same whatever the number of
processes: each process accumulates ``global_batch_size / (batch_size x
processes)`` micro-batches per optimizer step. ``load_from`` is the model to
start from (anything ``get_model(..., pretrained=)`` reads); stage 2 starts
from stage 1's ``WORK_DIR/model``. At the end ``WORK_DIR/model/`` is a
llava_mm model directory (``WORK_DIR/adapter/`` for LoRA runs, see
``tools/merge_lora.py``).
"""
import argparse
import os
import os.path as osp
import sys
from pathlib import Path
from typing import Optional, Sequence

try:
    import llava_mm  # noqa: F401  (registers every component)
except ImportError:  # running from a source tree that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import llava_mm  # noqa: F401

from mmengine.config import Config, DictAction
from mmengine.runner import find_latest_checkpoint

from llava_mm.engine import LlavaRunner, VerboseLlavaRunner, init_cpu_distributed
from llava_mm.cli import run


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a LLaVA model (mmengine Runner)')
    parser.add_argument('config', help='training config file')
    parser.add_argument('--work-dir', help='where checkpoints, logs and the final model go '
                        '(default: ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or (without a value) from the latest checkpoint in the work dir')
    parser.add_argument('--amp', nargs='?', const='bfloat16', choices=['bfloat16', 'float16'],
                        help='automatic mixed precision: bfloat16 (the default; any device, CPUs included) or '
                        'float16 (GPUs, with loss scaling)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_dataloader.batch_size=4')
    parser.add_argument('--verbose', action='store_true',
                        help="also log mmengine's environment table, the whole config and the hook order")
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher (pytorch: torchrun / tools/dist_train.sh)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def world_size() -> int:
    return int(os.environ.get('WORLD_SIZE', os.environ.get('SLURM_NTASKS', '1')))


def set_global_batch(cfg: Config, processes: int) -> None:
    """Gradient accumulation so that ``global_batch_size`` samples make one optimizer step."""
    batch = cfg.train_dataloader.batch_size
    total = cfg.get('global_batch_size') or batch * processes
    if total % (batch * processes):
        raise ValueError(f'global_batch_size={total} is not a multiple of batch_size ({batch}) x '
                         f'processes ({processes}); change train_dataloader.batch_size or the number of processes')
    cfg.optim_wrapper.accumulative_counts = total // (batch * processes)
    sampler = cfg.train_dataloader.get('sampler') or {}
    if sampler.get('type') == 'LengthGroupedSampler':
        sampler.update(batch_size=batch, global_batch_size=total)


def build_config(args: argparse.Namespace) -> Config:
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'Config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    for key in ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper'):
        if key not in cfg:
            raise KeyError(f'{args.config} is not a training config: it has no `{key}`')
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.resume == 'auto':
        # The latest checkpoint of the work dir; none yet (a first run, a requeued job that never saved): start
        # from `load_from` as a plain run would, never from random weights.
        latest = find_latest_checkpoint(cfg.work_dir) if osp.isdir(cfg.work_dir) else None
        if latest:
            cfg.resume, cfg.load_from = True, latest
        else:
            print(f'--resume: no checkpoint in {cfg.work_dir} yet; starting from load_from={cfg.get("load_from")!r}',
                  file=sys.stderr)
    elif args.resume:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {args.resume}')
        cfg.resume, cfg.load_from = True, args.resume
    if args.amp:  # bfloat16 needs no loss scaling and autocasts on CPUs too; float16 needs mmengine's GradScaler
        cfg.optim_wrapper.type = 'AutocastOptimWrapper' if args.amp == 'bfloat16' else 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = args.amp
    set_global_batch(cfg, world_size())
    return cfg


def main(argv: Optional[Sequence[str]] = None) -> LlavaRunner:
    args = parse_args(argv)
    cfg = build_config(args)
    init_cpu_distributed(cfg)
    runner = (VerboseLlavaRunner if args.verbose else LlavaRunner).from_cfg(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    run(main)
