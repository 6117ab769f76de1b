"""An epoch-based training loop that resumes exactly where a mid-epoch checkpoint left off.

mmengine's ``EpochBasedTrainLoop`` restarts an interrupted epoch from its
first batch, so a run resumed from an iteration checkpoint trains on some
samples twice. LLaVA recipes are one or two epochs long, so checkpoints are
taken mid-epoch: this loop skips the micro-batches already done (the sampler
starts later, nothing is loaded for them), and resumed training equals
uninterrupted training.
"""
from mmengine.runner import EpochBasedTrainLoop

from llava_mm.registry import LOOPS


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` with exact mid-epoch resume (see the module docstring)."""

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')  # sets the sampler's epoch (DistSamplerSeedHook)
        self.runner.model.train()
        done = self._iter - self._epoch * len(self.dataloader)
        if done > 0:
            sampler = self.dataloader.sampler
            if not hasattr(sampler, 'skip'):
                raise RuntimeError(f'Resuming mid-epoch needs a sampler that can skip batches '
                                   f'(LengthGroupedSampler), not {type(sampler).__name__}')
            sampler.skip(done)
            self.runner.logger.info(f'Resuming epoch {self._epoch + 1} at iteration {done + 1}')
        for idx, data_batch in enumerate(self.dataloader, start=max(done, 0)):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
