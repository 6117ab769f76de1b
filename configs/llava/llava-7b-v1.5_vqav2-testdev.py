_base_ = ['_base_/models/llava-7b-v1.5.py', '_base_/datasets/vqav2_testdev.py', '_base_/default_runtime.py']

# LLaVA's test-dev questions already carry the short-answer instruction: pass them through unchanged.
# max_new_tokens=128 as LLaVA's model_vqa_loader.py.
model = dict(task='vqa', question_template='{question}', generation_cfg=dict(max_new_tokens=128))

test_dataloader = dict(dataset=dict(pipeline=_base_.test_pipeline))
