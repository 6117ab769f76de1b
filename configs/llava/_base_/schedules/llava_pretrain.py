# LLaVA-1.5 stage 1: projector only, lr 1e-3, global batch 256, 1 epoch, 3% warmup, cosine, no weight decay.
# (The runtime comes with it: top-level training configs list a schedule instead of default_runtime.py.)
_base_ = ['../default_runtime.py']
global_batch_size = 256
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0),
    clip_grad=dict(max_norm=1.0),
)
max_epochs = 1
warmup_ratio = 0.03
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-5, by_epoch=True, begin=0, end=warmup_ratio * max_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=warmup_ratio * max_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs)
# Schedules count optimizer steps, so the global batch and the learning rate curve do not depend on the
# number of processes (see llava_mm.engine.LlavaRunner).
default_hooks = dict(
    param_scheduler=dict(type='OptimStepParamSchedulerHook'),
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=2),
)
custom_hooks = [dict(type='TrainingStatsHook'), dict(type='ExportModelHook')]
randomness = dict(seed=0, deterministic=False)
log_processor = dict(by_epoch=False)
