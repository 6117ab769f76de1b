"""Training machinery on mmengine: the runner, a resumable epoch loop, LLaVA's length-grouped sampler, hooks.

``tools/train.py`` builds ``LlavaRunner`` from a config; every piece is registered so configs name them.
"""
from .distributed import init_cpu_distributed
from .hooks import ExportModelHook, ExportVisionTowerHook, OptimStepParamSchedulerHook, TrainingStatsHook
from .loops import ResumableEpochBasedTrainLoop
from .optim_wrapper import AutocastOptimWrapper
from .runner import LlavaRunner, VerboseLlavaRunner
from .samplers import LengthGroupedSampler, modality_length_grouped_indices

__all__ = ['AutocastOptimWrapper', 'ExportModelHook', 'ExportVisionTowerHook', 'OptimStepParamSchedulerHook',
           'LengthGroupedSampler', 'LlavaRunner', 'ResumableEpochBasedTrainLoop', 'TrainingStatsHook',
           'VerboseLlavaRunner', 'init_cpu_distributed', 'modality_length_grouped_indices']
