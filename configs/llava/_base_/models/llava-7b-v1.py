# LLaVA v1 (LLaVA-Lightning-7B v1-1): CLIP ViT-L/14 @224, one linear projector,
# LLaMA-7B with the 3 image tokens added (vocab 32003).
model = dict(
    type='Llava',
    vision_tower=dict(
        type='CLIPVisionTower',
        vision_config=dict(
            hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
            image_size=224, patch_size=14, projection_dim=768, hidden_act='quick_gelu', layer_norm_eps=1e-5),
        feature_layer=-2,
        feature_select='patch'),
    projector=dict(type='LinearProjector', in_features=1024, out_features=4096),
    language_model=dict(
        type='LlamaForCausalLM',
        vocab_size=32003, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=2048, rms_norm_eps=1e-6,
        bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False),
    tokenizer=dict(type='AutoTokenizer', name_or_path='liuhaotian/LLaVA-Lightning-7B-delta-v1-1'),
    prompt_template='llava_v1',
    generation_cfg=dict(max_new_tokens=50, num_beams=1),
)

# Shortest edge to 224 (bicubic), centre crop 224: CLIPImageProcessor's defaults.
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='ResizeShortestEdge', size=224, interpolation='bicubic'),
    dict(type='CenterCropSquare', size=224),
    dict(type='PackLlavaInputs'),
]
