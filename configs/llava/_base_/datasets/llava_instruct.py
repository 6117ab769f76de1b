# Stage 2 data: llava_v1_5_mix665k (LLaVA-Instruct-150K + VQA / OCR / region data), multi-turn conversations.
#   data/llava/llava_v1_5_mix665k.json      [{id, image?, conversations}]  (text-only samples have no image)
#   data/llava/{coco,gqa,ocr_vqa,textvqa,vg}/...   images, paths relative to data_root
data_root = 'data/llava'
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='LengthGroupedSampler', group_by_modality=True),
    dataset=dict(
        type='LlavaInstructDataset',
        data_root=data_root,
        ann_file='llava_v1_5_mix665k.json',
        data_prefix='',
        template='vicuna_v1',
        tokenizer=None,  # set by the top-level config (the model's tokenizer)
        model_max_length=2048,
        num_image_tokens=576,
        pipeline=[],  # set by the top-level config (image preprocessing is model-specific)
    ),
)
