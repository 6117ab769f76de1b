# Stage 2 data: llava_v1_5_mix665k (LLaVA-Instruct-150K + VQA / OCR / region data), multi-turn conversations.
#   data/llava/llava_v1_5_mix665k.json      [{id, image?, conversations}]  (text-only samples have no image)
#   data/llava/{coco,gqa,ocr_vqa,textvqa,vg}/...   images, paths relative to data_root
_base_ = ['./train_loader.py']
data_root = 'data/llava'
train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='llava_v1_5_mix665k.json', data_prefix='', template='vicuna_v1'),
)
