# Stage 1 data: LCS-558K (liuhaotian/LLaVA-Pretrain), LLaVA-1.5's projector-alignment set.
#   data/llava/LLaVA-Pretrain/blip_laion_cc_sbu_558k.json   [{id, image, conversations}]
#   data/llava/LLaVA-Pretrain/images/...
# The `plain` template: <image> + caption + '\n', the instruction discarded, the caption supervised.
data_root = 'data/llava/LLaVA-Pretrain'
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='LengthGroupedSampler', group_by_modality=True),
    dataset=dict(
        type='LlavaInstructDataset',
        data_root=data_root,
        ann_file='blip_laion_cc_sbu_558k.json',
        data_prefix='images',
        template='plain',
        tokenizer=None,  # set by the top-level config (the model's tokenizer)
        model_max_length=2048,
        num_image_tokens=576,
        pipeline=[],  # set by the top-level config (image preprocessing is model-specific)
    ),
)
