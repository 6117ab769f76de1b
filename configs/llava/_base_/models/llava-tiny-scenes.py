# The tiny scenes model (shipped as demo/llava-tiny: llava-tiny_caption / llava-tiny_vqa). LLaVA-1.5's shape at a
# few million parameters: a CLIP-style ViT at 64 px (8 px patches: 64 image tokens, penultimate layer), the 2-layer
# GELU projector and a 4-layer LLaMA. Its SentencePiece tokenizer was trained on the scenes' vocabulary
# (llava_mm.scenes.write_scene_tokenizer) and ships with the model; training configs read it from there.
tokenizer_dir = '{{ fileDirname }}/../../../../demo/llava-tiny'
image_size = 64
patch_size = 8
vision_config = dict(
    hidden_size=128, intermediate_size=512, num_hidden_layers=5, num_attention_heads=4, image_size=image_size,
    patch_size=patch_size, projection_dim=128, hidden_act='quick_gelu', layer_norm_eps=1e-5)
model = dict(
    type='Llava',
    vision_tower=dict(type='CLIPVisionTower', vision_config=vision_config, feature_layer=-2, feature_select='patch'),
    projector=dict(type='MLPProjector', in_features=128, out_features=192),
    language_model=dict(
        type='LlamaForCausalLM',
        vocab_size=800, hidden_size=192, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=4, max_position_embeddings=512, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2,
        pad_token_id=0, tie_word_embeddings=False),
    tokenizer=dict(type='AutoTokenizer', name_or_path=tokenizer_dir),
    prompt_template='vicuna_v1',
    generation_cfg=dict(max_new_tokens=48, num_beams=1),
)

# LLaVA-1.5's image preprocessing at 64 px: pad to a square with the CLIP-mean colour, resize.
test_pipeline = [
    dict(type='LoadLlavaImage'),
    dict(type='PadToSquare', background=(122, 116, 104)),
    dict(type='ResizeShortestEdge', size=image_size, interpolation='bicubic'),
    dict(type='CenterCropSquare', size=image_size),
    dict(type='PackLlavaInputs'),
]
