default_scope = 'llava_mm'
model = dict(
    generation_cfg=dict(max_new_tokens=48, num_beams=1),
    language_model=dict(
        bos_token_id=1,
        eos_token_id=2,
        hidden_size=192,
        intermediate_size=512,
        max_position_embeddings=512,
        num_attention_heads=4,
        num_hidden_layers=4,
        num_key_value_heads=4,
        pad_token_id=0,
        rms_norm_eps=1e-05,
        tie_word_embeddings=False,
        type='LlamaForCausalLM',
        vocab_size=800),
    projector=dict(in_features=128, out_features=192, type='MLPProjector'),
    prompt_template='vicuna_v1',
    tokenizer=dict(name_or_path='.', type='AutoTokenizer'),
    type='Llava',
    vision_tower=dict(
        feature_layer=-2,
        feature_select='patch',
        type='CLIPVisionTower',
        vision_config=dict(
            hidden_act='quick_gelu',
            hidden_size=128,
            image_size=64,
            intermediate_size=512,
            layer_norm_eps=1e-05,
            num_attention_heads=4,
            num_hidden_layers=5,
            patch_size=8,
            projection_dim=128)))
test_pipeline = [
    dict(type='LoadLlavaImage'),
    dict(background=(
        122,
        116,
        104,
    ), type='PadToSquare'),
    dict(interpolation='bicubic', size=64, type='ResizeShortestEdge'),
    dict(size=64, type='CenterCropSquare'),
    dict(type='PackLlavaInputs'),
]
