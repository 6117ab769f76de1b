# The shipped tiny scenes model (demo/llava-tiny) captioning drawn scenes in the COCO Karpathy layout (LLaVA-1.5's
# caption prompt; BLEU / ROUGE-L / CIDEr as pycocoevalcap computes them). Draw a test set, then score:
#   python tools/make_scenes.py data/scenes-test --num-images 500 --seed 2026
#   python tools/test.py configs/llava/llava-tiny-scenes_caption.py [--cfg-options \
#       test_dataloader.dataset.data_root=OUT test_evaluator.ann_file=OUT/annotations/coco_karpathy_test_gt.json]
_base_ = ['_base_/models/llava-tiny-scenes.py', '_base_/datasets/coco_caption.py', '_base_/default_runtime.py']

load_from = '{{ fileDirname }}/../../demo/llava-tiny'
model = dict(task='caption', caption_prompt='Provide a one-sentence caption for the provided image.')
test_dataloader = dict(batch_size=32, dataset=dict(data_root='data/scenes-test', pipeline=_base_.test_pipeline))
test_evaluator = dict(ann_file='data/scenes-test/annotations/coco_karpathy_test_gt.json')
