# Tiny scenes model, stage 0: vision pretraining. LLaVA starts from OpenAI's CLIP; nothing pretrained exists offline,
# so this recipe trains its CLIP-style tower first (a config choice, not LLaVA's recipe): a linear head per label
# reads the tower's LLaVA features (penultimate layer, patch tokens) and learns the colour and the kind of the object
# drawn under each patch, and where the patch is (PatchClassifier). The heads are dropped; the tower is written as a
# transformers CLIP checkpoint, WORK_DIR/vision_tower/, which stage 2 (llava-tiny-scenes_finetune.py) starts from.
#   python tools/make_scenes.py data/scenes --num-images 20000 --seed 100 --split train2014 --outputs pretrain instruct
#   python tools/train.py configs/llava/llava-tiny-scenes_vision.py
_base_ = ['_base_/models/llava-tiny-scenes.py', '_base_/datasets/scenes_train.py', '_base_/schedules/llava_pretrain.py']

grid = _base_.image_size // _base_.patch_size
# Heads: background + llava_mm.scenes.vocabulary's 10 colours / 11 kinds, and each patch's own index (so the tokens
# keep where they are: the language model is asked "what is on the left?").
model = dict(_delete_=True, type='PatchClassifier', vision_tower=_base_.model.vision_tower,
             heads=dict(colour=11, kind=12), position_head=True)
train_pipeline = _base_.test_pipeline[:-1] + [dict(type='PackLlavaInputs', data_keys=('patch_labels', 'image_id'))]
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ScenePatchDataset', data_root=_base_.data_root, ann_file='annotations/scenes_train2014.json',
                 data_prefix='', grid=grid, pipeline=train_pipeline),
)
global_batch_size = 16
optim_wrapper = dict(optimizer=dict(lr=1e-3, betas=(0.9, 0.98), weight_decay=0.05))
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=0.05 * max_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=5e-5, by_epoch=True, begin=0.05 * max_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=1000, max_keep_ckpts=1))
custom_hooks = [dict(type='ExportVisionTowerHook')]
