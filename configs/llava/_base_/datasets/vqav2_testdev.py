# VQAv2 test-dev with LLaVA's question file (answers are scored by the EvalAI server):
#   data/coco/llava_vqav2_mscoco_test-dev2015.jsonl   {question_id, image, text, category} per line
#   data/coco/test2015/COCO_test2015_{image_id:012d}.jpg
# The `text` of LLaVA's file already ends with "Answer the question using a single word or phrase.",
# so model configs using it set question_template='{question}'.
_base_ = ['./test_loader.py']
data_root = 'data/coco'
test_dataloader = dict(
    dataset=dict(
        type='LlavaQuestionJsonl',
        data_root=data_root,
        data_prefix='test2015',
        ann_file='llava_vqav2_mscoco_test-dev2015.jsonl',
        pipeline=[],  # set by the top-level config (image preprocessing is model-specific)
    ),
)
# No ground truth: write the EvalAI submission file instead of scoring. EvalAI expects every test2015
# question: the ones outside test-dev are answered '' (as LLaVA's convert_vqav2_for_submission.py does).
test_evaluator = dict(type='VQAAcc', postprocess=True, format_only=True,
                      outfile_path='work_dirs/vqav2_test-dev_submission.json',
                      submission_question_file=data_root + '/llava_vqav2_mscoco_test2015.jsonl')
