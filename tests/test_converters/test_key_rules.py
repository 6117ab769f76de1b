"""The declarative key maps: renames, fused tensors, inversion, strictness."""
import pytest
import torch

from llava_mm.converters.key_maps import HF_LLAVA, MMPRETRAIN_LLAVA, ORIGINAL_LLAVA, TO_HF_LLAVA, detect_layout
from llava_mm.converters.key_rules import Drop, KeyMap, Rename, Split, UnmappedTensorError


def test_split_and_its_inverse_fuse_round_trip():
    qkv = KeyMap('vit', [Split('layers.{n}.qkv.{p}', ('l.{n}.q.{p}', 'l.{n}.k.{p}', 'l.{n}.v.{p}')),
                         Rename('cls', 'class', to_dst=lambda t: t.reshape(-1), to_src=lambda t: t.reshape(1, 1, -1))])
    fused = torch.arange(24.).reshape(6, 4)
    split = dict(qkv.convert([('layers.3.qkv.weight', fused), ('cls', torch.ones(1, 1, 4))]))
    assert list(split) == ['l.3.q.weight', 'l.3.k.weight', 'l.3.v.weight', 'class']
    assert torch.equal(split['l.3.k.weight'], fused[2:4]) and split['class'].shape == (4, )
    back = dict(qkv.inverse().convert(reversed(list(split.items()))))  # parts may come in any order
    assert torch.equal(back['layers.3.qkv.weight'], fused) and back['cls'].shape == (1, 1, 4)


def test_unknown_tensor_is_an_error_that_names_it():
    with pytest.raises(UnmappedTensorError, match="'extra_head.weight' is not part of the original LLaVA"):
        list(ORIGINAL_LLAVA.convert([('extra_head.weight', torch.zeros(1))]))


def test_drops_and_specs_without_data():
    specs = {'model.layers.0.self_attn.rotary_emb.inv_freq': (torch.float32, (8, )),
             'model.lang_encoder.model.layers.0.self_attn.rotary_emb.inv_freq': (torch.float32, (8, )),
             'model.vision_tower.layers.1.attn.qkv.weight': (torch.float16, (96, 32)),
             'model.vision_tower.pos_embed': (torch.float16, (1, 17, 32))}
    out = MMPRETRAIN_LLAVA.convert_specs({k: v for k, v in specs.items() if 'lang_encoder' in k or 'vision' in k})
    assert out == {'vision_tower.encoder.layers.1.self_attn.q_proj.weight': (torch.float16, (32, 32)),
                   'vision_tower.encoder.layers.1.self_attn.k_proj.weight': (torch.float16, (32, 32)),
                   'vision_tower.encoder.layers.1.self_attn.v_proj.weight': (torch.float16, (32, 32)),
                   'vision_tower.embeddings.position_embedding.weight': (torch.float16, (17, 32))}


@pytest.mark.parametrize('name', ['vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight',  # hub
                                  'vision_tower.encoder.layers.0.mlp.fc1.weight',  # transformers 5 save_pretrained
                                  'model.vision_tower.encoder.layers.0.mlp.fc1.weight'])  # transformers 5 memory
def test_every_llava_hf_spelling_is_read(name):
    assert dict(HF_LLAVA.convert([(name, torch.zeros(1))])) == {
        'vision_tower.encoder.layers.0.mlp.fc1.weight': torch.zeros(1)}
    assert list(dict(TO_HF_LLAVA.convert([('vision_tower.encoder.layers.0.mlp.fc1.weight', torch.zeros(1))]))) == [
        'vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight']


def test_layout_detection():
    assert detect_layout(['model.lang_encoder.lm_head.weight', 'model.vision_tower.cls_token']) == 'mmpretrain'
    assert detect_layout(['model.mm_projector.0.weight', 'lm_head.weight']) == 'original_llava'
    assert detect_layout(['multi_modal_projector.linear_1.weight', 'lm_head.weight']) == 'hf_llava'
    assert detect_layout(['projector.linear_1.weight', 'language_model.lm_head.weight']) == 'llava_mm'
    with pytest.raises(ValueError, match='Cannot tell the layout'):
        detect_layout(['projector.linear_1.weight', 'something.else'])


def test_a_dropped_tensor_cannot_be_inverted():
    with pytest.raises(ValueError, match='cannot be recreated'):
        Drop('x').inverse()
