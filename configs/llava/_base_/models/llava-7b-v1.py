# LLaVA v1 (LLaVA-Lightning-7B v1-1): the v1.5 architecture with CLIP ViT-L/14 @224, one linear projector,
# and LLaMA-7B with the 3 image tokens added (vocab 32003).
_base_ = ['./llava-7b-v1.5.py']
model = dict(
    vision_tower=dict(vision_config=dict(image_size=224)),
    projector=dict(type='LinearProjector'),
    language_model=dict(vocab_size=32003, max_position_embeddings=2048, rms_norm_eps=1e-6),
    tokenizer=dict(name_or_path='liuhaotian/LLaVA-Lightning-7B-delta-v1-1'),
    prompt_template='llava_v1',
    generation_cfg=dict(max_new_tokens=50),
)

# Shortest edge to 224 (bicubic), centre crop 224: CLIPImageProcessor's defaults.
test_pipeline = [
    dict(type='LoadLlavaImage'),
    dict(type='ResizeShortestEdge', size=224, interpolation='bicubic'),
    dict(type='CenterCropSquare', size=224),
    dict(type='PackLlavaInputs'),
]
