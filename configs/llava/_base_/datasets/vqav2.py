# VQAv2 val with the official question / annotation json files:
#   data/coco/annotations/v2_OpenEnded_mscoco_val2014_questions.json
#   data/coco/annotations/v2_mscoco_val2014_annotations.json   (10 answers + answer_type per question)
#   data/coco/val2014/COCO_val2014_{image_id:012d}.jpg
_base_ = ['./test_loader.py']
data_root = 'data/coco'
test_dataloader = dict(
    dataset=dict(
        type='VQAv2',
        data_root=data_root,
        data_prefix='val2014',
        question_file='annotations/v2_OpenEnded_mscoco_val2014_questions.json',
        ann_file='annotations/v2_mscoco_val2014_annotations.json',
        pipeline=[],  # set by the top-level config (image preprocessing is model-specific)
    ),
)
# LLaVA post-processes answers with the EvalAI answer processor before scoring.
test_evaluator = dict(type='VQAAcc', postprocess=True)
