"""mmengine's Runner with llava_mm's model loading, for ``tools/train.py`` and ``tools/test.py``.

* ``load_from`` is anything ``get_model(..., pretrained=)`` reads (a llava_mm
  model directory, ``.safetensors`` / ``.pth``, original LLaVA, llava-hf),
  loaded with a strict key check onto a model built on the meta device: a 7B
  model is never randomly initialised first. ``--resume`` checkpoints are
  mmengine's own and are loaded by mmengine.
* Training: weights are float32 (AMP casts compute), then LoRA and gradient
  checkpointing are applied (``Llava.prepare_for_training``), so a LoRA run
  starts from the loaded base weights.
* Other models (a vision pretraining stage's ``PatchClassifier``) are built and
  loaded mmengine's way: ``load_from`` is an mmengine checkpoint there.
* Without CUDA the model is wrapped in DDP for CPUs (``device_ids=None``,
  gloo), so the same commands run on CPU machines.
"""
from typing import Dict, Optional

import torch
from mmengine.device import get_device
from mmengine.model import MMDistributedDataParallel
from mmengine.runner import Runner
from torch import nn

from llava_mm.apis import get_model
from llava_mm.converters import load_part
from llava_mm.models import Llava
from llava_mm.registry import MODELS


def _training_state_globals() -> list:
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    return [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar, getattr,
            *[v for k, v in vars(np.dtypes).items() if k.endswith('DType') and isinstance(v, type)]]


def _is_llava(model_cfg: Dict) -> bool:
    model_type = model_cfg.get('type')
    cls = MODELS.get(model_type) if isinstance(model_type, str) else model_type
    return isinstance(cls, type) and issubclass(cls, Llava)


class LlavaRunner(Runner):
    """See the module docstring. mmengine's start-up report (environment table, whole config, hook order: ~200
    lines before the first result) is logged only by ``VerboseLlavaRunner`` (``--verbose``); the config is always
    saved in the work dir."""

    verbose = False

    def _log_env(self, env_cfg: dict) -> None:
        if self.verbose:
            super()._log_env(env_cfg)
        else:
            self.logger.info(f'Config saved in {self.work_dir}; --verbose also logs it, the environment and the hooks')

    def get_hooks_info(self) -> str:
        return super().get_hooks_info() if self.verbose else '(the hook order is listed with --verbose)'

    def build_model(self, model) -> nn.Module:
        if isinstance(model, nn.Module):
            return super().build_model(model)
        training = self._train_loop is not None
        self._build_data_first(training)
        if not _is_llava(model):  # e.g. the PatchClassifier of a vision pretraining stage: mmengine's way
            if self.cfg.get('init_from'):
                raise ValueError(f'init_from starts the parts of a Llava model; {model.get("type")} does not take '
                                 'it (its load_from is an mmengine checkpoint)')
            return super().build_model(model)
        load_from = None if (training and self._resume) else self._load_from
        cfg = self.cfg.copy()
        cfg.model = model
        dtype = self.cfg.get('dtype') or ('float32' if training else 'auto')  # training: float32 master weights
        net = get_model(cfg, pretrained=load_from or False, dtype=dtype)
        if load_from:
            self.logger.info(f'Loaded weights from {load_from}')
            self._load_from = None  # nothing left for load_or_resume
        if training and not self._resume and self.cfg.get('init_from'):
            self._init_parts(net, self.cfg.init_from)
        elif training and not self._resume and not load_from:
            self.logger.warning('Training starts from random weights: the config sets neither load_from nor '
                                'init_from')
        if training:
            net.prepare_for_training()
            trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
            total = sum(p.numel() for p in net.parameters())
            self.logger.info(f'Trainable parameters: {trainable:,} of {total:,}')
        return net

    def _init_parts(self, net: nn.Module, init_from: Dict[str, str]) -> None:
        """``init_from = dict(language_model=..., vision_tower=..., projector=...)``: start parts from their own
        checkpoints (LLaVA starts from Vicuna + CLIP, stage 2 from stage 1's projector), each checked whole."""
        expected = net.state_dict()
        for part, path in init_from.items():
            if not path:
                continue
            tensors = load_part(part, str(path))
            wanted = {k for k in expected if k.startswith(part + '.')}
            problems = sorted(wanted - set(tensors)) + sorted(
                f'{k}: {tuple(t.shape)} vs the model\'s {tuple(expected[k].shape)}' for k, t in tensors.items()
                if k in expected and t.shape != expected[k].shape) + sorted(set(tensors) - wanted)
            if problems:
                raise ValueError(f'init_from.{part}={path!r} does not fit the model: ' + ', '.join(problems[:10]))
            with torch.no_grad():
                for name, tensor in tensors.items():
                    expected[name].copy_(tensor)
            self.logger.info(f'{part} initialised from {path}')

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's resume, with ``torch.load(weights_only=True)`` allowed the plain-data classes mmengine's own
        checkpoints hold (its log history: numpy arrays and scalars), and nothing else."""
        with torch.serialization.safe_globals(_training_state_globals()):
            return super().resume(filename, *args, **kwargs)

    def build_param_scheduler(self, scheduler):
        """Schedules in optimizer steps, not micro-batches: with gradient accumulation the learning rate at step
        ``k`` is the same for any number of processes. Epoch-based entries (``convert_to_iter_based``) are
        converted here with the number of optimizer steps per epoch; a warm-up that rounds to zero steps (tiny
        data sets) is dropped with a message instead of failing."""
        accumulate = self.cfg.optim_wrapper.get('accumulative_counts', 1)
        steps_per_epoch = max(1, len(self.train_dataloader) // accumulate)
        converted = []
        for entry in (scheduler if isinstance(scheduler, list) else [scheduler]):
            if isinstance(entry, dict) and entry.get('convert_to_iter_based') and entry.get('by_epoch', True):
                entry = dict(entry)
                entry.pop('convert_to_iter_based')
                begin = int(entry.get('begin', 0) * steps_per_epoch)
                end = int(entry.get('end', self.max_epochs) * steps_per_epoch)
                if end <= begin:
                    self.logger.info(f'{entry["type"]} spans no optimizer step ({steps_per_epoch} per epoch): '
                                     'skipped')
                    continue
                entry.update(by_epoch=False, begin=begin, end=end)
            converted.append(entry)
        return super().build_param_scheduler(converted)

    def _build_data_first(self, training: bool) -> None:
        """Read the data (every sample and image checked) before the model: bad data fails in seconds."""
        name = '_train_dataloader' if training else '_test_dataloader'
        loader = getattr(self, name)
        if isinstance(loader, dict):
            setattr(self, name, self.build_dataloader(
                loader, seed=self.seed, diff_rank_seed=self._randomness_cfg.get('diff_rank_seed', False)))

    def wrap_model(self, model_wrapper_cfg: Optional[Dict], model: nn.Module) -> nn.Module:
        if self._train_loop is None:
            return model.to(get_device())  # inference synchronises no gradients: no DDP wrapper on any rank
        if self.distributed and not torch.cuda.is_available() and model_wrapper_cfg is None:
            return MMDistributedDataParallel(module=model.to(get_device()), device_ids=None, broadcast_buffers=False,
                                             find_unused_parameters=self.cfg.get('find_unused_parameters', False))
        return super().wrap_model(model_wrapper_cfg, model)


class VerboseLlavaRunner(LlavaRunner):
    """``LlavaRunner`` with mmengine's whole start-up report (``--verbose``)."""

    verbose = True
