# ScienceQA test split, image subset (the "IMG" column of the LLaVA papers), official layout:
#   data/scienceqa/problems.json, data/scienceqa/pid_splits.json
#   data/scienceqa/images/test/{pid}/image.png
# Questions are asked as in LLaVA's llava_test_CQM-A.json: "Context: <hint>\n<question>\nA. ...\nB. ..."
# + "\nAnswer with the option's letter from the given choices directly."
_base_ = ['./test_loader.py']
data_root = 'data/scienceqa'
test_dataloader = dict(
    dataset=dict(
        type='ScienceQA',
        data_root=data_root,
        ann_file='problems.json',
        split_file='pid_splits.json',
        split='test',
        data_prefix='images/test',
        pipeline=[],  # set by the top-level config (image preprocessing is model-specific)
    ),
)
# lenient=False: read answers exactly as LLaVA's eval_science_qa.py does (unparsable = wrong).
test_evaluator = dict(type='ScienceQAAcc', lenient=False)
