_base_ = ['_base_/models/llava-7b-v1.5.py', '_base_/datasets/scienceqa.py', '_base_/default_runtime.py']

# The ScienceQA dataset builds the whole question (context, lettered options, answer instruction).
# max_new_tokens as LLaVA's model_vqa_science.py, so a long answer is parsed whole, as the official script does.
model = dict(task='vqa', question_template='{question}', generation_cfg=dict(max_new_tokens=1024))

test_dataloader = dict(dataset=dict(pipeline=_base_.test_pipeline))
