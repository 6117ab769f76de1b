"""transformers llava-hf <-> llava_mm, both ways.

    get_model('llava-hf-dir')                                       # import
    python tools/model_converters/llava_mm2hf.py SRC OUT            # export
    LlavaForConditionalGeneration.from_pretrained(OUT)              # serve with transformers / vLLM
"""
import json

import pytest
import torch
from converter_testing import load_script, prompt_logits
from safetensors.torch import load_file, save_file
from tiny_checkpoints import CLIP, IMAGE_SIZE, LLAMA
from transformers import (AddedToken, AutoProcessor, AutoTokenizer, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                          LlavaForConditionalGeneration)

from llava_mm import get_model, inference_model
from llava_mm.converters import config_from_dir, iter_safetensors, load_state_dict
from llava_mm.models import IMAGE_TOKEN_INDEX
from llava_mm.testing import train_tokenizer

ROUND = 'language_model.model.embed_tokens.weight', 'language_model.lm_head.weight'


@pytest.fixture(scope='module')
def hf_dir(tmp_path_factory):
    """A tiny LlavaForConditionalGeneration saved by transformers itself (random weights)."""
    path = tmp_path_factory.mktemp('hf') / 'llava-hf-tiny'
    tokenizer = train_tokenizer()
    tokenizer.add_tokens(AddedToken('<image>', special=True, normalized=False), special_tokens=True)
    config = LlavaConfig(vision_config=CLIPVisionConfig(**CLIP),
                         text_config=LlamaConfig(vocab_size=len(tokenizer), **LLAMA),
                         image_token_index=len(tokenizer) - 1, vision_feature_layer=-2)
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path, model


def test_llava_hf_dir_loads_strictly(hf_dir, image):
    path, hf_model = hf_dir
    model = get_model(str(path))  # strict: any missing / unexpected / mis-shaped key is an error
    ours = model.state_dict()
    theirs = {k: v for k, v in hf_model.state_dict().items() if 'post_layernorm' not in k}
    assert len(ours) == len(theirs)
    assert torch.equal(ours['vision_tower.encoder.layers.1.self_attn.k_proj.weight'],
                       theirs['model.vision_tower.encoder.layers.1.self_attn.k_proj.weight'])
    assert torch.equal(ours['projector.linear_2.bias'], theirs['model.multi_modal_projector.linear_2.bias'])
    assert torch.equal(ours['language_model.lm_head.weight'], theirs['lm_head.weight'])
    assert inference_model(model, str(image), max_new_tokens=3)['pred_caption'] is not None


def test_llava_hf_config_translation(hf_dir):
    path, _ = hf_dir
    cfg = config_from_dir(path)
    assert cfg.model.vision_tower.feature_layer == -2
    assert cfg.model.vision_tower.feature_select == 'patch'
    assert cfg.model.vision_tower.vision_config.hidden_size == CLIP['hidden_size']
    assert cfg.model.projector == dict(type='MLPProjector', in_features=32, out_features=64)
    assert cfg.model.language_model.num_key_value_heads == LLAMA['num_key_value_heads']
    assert cfg.model.tokenizer.name_or_path == str(path)
    # no image processor saved: v1.5 defaults at the tower's resolution
    assert [s['type'] for s in cfg.test_pipeline] == ['LoadLlavaImage', 'PadToSquare', 'ResizeShortestEdge',
                                                      'CenterCropSquare', 'PackLlavaInputs']


def test_hub_spelling_of_keys_loads_too(hf_dir, tmp_path):
    """Published llava-hf checkpoints say vision_tower.vision_model.*, language_model.model.*, ..."""
    path, _ = hf_dir
    hub = tmp_path / 'hub-layout'
    hub.mkdir()
    renamed = {}
    for name, tensor in load_file(str(path / 'model.safetensors')).items():
        if name.startswith('vision_tower.') and not name.startswith('vision_tower.vision_model.'):
            name = 'vision_tower.vision_model.' + name[len('vision_tower.'):]
        renamed[name] = tensor
    assert any(n.startswith('language_model.model.') for n in renamed)
    save_file(renamed, str(hub / 'model.safetensors'))
    for f in ('config.json', 'tokenizer.json', 'tokenizer_config.json'):
        (hub / f).write_bytes((path / f).read_bytes())
    a, b = load_state_dict(str(path)), load_state_dict(str(hub))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_image_processor_becomes_the_pipeline(hf_dir, tmp_path):
    path, _ = hf_dir
    d = tmp_path / 'with-processor'
    d.mkdir()
    for f in path.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    (d / 'preprocessor_config.json').write_text(json.dumps(dict(
        do_pad=True, size={'shortest_edge': IMAGE_SIZE}, crop_size={'height': IMAGE_SIZE, 'width': IMAGE_SIZE},
        resample=3, image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25], do_center_crop=True)))
    cfg = config_from_dir(d)
    assert cfg.test_pipeline[1] == dict(type='PadToSquare', background=(127, 127, 127))
    assert cfg.test_pipeline[2] == dict(type='ResizeShortestEdge', size=IMAGE_SIZE, interpolation='bicubic')
    assert cfg.model.data_preprocessor.mean == (0.5, 0.5, 0.5)


def test_non_llama_language_model_is_refused(hf_dir, tmp_path):
    path, _ = hf_dir
    d = tmp_path / 'mistral'
    d.mkdir()
    raw = json.loads((path / 'config.json').read_text())
    raw['text_config']['model_type'] = 'mistral'
    (d / 'config.json').write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="'mistral'.*LLaMA"):
        config_from_dir(d)


# ---------------------------------------------------------------------------------------------- export
@pytest.fixture(scope='module')
def exported(tiny_v15_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp('export') / 'llava-tiny-hf'
    load_script('llava_mm2hf.py').main([str(tiny_v15_dir), str(out), '--no-progress'])
    return out


def test_export_loads_in_transformers_and_logits_match(tiny_v15_dir, exported, image):
    hf_model, info = LlavaForConditionalGeneration.from_pretrained(str(exported), output_loading_info=True)
    assert not any(info.values()), info
    model = get_model(str(tiny_v15_dir))
    processor = AutoProcessor.from_pretrained(str(exported))
    from PIL import Image
    pixels = processor.image_processor(Image.open(image), return_tensors='pt')['pixel_values']

    # the same prompt ids: llava_mm's marker expanded into one <image> token per image feature
    from mmpretrain.structures import DataSample
    ids = model.build_prompts([DataSample()])[0]
    image_ids = [hf_model.config.image_token_index] * model.vision_tower.num_image_tokens
    hf_ids = sum(([*image_ids] if i == IMAGE_TOKEN_INDEX else [i] for i in ids), [])
    with torch.no_grad():
        theirs = hf_model(input_ids=torch.tensor([hf_ids]), pixel_values=pixels).logits
    ours = prompt_logits(model, image)  # llava_mm's own pipeline + preprocessor on the same file
    vocab = ours.shape[-1]
    assert theirs.shape[:2] == ours.shape[:2]
    torch.testing.assert_close(theirs[..., :vocab], ours, atol=1e-4, rtol=0)
    # padded rows score the mean logit: never the greedy choice
    assert (theirs[..., vocab:].max(-1).values < theirs[..., :vocab].max(-1).values).all()


def test_export_files_and_tokenizer(exported):
    config = json.loads((exported / 'config.json').read_text())
    tokenizer = AutoTokenizer.from_pretrained(str(exported))
    assert tokenizer.convert_tokens_to_ids('<image>') == config['image_token_index']
    assert config['text_config']['vocab_size'] % 64 == 0
    assert config['image_seq_length'] == (IMAGE_SIZE // 14) ** 2
    assert config['llava_mm']['prompt_template'] == 'vicuna_v1'
    names = {n for n, _ in iter_safetensors_hf(exported)}
    assert 'vision_tower.vision_model.post_layernorm.weight' in names
    assert 'multi_modal_projector.linear_1.weight' in names and 'language_model.lm_head.weight' in names


def iter_safetensors_hf(path):
    yield from load_file(str(path / 'model.safetensors')).items()


def test_round_trip_llava_mm_hf_llava_mm_is_lossless(tiny_v15_dir, exported, image):
    source = dict(iter_safetensors(tiny_v15_dir))
    back = load_state_dict(str(exported))
    assert back.keys() == source.keys()
    for name, tensor in source.items():
        if name in ROUND:  # rows were added for <image> / padding; the original rows are untouched
            assert torch.equal(back[name][:tensor.shape[0]], tensor), name
        else:
            assert torch.equal(back[name], tensor), name
    a, b = get_model(str(tiny_v15_dir)), get_model(str(exported))
    assert b.cfg.test_pipeline == a.cfg.test_pipeline
    assert b.prompt_template == a.prompt_template
    ours, theirs = prompt_logits(a, image), prompt_logits(b, image)
    torch.testing.assert_close(theirs[..., :ours.shape[-1]], ours, atol=0, rtol=0)
    assert inference_model(a, str(image)) == inference_model(b, str(image))


def test_export_pad_vocab_to_one_adds_only_the_image_token(tiny_v15_dir, tmp_path):
    out = load_script('llava_mm2hf.py').main([str(tiny_v15_dir), str(tmp_path / 'hf'), '--pad-vocab-to', '1',
                                               '--no-progress'])
    rows = dict(iter_safetensors(tiny_v15_dir))['language_model.lm_head.weight'].shape[0]
    assert json.loads((out / 'config.json').read_text())['text_config']['vocab_size'] == rows + 1


def test_v1_linear_projector_cannot_be_exported(tiny_v1_dir, tmp_path):
    with pytest.raises(ValueError, match='LinearProjector'):
        load_script('llava_mm2hf.py').main([str(tiny_v1_dir), str(tmp_path / 'hf'), '--no-progress'])
    assert not (tmp_path / 'hf').exists()
