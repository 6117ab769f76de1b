_base_ = ['_base_/models/llava-7b-v1.py', '_base_/datasets/coco_caption.py', '_base_/default_runtime.py']

model = dict(task='caption', caption_prompt='Provide a one-sentence caption for the provided image.')

test_dataloader = dict(dataset=dict(pipeline=_base_.test_pipeline))
