"""Process groups on machines without CUDA: gloo instead of NCCL, so the same launch commands run on CPUs."""
import datetime
import os
import subprocess
import sys
from typing import Optional

import torch
from mmengine.config import Config


def init_cpu_distributed(cfg: Config) -> None:
    """Start the process group with gloo when the job is distributed and there is no CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which CPU-only
    builds of torch lack; the Runner skips its own set-up when a group exists.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available() or torch.distributed.is_initialized():
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
