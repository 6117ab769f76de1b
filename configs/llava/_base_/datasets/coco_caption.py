# COCO captions, Karpathy test split (annotation layout documented by mmpretrain:
# coco_karpathy_test.json = [{image, caption, image_id}], *_gt.json = COCO captions format).
data_root = 'data/coco'
test_dataloader = dict(
    batch_size=8,
    num_workers=4,
    dataset=dict(
        type='COCOCaption',
        data_root=data_root,
        ann_file='annotations/coco_karpathy_test.json',
        pipeline=[],  # set by the top-level config (image preprocessing is model-specific)
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)
test_evaluator = dict(type='COCOCaption', ann_file=data_root + '/annotations/coco_karpathy_test_gt.json')
test_cfg = dict()
