"""Evaluate a LLaVA checkpoint on a benchmark with mmengine's Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out preds.json|preds.pkl]
                         [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

CHECKPOINT is anything ``llava_mm.get_model(..., pretrained=CHECKPOINT)``
accepts: a llava_mm model directory (config.py + safetensors + tokenizer), a
``.safetensors`` / ``.pth`` file, or a URL / hub id; it is loaded the same way
(strict key check, no random init first). When CONFIG's tokenizer is not a
local path and CHECKPOINT is a local directory with tokenizer files, the
directory's tokenizer is used.

Distributed: ``tools/dist_test.sh CONFIG CHECKPOINT N`` (torchrun) or
``tools/slurm_test.sh``. Without CUDA the gloo backend is picked automatically,
so the same command runs on CPU machines.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

try:
    import llava_mm  # noqa: F401  (registers every component)
except ImportError:  # running from a source tree that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import llava_mm  # noqa: F401

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.device import get_device
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.runner import Runner
from torch import nn

from llava_mm.apis import get_model
from llava_mm.converters import has_tokenizer_files, looks_like_hub_id
from llava_mm.fileio import write_bytes_atomic

OUT_FORMATS = ('.json', '.pkl', '.pickle')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a LLaVA model (mmengine Runner)')
    parser.add_argument('config', help='config file (model + test dataset + evaluator)')
    parser.add_argument('checkpoint', help='llava_mm model directory, .safetensors or .pth file')
    parser.add_argument('--work-dir', help='where logs and the dumped config go '
                        '(default: ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--out', help='write every prediction to this .json or .pkl file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. test_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher (pytorch: torchrun / tools/dist_test.sh)')
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
    if not (osp.exists(args.checkpoint) or is_remote(args.checkpoint)):
        raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint  # loaded by LlavaTestRunner.build_model
    cfg.resume = False
    resolve_tokenizer(cfg, args.checkpoint)
    return cfg


# ------------------------------------------------------------ distributed
def init_cpu_distributed(cfg: Config) -> None:
    """Start the process group with gloo when there is no CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which CPU-only
    builds of torch lack; the Runner skips its own set-up when a group exists.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available() or torch.distributed.is_initialized():
        return
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    if cfg.launcher == 'slurm':
        _export_slurm_env(dist_cfg.pop('port', None))
    requested = dist_cfg.get('backend', 'nccl')
    if requested != 'gloo' and os.environ.get('RANK', '0') == '0':
        print(f'No CUDA: using the gloo backend instead of {requested!r}', file=sys.stderr)
    dist_cfg['backend'] = 'gloo'
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    timeout = dist_cfg.pop('timeout', None)
    if timeout is not None:
        dist_cfg['timeout'] = datetime.timedelta(seconds=timeout)
    torch.distributed.init_process_group(**dist_cfg)


def _export_slurm_env(port: Optional[int]) -> None:
    """torch's env:// variables from slurm's, as mmengine does for GPUs."""
    os.environ.setdefault('MASTER_PORT', str(port or 29500))
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(f'scontrol show hostname {node_list} | head -n1')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


# ----------------------------------------------------------------- runner
class _FormattedOnceConfig(Config):
    """A Config that formats its ``pretty_text`` once: yapf takes seconds on a
    LLaVA config, and mmengine formats it for the dumped config and again for
    the message hub at the start of every ``runner.test()``."""

    @property
    def pretty_text(self) -> str:
        text = self.__dict__.get('_formatted_text')
        if text is None:
            text = Config.pretty_text.fget(self)
            object.__setattr__(self, '_formatted_text', text)  # Config.__setattr__ would store a config key
        return text


class LlavaTestRunner(Runner):
    """mmengine's Runner with llava_mm's weight loading and no DDP wrapper.

    * The test data is read (and every image checked) before the model is
      loaded, so a bad path fails in seconds, not after a 7B load.
    * ``load_from`` is loaded as ``llava_mm.get_model`` does: the model is built
      on the meta device and the checkpoint's tensors are assigned (a 7B model
      is never randomly initialised first), with a strict key check.
    * Inference synchronises no gradients, so every rank keeps a plain module:
      DDP would broadcast all weights at start and refuses CPU modules.
    """

    def build_model(self, model) -> nn.Module:
        if isinstance(self._test_dataloader, dict):
            self._test_dataloader = self.build_dataloader(
                self._test_dataloader, seed=self.seed, diff_rank_seed=self._randomness_cfg.get('diff_rank_seed', False))
        if isinstance(model, nn.Module) or not self._load_from:
            return super().build_model(model)
        checkpoint, self._load_from = self._load_from, None  # nothing left for load_or_resume
        cfg = self.cfg.copy()
        cfg.model = model
        net = get_model(cfg, pretrained=checkpoint)
        self.logger.info(f'Loaded weights from {checkpoint}')
        return net

    def dump_config(self) -> None:
        # dump_config is the last step of __init__: the config is final from here on.
        object.__setattr__(self.cfg, '__class__', _FormattedOnceConfig)  # Config.__setattr__ sets keys
        super().dump_config()

    def wrap_model(self, model_wrapper_cfg: Optional[Dict], model: nn.Module) -> nn.Module:
        if model_wrapper_cfg is not None:
            return super().wrap_model(model_wrapper_cfg, model)
        return model.to(get_device())


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
        payload = (json.dumps(results, ensure_ascii=False, indent=1).encode('utf-8')
                   if self.as_json else pickle.dumps(results, protocol=4))
        write_bytes_atomic(self.out_file, payload)
        print(f'Predictions of {len(results)} samples written to {self.out_file}', flush=True)
        return {}


# ------------------------------------------------------------------- main
def build_runner(args: argparse.Namespace) -> Runner:
    """The Runner for ``args``, with ``--out`` hooked in as the first metric."""
    cfg = build_config(args)
    if args.out:  # fail now, not after the run, when --out cannot be written
        out_dir = osp.dirname(osp.abspath(args.out))
        os.makedirs(out_dir, exist_ok=True)
        if not os.access(out_dir, os.W_OK):
            raise PermissionError(f'Cannot write --out {args.out}')
    init_cpu_distributed(cfg)
    runner = LlavaTestRunner.from_cfg(cfg)
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
    main()
