"""Evaluate a LLaVA checkpoint on a benchmark with mmengine's Runner.

    python tools/test.py CONFIG [CHECKPOINT] [--work-dir DIR] [--out preds.json|preds.pkl]
                         [--cfg-options k=v ...] [--launcher none|pytorch|slurm] [--verbose]

CHECKPOINT defaults to the config's ``load_from`` (the tiny scenes configs name the shipped model).

CHECKPOINT is anything ``llava_mm.get_model(..., pretrained=CHECKPOINT)``
accepts: a llava_mm model directory (config.py + safetensors + tokenizer), a
``.safetensors`` / ``.pth`` file, or a URL / hub id; it is loaded the same way
(strict key check, no random init first). When CONFIG's tokenizer is not a
local path and CHECKPOINT is a local directory with tokenizer files, the
directory's tokenizer is used.

``--out`` writes every prediction atomically. It replaces an existing regular
file (a previous ``--out`` of the same .json/.pkl kind) and nothing else: a
directory, a symbolic link or any other kind of file at that path is refused
before the run starts.

The log shows progress and metrics; ``--verbose`` adds mmengine's start-up
report (environment table, the whole config, the hook order). The config is
saved in the work dir either way. Loader workers are capped at the CPUs this
process may use (shared among the local ranks).

Distributed: ``tools/dist_test.sh CONFIG CHECKPOINT N`` (torchrun) or
``tools/slurm_test.sh``. Without CUDA the gloo backend is picked automatically,
so the same command runs on CPU machines.
"""
import argparse
import json
import os
import os.path as osp
import pickle
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

try:
    import llava_mm  # noqa: F401  (components register on first look-up, see llava_mm.registry)
except ImportError:  # running from a source tree that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import llava_mm  # noqa: F401

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric

from llava_mm.apis.model_zoo import DTYPE_CHOICES
from llava_mm.converters import has_tokenizer_files, looks_like_hub_id
from llava_mm.engine import LlavaRunner, VerboseLlavaRunner, init_cpu_distributed
from llava_mm.fileio import write_bytes_atomic
from llava_mm.cli import run

OUT_FORMATS = ('.json', '.pkl', '.pickle')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a LLaVA model (mmengine Runner)')
    parser.add_argument('config', help='config file (model + test dataset + evaluator)')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help="llava_mm model directory, .safetensors or .pth file (default: the config's load_from)")
    parser.add_argument('--work-dir', help='where logs and the dumped config go '
                        '(default: ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--out', help='write every prediction to this .json or .pkl file (an existing file '
                        'is replaced; anything else at that path is refused)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. test_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher (pytorch: torchrun / tools/dist_test.sh)')
    parser.add_argument('--dtype', default='auto', choices=DTYPE_CHOICES,
                        help="weights' dtype (auto: the checkpoint's)")
    parser.add_argument('--verbose', action='store_true',
                        help="also log mmengine's start-up report: environment, whole config, hook order")
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.out and not args.out.endswith(OUT_FORMATS):
        parser.error(f'--out must end with one of {OUT_FORMATS}, got {args.out!r}')
    return args


# ----------------------------------------------------------------- config
def is_remote(checkpoint: str) -> bool:
    """A URL, ``hf://`` path or hub id, fetched by ``llava_mm.converters``."""
    return checkpoint.startswith(('http://', 'https://', 'hf://')) or looks_like_hub_id(checkpoint)


def resolve_tokenizer(cfg: Config, checkpoint: str) -> None:
    """Point the model's tokenizer at a real place.

    A tokenizer that is not a local path (a hub id such as
    ``liuhaotian/llava-v1.5-7b``) is replaced by CHECKPOINT's when CHECKPOINT is
    a directory holding tokenizer files: that tokenizer belongs to the weights
    and needs no download. ``'.'`` (copied from a model directory's
    ``config.py``) means "the model directory": the config's own folder when
    it holds a tokenizer, else CHECKPOINT.
    """
    tokenizer = cfg.model.get('tokenizer')
    if not isinstance(tokenizer, dict):
        return
    name = tokenizer.get('name_or_path')
    candidates = [Path(checkpoint)]
    if name in (None, '', '.', './'):
        if cfg.filename:
            candidates.insert(0, Path(cfg.filename).resolve().parent)
    elif Path(name).exists():
        return
    for folder in candidates:
        if has_tokenizer_files(folder):
            tokenizer['name_or_path'] = str(folder.resolve())
            return


def build_config(args: argparse.Namespace) -> Config:
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'Config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.checkpoint is None:
        if not cfg.get('load_from'):
            raise ValueError(f'No checkpoint: pass CHECKPOINT, or use a config that sets load_from ({args.config} '
                             'does not)')
        args.checkpoint = str(cfg.load_from)
    if not (osp.exists(args.checkpoint) or is_remote(args.checkpoint)):
        raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint}')
    check_test_set(cfg, args.config)
    cap_loader_workers(cfg)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint  # loaded by LlavaRunner.build_model
    cfg.dtype = args.dtype
    cfg.resume = False
    resolve_tokenizer(cfg, args.checkpoint)
    return cfg


def check_test_set(cfg: Config, config_file: str) -> None:
    """A config without a test set (a model directory's ``config.py``, a model base) is named with what it lacks."""
    missing = [key for key in ('test_dataloader', 'test_evaluator') if not cfg.get(key)]
    if 'test_dataloader' not in missing and not cfg.test_dataloader.get('dataset'):
        missing.append('test_dataloader.dataset')
    if missing:
        raise ValueError(f'{config_file} defines no test set: {" and ".join(missing)} missing. tools/test.py needs '
                         'a benchmark config (model, test_dataloader with a dataset, test_evaluator), e.g. '
                         'configs/llava/llava-7b-v1.5_vqa.py; a model directory\'s config.py describes only the model.')
    cfg.setdefault('test_cfg', dict())  # mmengine's plain TestLoop


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask: a container's or Slurm's share, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)


def cap_loader_workers(cfg: Config) -> None:
    """At most the available CPUs (shared among this node's ranks) load data: more only oversubscribe."""
    loader = cfg.test_dataloader
    ranks_here = int(os.environ.get('LOCAL_WORLD_SIZE', '1'))
    limit = max(1, available_cpus() // ranks_here)
    requested = loader.get('num_workers', 0)
    if requested > limit:
        loader.num_workers = limit
        if os.environ.get('RANK', '0') == '0':
            print(f'test_dataloader.num_workers: {requested} -> {limit} ({available_cpus()} CPUs, '
                  f'{ranks_here} rank(s) on this node)', file=sys.stderr)


def check_out_file(out: str) -> None:
    """Refuse an ``--out`` that would replace anything but a previous predictions file, before any work.

    An existing regular file is replaced (that is what ``--out`` is for); a
    directory, a symbolic link or a device at that path belongs to the user
    and is never removed. After the merge with ``llava_mm.fileio`` this is
    ``check_output(out, force=True, kind='file')``.
    """
    path = Path(out)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        what = 'a symbolic link' if path.is_symlink() else 'a directory' if path.is_dir() else 'not a regular file'
        raise FileExistsError(f'--out {out} exists and is {what}; tools/test.py replaces only a previous '
                              'predictions file (a regular .json / .pkl file): choose another --out')
    folder = path.absolute().parent
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        raise NotADirectoryError(f'--out {out}: {existing} is a file, not a folder')
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise PermissionError(f'Cannot write --out {out}: {folder} is not writable')


# ----------------------------------------------------------------- runner
# ------------------------------------------------------------ predictions
def _plain(value: Any) -> Any:
    """JSON-friendly copy: tensors and arrays become lists, numpy scalars numbers."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class SavePredictions(BaseMetric):
    """Gathers every sample's prediction and annotations (all ranks, dataset
    order, padding removed) and writes them to ``out_file`` atomically."""

    default_prefix = 'out'

    def __init__(self, out_file: str, collect_device: str = 'cpu') -> None:
        super().__init__(collect_device=collect_device)
        self.out_file = out_file
        self.as_json = out_file.endswith('.json')

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(_plain(dict(sample)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        check_out_file(self.out_file)  # again: something may have taken the path during the run
        payload = (json.dumps(results, ensure_ascii=False, indent=1).encode('utf-8')
                   if self.as_json else pickle.dumps(results, protocol=4))
        write_bytes_atomic(self.out_file, payload)
        print(f'Predictions of {len(results)} samples written to {self.out_file}', flush=True)
        return {}


# ------------------------------------------------------------------- main
def build_runner(args: argparse.Namespace) -> LlavaRunner:
    """The Runner for ``args``, with ``--out`` hooked in as the first metric."""
    cfg = build_config(args)
    if args.out:  # fail now, not after the run, when --out cannot or must not be written
        check_out_file(args.out)
    init_cpu_distributed(cfg)
    runner = (VerboseLlavaRunner if args.verbose else LlavaRunner).from_cfg(cfg)
    metrics = runner.test_evaluator.metrics
    if args.out:
        # First, so predictions are saved even when a scorer fails afterwards.
        metrics.insert(0, SavePredictions(args.out))
    for metric in metrics:
        # Ranks hand their results over through files: keep them in this run's log
        # folder (removed after use) rather than a `.dist_test` left in the current folder.
        if metric.collect_device == 'cpu' and getattr(metric, 'collect_dir', None) is None:
            metric.collect_dir = osp.join(runner.log_dir, 'collect')
    return runner


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    runner = build_runner(parse_args(argv))
    metrics = runner.test()
    if is_main_process():
        print('Metrics: ' + json.dumps(_plain(metrics)), flush=True)
    return metrics


if __name__ == '__main__':
    run(main)
