# LLaVA v1.5 13B: the 7B recipe with Vicuna-13B v1.5.
_base_ = ['./llava-7b-v1.5.py']
model = dict(
    projector=dict(out_features=5120),
    language_model=dict(hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                        num_attention_heads=40, num_key_value_heads=40),
    tokenizer=dict(name_or_path='liuhaotian/llava-v1.5-13b'),
)
