# What every training set shares: LLaVA's length-grouped sampler (images and text-only samples never share a batch;
# tools/train.py sets its batch sizes) and LlavaInstructDataset's limits. Each dataset file fills in the files and
# the template, the top-level config the tokenizer and the image pipeline.
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='LengthGroupedSampler', group_by_modality=True),
    dataset=dict(
        type='LlavaInstructDataset',
        tokenizer=None,  # set by the top-level config (the model's tokenizer)
        model_max_length=2048,
        num_image_tokens=576,
        pipeline=[],  # set by the top-level config (image preprocessing is model-specific)
    ),
)
