"""Original LLaVA directories and mmpretrain checkpoints load and give the source model's outputs.

    get_model('liuhaotian/llava-v1.5-7b')                            # original LLaVA dir (+ its CLIP)
    python tools/model_converters/llava2llava_mm.py SRC OUT [--config CFG]
    get_model('llava-7b-v1.5_caption', pretrained=True)              # mmpretrain checkpoint URL
"""
import json
import shutil

import pytest
import torch
from converter_testing import load_script, prompt_logits
from safetensors.torch import save_file
from tiny_checkpoints import CLIP, original_llava_config, to_mmpretrain, to_original_llava, write_shards
from transformers import CLIPImageProcessor, CLIPVisionConfig

from llava_mm import get_model, inference_model
from llava_mm.converters import CheckpointMismatchError, iter_safetensors, load_state_dict, read_config
from llava_mm.converters.key_maps import detect_layout


def tokenizer_files(src, dst):
    for name in ('tokenizer.json', 'tokenizer_config.json'):
        shutil.copyfile(src / name, dst / name)


@pytest.fixture(scope='module')
def clip_of_tiny_v15(tiny_v15_dir, tmp_path_factory):
    """The tiny model's vision tower as a CLIP checkpoint in the hub's spelling (``vision_model.*``)."""
    path = tmp_path_factory.mktemp('clip15') / 'clip-vit-tiny-336'
    path.mkdir()
    vision = {n[len('vision_tower.'):]: t for n, t in iter_safetensors(tiny_v15_dir) if n.startswith('vision_tower.')}
    width = CLIP['hidden_size']
    tensors = {'vision_model.' + n: t for n, t in vision.items()}
    tensors.update({'vision_model.post_layernorm.weight': torch.ones(width),
                    'vision_model.post_layernorm.bias': torch.zeros(width),
                    'visual_projection.weight': torch.randn(16, width)})
    save_file(tensors, str(path / 'model.safetensors'))
    CLIPVisionConfig(**CLIP).save_pretrained(str(path))
    size = CLIP['image_size']
    CLIPImageProcessor(size={'shortest_edge': size}, crop_size={'height': size, 'width': size}).to_json_file(
        str(path / 'preprocessor_config.json'))
    return path


@pytest.fixture(scope='module')
def original_v15_dir(tiny_v15_dir, clip_of_tiny_v15, tmp_path_factory):
    """The tiny v1.5 model as liuhaotian/llava-v1.5-7b lays it out: .bin shards, no vision weights."""
    path = tmp_path_factory.mktemp('orig') / 'llava-v1.5-tiny'
    weights = to_original_llava(dict(iter_safetensors(tiny_v15_dir)))
    write_shards(path, weights, 2, 'bin')
    vocab = weights['lm_head.weight'].shape[0]
    architecture = {k: v for k, v in read_config(tiny_v15_dir).model.language_model.items()
                    if k not in ('type', 'vocab_size')}
    config = original_llava_config(vocab, 'v1.5', str(clip_of_tiny_v15), **architecture)
    (path / 'config.json').write_text(json.dumps(config))
    tokenizer_files(tiny_v15_dir, path)
    return path


def test_original_llava_v15_dir_gives_the_source_outputs(tiny_v15_dir, original_v15_dir, image):
    source, converted = get_model(str(tiny_v15_dir)), get_model(str(original_v15_dir))
    assert converted.cfg.test_pipeline == source.cfg.test_pipeline  # image_aspect_ratio 'pad'
    assert converted.prompt_template == source.prompt_template
    torch.testing.assert_close(prompt_logits(converted, image), prompt_logits(source, image), atol=0, rtol=0)
    caption = inference_model(source, str(image), max_new_tokens=8)
    assert inference_model(converted, str(image), max_new_tokens=8) == caption


def test_original_llava_dir_to_llava_mm_dir(tiny_v15_dir, original_v15_dir, clip_of_tiny_v15, tmp_path):
    out = load_script('llava2llava_mm.py').main([str(original_v15_dir), str(tmp_path / 'out'), '--vision-tower',
                                                  str(clip_of_tiny_v15), '--no-progress'])
    assert (out / 'config.py').is_file() and (out / 'tokenizer.json').is_file()
    source = dict(iter_safetensors(tiny_v15_dir))
    converted = dict(iter_safetensors(out))
    assert converted.keys() == source.keys() and all(torch.equal(converted[k], source[k]) for k in source)
    assert get_model(str(out)).tokenizer is not None


@pytest.fixture(params=['v1', 'v1.5'])
def tiny_dir(request, tiny_v1_dir, tiny_v15_dir):
    return tiny_v1_dir if request.param == 'v1' else tiny_v15_dir


def test_mmpretrain_checkpoint_gives_the_source_outputs(tiny_dir, tmp_path, image):
    source = get_model(str(tiny_dir))
    mmpre = to_mmpretrain(dict(iter_safetensors(tiny_dir)))
    assert 'model.vision_tower.layers.0.attn.qkv.weight' in mmpre
    pth = tmp_path / 'llava_mmpretrain.pth'
    torch.save({'state_dict': mmpre, 'meta': {'mmpretrain_version': '1.2.0', 'epoch': 1}}, pth)
    converted = get_model(read_config(tiny_dir), pretrained=str(pth))
    torch.testing.assert_close(prompt_logits(converted, image), prompt_logits(source, image), atol=0, rtol=0)
    # ... and as a llava_mm directory, with the config named on the command line
    out = load_script('llava2llava_mm.py').main([str(pth), str(tmp_path / 'out'), '--config', str(tiny_dir),
                                                  '--no-progress'])
    assert inference_model(get_model(str(out)), str(image), max_new_tokens=8) == \
        inference_model(source, str(image), max_new_tokens=8)


def test_mmpretrain_url_without_vision_weights(tiny_v15_dir, clip_of_tiny_v15, tmp_path, monkeypatch):
    """Published mmpretrain URLs go through the torch.hub cache; a checkpoint saved without the (frozen)
    vision tower gets it from CLIP."""
    weights = {k: v for k, v in to_mmpretrain(dict(iter_safetensors(tiny_v15_dir))).items()
               if not k.startswith('model.vision_tower.')}
    local = tmp_path / 'published.pth'
    torch.save({'state_dict': weights}, local)
    downloads = []
    monkeypatch.setattr(torch.hub, 'download_url_to_file',
                        lambda url, dst, progress=True: downloads.append(url) or shutil.copyfile(local, dst))
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    url = 'https://download.openmmlab.com/mmclassification/v1/llava/llava-tiny_20231025-00000000.pth'
    for _ in range(2):  # the second load is served from the cache
        state_dict = load_state_dict(url, read_config(tiny_v15_dir), vision_tower=str(clip_of_tiny_v15))
    assert len(downloads) == 1
    source = dict(iter_safetensors(tiny_v15_dir))
    assert state_dict.keys() == source.keys() and all(torch.equal(state_dict[k], source[k]) for k in source)


def test_checkpoint_that_does_not_fit_the_config(tiny_v1_dir, tiny_v15_dir, tmp_path):
    pth = tmp_path / 'v15.pth'
    torch.save({'state_dict': to_mmpretrain(dict(iter_safetensors(tiny_v15_dir)))}, pth)
    with pytest.raises(CheckpointMismatchError, match=r'projector\.linear_2\.weight: not a parameter'):
        load_script('llava2llava_mm.py').main([str(pth), str(tmp_path / 'out'), '--config', str(tiny_v1_dir)])
    assert not (tmp_path / 'out').exists()
    with pytest.raises(RuntimeError, match='unexpected keys: projector.linear_2'):
        get_model(read_config(tiny_v1_dir), pretrained=str(pth))


def test_not_a_llava_model_is_refused(base_and_delta, tmp_path):
    base_dir = base_and_delta[0]
    with pytest.raises(ValueError, match="holds a 'llama' model"):
        get_model(str(base_dir))
    with pytest.raises(ValueError, match='Cannot tell the layout'):
        detect_layout(['encoder.conv1.weight', 'decoder.fc.weight'])
