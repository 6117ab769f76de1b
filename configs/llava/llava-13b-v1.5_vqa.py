_base_ = ['_base_/models/llava-13b-v1.5.py', '_base_/datasets/vqav2.py', '_base_/default_runtime.py']

# LLaVA-1.5's short-answer prompt for VQAv2.
model = dict(task='vqa', question_template='{question}\nAnswer the question using a single word or phrase.',
             generation_cfg=dict(max_new_tokens=16))

test_dataloader = dict(dataset=dict(pipeline=_base_.test_pipeline))
