"""Hooks for LLaVA training: throughput and data reports, and the model directory at the end."""
import time
from pathlib import Path
from typing import Optional

import torch
from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook, ParamSchedulerHook
from mmengine.model import is_model_wrapper

from llava_mm.registry import HOOKS
from .export import save_lora_adapter, save_model_dir


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class OptimStepParamSchedulerHook(ParamSchedulerHook):
    """Steps iteration-based schedules once per optimizer step (not per accumulated micro-batch), matching
    ``LlavaRunner``'s schedules counted in optimizer steps."""

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if runner.optim_wrapper.should_update():
            super().after_train_iter(runner, batch_idx, data_batch, outputs)


@HOOKS.register_module()
class TrainingStatsHook(Hook):
    """Logs ``tokens_per_sec`` (all processes, padding excluded) and the dataset's report once per epoch
    (samples truncated or skipped for length, invalid samples skipped)."""

    priority = 'BELOW_NORMAL'

    def __init__(self) -> None:
        self._last: Optional[float] = None

    def before_train_epoch(self, runner) -> None:
        report = getattr(runner.train_dataloader.dataset, 'data_report', None)
        if callable(report):
            runner.logger.info(f'Training data: {report()}')
        self._last = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        now = time.perf_counter()
        tokens = (outputs or {}).get('num_tokens')
        if self._last is not None and tokens is not None:
            value = float(tokens) * get_world_size() / max(now - self._last, 1e-9)
            runner.message_hub.update_scalar('train/tokens_per_sec', value)
        self._last = now


@HOOKS.register_module()
class ExportModelHook(Hook):
    """At the end of training, write ``WORK_DIR/model/``: a llava_mm model directory (config, safetensors,
    tokenizer) that ``get_model`` loads and ``llava_mm2hf.py`` exports. A LoRA run writes ``WORK_DIR/adapter/``
    instead (the adapter and the other trained weights; ``tools/merge_lora.py`` makes a model directory)."""

    priority = 'LOWEST'

    def __init__(self, dirname: str = 'model', adapter_dirname: str = 'adapter') -> None:
        self.dirname = dirname
        self.adapter_dirname = adapter_dirname

    def after_train(self, runner) -> None:
        model = unwrap(runner.model)
        if not is_main_process():
            return
        if model.has_lora:
            out = save_lora_adapter(model, runner.cfg, Path(runner.work_dir) / self.adapter_dirname,
                                    base=runner.cfg.get('load_from'))
            runner.logger.info(f'LoRA adapter written to {out}; merge it with: python tools/merge_lora.py {out} OUT')
        else:
            out = save_model_dir(model, runner.cfg, Path(runner.work_dir) / self.dirname)
            runner.logger.info(f'Model directory written to {out} (load it with llava_mm.get_model({str(out)!r}))')


@HOOKS.register_module()
class ExportVisionTowerHook(Hook):
    """At the end of a vision pretraining run (``PatchClassifier``), write ``WORK_DIR/vision_tower/``: a
    transformers CLIP vision checkpoint, which a LLaVA config reads as ``init_from.vision_tower``."""

    priority = 'LOWEST'

    def __init__(self, dirname: str = 'vision_tower') -> None:
        self.dirname = dirname

    def after_train(self, runner) -> None:
        if not is_main_process():
            return
        model = unwrap(runner.model)
        if not hasattr(model, 'save_clip_dir'):
            raise TypeError(f'ExportVisionTowerHook exports a PatchClassifier\'s tower; this run trains a '
                            f'{type(model).__name__} (use ExportModelHook for a Llava)')
        out = model.save_clip_dir(Path(runner.work_dir) / self.dirname)
        runner.logger.info(f'Vision tower written to {out} (a LLaVA config starts from it with '
                           f'init_from=dict(vision_tower={str(out)!r}))')
