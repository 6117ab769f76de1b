"""Bad input gets a clear error that names the culprit."""
import pytest
import torch

from llava_mm import get_model, inference_model
from llava_mm.apis import load_weights


@pytest.fixture(scope='module')
def model(tiny_v15_dir):
    return get_model(tiny_v15_dir)


def test_missing_image_file(model, tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        inference_model(model, tmp_path / 'nope.jpg')


def test_corrupt_image_file(model, tmp_path):
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n' + b'not really a png')
    with pytest.raises(ValueError, match='broken.png'):
        inference_model(model, bad)


def test_unknown_model_name_suggests_close_names():
    with pytest.raises(ValueError, match=r"Unknown model 'llava-7b-v15_caption'.*llava-7b-v1.5_caption"):
        get_model('llava-7b-v15_caption', device='meta')


def test_missing_config_file():
    with pytest.raises(FileNotFoundError, match='no_such_config.py'):
        get_model('configs/llava/no_such_config.py')


def test_prompt_template_without_image_token():
    with pytest.raises(ValueError, match='<image>'):
        get_model('llava-7b-v1.5_caption', device='meta', prompt_template='USER: {question} ASSISTANT:')


def test_vqa_model_needs_a_question(tiny_v15_dir, images):
    vqa = get_model(tiny_v15_dir, task='vqa')
    with pytest.raises(ValueError, match='VQA model.*question'):
        inference_model(vqa, images[0])
    assert set(inference_model(vqa, images[0], 'What is it?')) == {'question', 'pred_answer'}


def test_checkpoint_key_problems_are_listed(model, tmp_path):
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state.pop('projector.linear_2.bias')
    state['projector.extra.weight'] = torch.zeros(2)
    state['language_model.lm_head.weight'] = torch.zeros(3, 3)
    path = tmp_path / 'bad.pth'
    torch.save(state, path)
    with pytest.raises(RuntimeError) as err:
        get_model(model.cfg, pretrained=str(path))
    message = str(err.value)
    assert 'bad.pth' in message
    assert 'missing keys: projector.linear_2.bias' in message
    assert 'unexpected keys: projector.extra.weight' in message
    assert 'language_model.lm_head.weight: checkpoint (3, 3) vs model (600, 64)' in message


def test_non_strict_loading_still_refuses_wrong_shapes(model):
    state = dict(model.state_dict())
    state['projector.linear_1.weight'] = torch.zeros(1, 1)
    with pytest.raises(RuntimeError, match='projector.linear_1.weight'):
        load_weights(model, state, strict=False)


def test_pretrained_7b_is_never_built_in_memory_first(tmp_path):
    """With weights to load, the model is built on the meta device whatever the target
    device, so a missing checkpoint fails at once instead of after a 28 GB random init."""
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        get_model('llava-7b-v1_caption', pretrained=str(tmp_path / 'missing.pth'), device='cpu')
