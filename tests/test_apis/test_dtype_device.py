"""dtype and device options, and errors that come before any weight is read and name the culprit."""
import warnings

import pytest
import torch
from mmengine.config import Config

from llava_mm import converters, get_model, inference_model
from llava_mm.converters import iter_safetensors, read_config, write_llava_mm_dir


def floating_dtypes(model):
    return {t.dtype for t in [*model.parameters(), *model.buffers()] if t.is_floating_point()}


@pytest.mark.parametrize('dtype, expected', [('float32', torch.float32), ('bfloat16', torch.bfloat16),
                                             ('float16', torch.float16)])
def test_every_floating_tensor_follows_dtype(tiny_v15_dir, images, dtype, expected):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        model = get_model(tiny_v15_dir, dtype=dtype)
    assert floating_dtypes(model) == {expected}
    assert any('float16 on the CPU is slow' in str(w.message) for w in caught) == (dtype == 'float16')
    seen = []
    model.projector.register_forward_pre_hook(lambda module, args: seen.append(args[0].dtype))
    result = inference_model(model, images[0], 'What is it?', max_new_tokens=3)
    assert seen == [expected] and isinstance(result['pred_answer'], str)


def test_auto_is_the_checkpoint_dtype(tiny_v15_dir, tmp_path):
    half = {n: t.to(torch.bfloat16) for n, t in iter_safetensors(tiny_v15_dir)}
    out = write_llava_mm_dir(tmp_path / 'bf16', half, read_config(tiny_v15_dir), str(tiny_v15_dir))
    assert floating_dtypes(get_model(out)) == {torch.bfloat16}
    assert floating_dtypes(get_model(out, dtype='float32')) == {torch.float32}
    assert floating_dtypes(get_model(tiny_v15_dir)) == {torch.float32}


def test_inference_model_dtype_by_name(images):
    assert set(inference_model('llava-tiny_caption', images[0], dtype='bfloat16', max_new_tokens=2)) == {
        'pred_caption'}
    with pytest.raises(ValueError, match="dtype must be 'auto' or one of .*'float32'.*got 'float64'"):
        get_model('llava-tiny_caption', dtype='float64')


def test_cuda_without_cuda_fails_before_reading_weights(tiny_v15_dir, monkeypatch):
    if torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    monkeypatch.setattr(converters, 'load_state_dict', lambda *a, **k: pytest.fail('weights were read'))
    with pytest.raises(RuntimeError, match="device='cuda' was requested but CUDA is not available"):
        get_model(tiny_v15_dir, device='cuda')
    with pytest.raises(ValueError, match="Invalid device 'gpu0'"):
        get_model(tiny_v15_dir, device='gpu0')


@pytest.mark.parametrize('name', ['llava-tiny_caption', 'llava-7b-v1.5_vqa'])
def test_meta_device_builds_the_architecture_only(name, monkeypatch):
    monkeypatch.setattr(converters, 'load_state_dict', lambda *a, **k: pytest.fail('weights were read'))
    model = get_model(name, device='meta')
    assert {p.device.type for p in model.parameters()} == {'meta'}


def test_tokenizer_is_resolved_when_the_model_is_built(tiny_v15_dir, tmp_path):
    cfg = read_config(tiny_v15_dir)
    cfg.model.tokenizer.name_or_path = str(tmp_path / 'no-tokenizer-here')
    with pytest.raises(OSError, match='no-tokenizer-here'):
        get_model(cfg)


def test_generation_cfg_is_validated_when_built(tiny_v15_dir, images):
    with pytest.raises(ValueError, match="unknown generation option 'max_new_token'.*'max_new_tokens'"):
        get_model(tiny_v15_dir, generation_cfg=dict(max_new_token=4))
    model = get_model(tiny_v15_dir)
    with pytest.raises(ValueError, match="unknown generation option 'temprature'"):
        inference_model(model, images[0], temprature=0.5)


def test_prompt_longer_than_the_context_gives_both_lengths(tiny_v15_dir, images):
    model = get_model(tiny_v15_dir, language_model=dict(max_position_embeddings=64))
    with pytest.raises(ValueError, match=r'prompt of \d+ tokens .* context of 64 tokens'):
        inference_model(model, images[0], 'What is it?')


def test_owner_name_path_that_is_neither_dir_nor_hub(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_OFFLINE', True)
    with pytest.raises(OSError, match=r"'someone/llava-nowhere' is not a local directory .* could not be fetched "
                                      r'from the Hugging Face hub'):
        get_model('someone/llava-nowhere')


def test_relative_tokenizer_of_a_config_file_works_from_any_directory(tiny_v15_dir, tmp_path, monkeypatch):
    """A model directory's config.py says tokenizer '.', meaning its own folder, wherever Python runs."""
    monkeypatch.chdir(tmp_path)
    model = get_model(str(tiny_v15_dir / 'config.py'), pretrained=str(tiny_v15_dir / 'model.safetensors'))
    assert model.tokenizer.name_or_path == str(tiny_v15_dir)


def test_local_clip_for_checkpoints_without_vision_weights(tiny_v15_dir, tmp_path, images):
    """An original-LLaVA-layout checkpoint (no vision tower, as liuhaotian/* ship) + a local CLIP directory."""
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig
    source = dict(iter_safetensors(tiny_v15_dir))
    clip = tmp_path / 'clip'
    clip.mkdir()
    vision = {'vision_model.' + n[len('vision_tower.'):]: t for n, t in source.items()
              if n.startswith('vision_tower.')}
    save_file(vision, str(clip / 'model.safetensors'))
    cfg = read_config(tiny_v15_dir)
    CLIPVisionConfig(**cfg.model.vision_tower.vision_config).save_pretrained(str(clip))
    renames = {'language_model.model.': 'model.', 'language_model.lm_head.': 'lm_head.',
               'projector.linear_1.': 'model.mm_projector.0.', 'projector.linear_2.': 'model.mm_projector.2.'}
    original = {}
    for name, tensor in source.items():
        for old, new in renames.items():
            if name.startswith(old):
                original[new + name[len(old):]] = tensor
    rest = tmp_path / 'no_vision.pth'
    torch.save(original, rest)
    model = get_model(Config(cfg.to_dict()), pretrained=str(rest), vision_tower=str(clip))
    reference = get_model(tiny_v15_dir)
    assert inference_model(model, images[0], max_new_tokens=6) == inference_model(reference, images[0],
                                                                                   max_new_tokens=6)
