# COCO captions, Karpathy test split, in the annotation layout mmpretrain documents:
#   data/coco/annotations/coco_karpathy_test.json     [{image: 'val2014/COCO_val2014_...jpg', caption: [...], image_id}]
#   data/coco/annotations/coco_karpathy_test_gt.json  COCO captions format (what the official scorer reads)
#   data/coco/val2014/*.jpg
# `image` is relative to data_prefix (here data_root itself, as the Karpathy files include 'val2014/').
_base_ = ['./test_loader.py']
data_root = 'data/coco'
test_dataloader = dict(
    dataset=dict(
        type='COCOCaption',
        data_root=data_root,
        ann_file='annotations/coco_karpathy_test.json',
        data_prefix='',
        pipeline=[],  # set by the top-level config (image preprocessing is model-specific)
    ),
)
test_evaluator = dict(type='COCOCaption', ann_file=data_root + '/annotations/coco_karpathy_test_gt.json')
