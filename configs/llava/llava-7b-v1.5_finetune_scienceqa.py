# Task fine-tune: LLaVA-1.5 7B on ScienceQA train (the paper's fine-tune setting), from the released LLaVA-1.5 model.
#   data/scienceqa/llava_train_QCM-LEA.json: LLaVA's conversation file (scripts/convert_sqa_to_llava.py)
#   data/scienceqa/images/train/...
# Evaluate with configs/llava/llava-7b-v1.5_scienceqa.py on the result.
_base_ = ['_base_/models/llava-7b-v1.5.py', '_base_/datasets/llava_instruct.py', '_base_/schedules/llava_finetune.py']

model = dict(freeze=('vision_tower', ), gradient_checkpointing=True)
load_from = 'liuhaotian/llava-v1.5-7b'
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-5, by_epoch=True, begin=0, end=0.03 * max_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0.03 * max_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_dataloader = dict(dataset=dict(
    data_root='data/scienceqa', ann_file='llava_train_QCM-LEA.json', data_prefix='images/train',
    tokenizer='liuhaotian/llava-v1.5-7b', pipeline=_base_.test_pipeline))
