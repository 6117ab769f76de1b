# LLaVA v1.5 7B: CLIP ViT-L/14 @336, 2-layer GELU MLP projector, Vicuna-7B v1.5.
model = dict(
    type='Llava',
    vision_tower=dict(
        type='CLIPVisionTower',
        vision_config=dict(
            hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
            image_size=336, patch_size=14, projection_dim=768, hidden_act='quick_gelu', layer_norm_eps=1e-5),
        feature_layer=-2,
        feature_select='patch'),
    projector=dict(type='MLPProjector', in_features=1024, out_features=4096),
    language_model=dict(
        type='LlamaForCausalLM',
        vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096, rms_norm_eps=1e-5,
        bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False),
    tokenizer=dict(type='AutoTokenizer', name_or_path='liuhaotian/llava-v1.5-7b'),
    prompt_template='vicuna_v1',
    generation_cfg=dict(max_new_tokens=128, num_beams=1),
)

# Pad to a square with the CLIP-mean colour, then resize to 336 (v1.5's "pad" aspect ratio).
test_pipeline = [
    dict(type='LoadLlavaImage'),
    dict(type='PadToSquare', background=(122, 116, 104)),
    dict(type='ResizeShortestEdge', size=336, interpolation='bicubic'),
    dict(type='CenterCropSquare', size=336),
    dict(type='PackLlavaInputs'),
]
