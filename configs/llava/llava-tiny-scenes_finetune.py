# Tiny scenes model, stage 2: visual instruction tuning on drawn scenes' conversations (vicuna_v1 template, images
# padded to a square), from stage 0's vision tower, which stays frozen as LLaVA's CLIP does (trained on, it forgets
# the kinds of objects within a few hundred steps). Nothing pretrained exists offline, so the projector and the
# language model train from scratch together (LLaVA's stage 1, projector only, has nothing to align to here).
# Writes WORK_DIR/model/, a model directory like the shipped demo/llava-tiny.
#   python tools/train.py configs/llava/llava-tiny-scenes_finetune.py
_base_ = ['_base_/models/llava-tiny-scenes.py', '_base_/datasets/scenes_train.py', '_base_/datasets/train_loader.py',
          '_base_/schedules/llava_finetune.py']

model = dict(freeze=('vision_tower', ))
init_from = dict(vision_tower='work_dirs/llava-tiny-scenes_vision/vision_tower')
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    dataset=dict(data_root=_base_.data_root, ann_file='instruct.json', data_prefix='', template='vicuna_v1',
                 tokenizer=_base_.tokenizer_dir, model_max_length=512, num_image_tokens=64,
                 pipeline=_base_.test_pipeline),
)
global_batch_size = 16
optim_wrapper = dict(optimizer=dict(lr=1e-3, betas=(0.9, 0.98), weight_decay=0.05))
max_epochs = 1
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=0.05 * max_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-4, by_epoch=True, begin=0.05 * max_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=1000, max_keep_ckpts=1))
