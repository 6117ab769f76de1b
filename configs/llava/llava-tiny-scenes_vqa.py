# The shipped tiny scenes model (demo/llava-tiny) on drawn scenes in the VQAv2 layout, scored by the official metric
# (LLaVA-1.5's short-answer prompt). Draw a test set with a seed training never saw, then score:
#   python tools/make_scenes.py data/scenes-test --num-images 500 --seed 2026
#   python tools/test.py configs/llava/llava-tiny-scenes_vqa.py [--cfg-options test_dataloader.dataset.data_root=OUT]
_base_ = ['_base_/models/llava-tiny-scenes.py', '_base_/datasets/vqav2.py', '_base_/default_runtime.py']

load_from = '{{ fileDirname }}/../../demo/llava-tiny'
model = dict(task='vqa', question_template='{question}\nAnswer the question using a single word or phrase.',
             generation_cfg=dict(max_new_tokens=8))
test_dataloader = dict(batch_size=32, dataset=dict(data_root='data/scenes-test', pipeline=_base_.test_pipeline))
test_evaluator = dict(type='VQAAcc', postprocess=True, per_question_type=True)
