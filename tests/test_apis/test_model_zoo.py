"""list_models / get_model: the shipped configs build offline with the published sizes."""
import pytest
import torch

from llava_mm import get_model, inference_model, list_models

EXPECTED_PARAMS = {
    'llava-7b-v1_caption': 7_045_816_320,
    'llava-7b-v1.5_caption': 7_062_900_736,
    'llava-7b-v1.5_vqa': 7_062_900_736,
    'llava-7b-v1.5_vqav2-testdev': 7_062_900_736,
    'llava-7b-v1.5_scienceqa': 7_062_900_736,
    'llava-13b-v1.5_caption': 13_350_837_248,
    'llava-13b-v1.5_vqa': 13_350_837_248,
}


def test_list_models():
    names = list_models()
    assert set(EXPECTED_PARAMS) | {'llava-tiny_caption', 'llava-tiny_vqa'} <= set(names)
    assert list_models('*v1.5_vqa') == ['llava-13b-v1.5_vqa', 'llava-7b-v1.5_vqa']
    assert 'llava-7b-v1.5_scienceqa' in names


@pytest.mark.parametrize('name', sorted(EXPECTED_PARAMS))
def test_shipped_configs_build_on_meta_with_published_size(name):
    model = get_model(name, device='meta')
    assert all(p.is_meta for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == EXPECTED_PARAMS[name]


def test_configs_select_the_right_recipe():
    v1 = get_model('llava-7b-v1_caption', device='meta')
    v15 = get_model('llava-7b-v1.5_vqa', device='meta')
    assert v1.vision_tower.num_image_tokens == 256 and v15.vision_tower.num_image_tokens == 576
    assert v1.vision_tower.feature_layer == -2 and v15.vision_tower.feature_layer == -2
    assert type(v1.projector).__name__ == 'LinearProjector' and type(v15.projector).__name__ == 'MLPProjector'
    assert '<im_start><image><im_end>' in v1.prompt_template
    assert v15.prompt_template.startswith('A chat between a curious user') and 'USER: <image>\n' in v15.prompt_template
    assert v15.task == 'vqa' and v15.question_template.endswith('Answer the question using a single word or phrase.')
    assert v15.cfg.test_evaluator.type == 'VQAAcc'
    caption = get_model('llava-7b-v1.5_caption', device='meta')
    assert caption.cfg.test_evaluator.type == 'COCOCaption'


def test_kwargs_override_model_config():
    model = get_model('llava-7b-v1.5_caption', device='meta', generation_cfg=dict(num_beams=5))
    assert model.generation_cfg['num_beams'] == 5


def test_tiny_scenes_names_share_the_shipped_weights():
    caption, vqa = get_model('llava-tiny_caption'), get_model('llava-tiny_vqa')
    assert caption.task == 'caption' and vqa.task == 'vqa'
    assert 'single word or phrase' in vqa.question_template
    for (k, a), (_, b) in zip(caption.state_dict().items(), vqa.state_dict().items()):
        assert torch.equal(a, b), k


def test_embedded_default_runs_offline(tmp_path):
    model = get_model('llava-tiny_caption', pretrained=True)
    out = inference_model(model, 'demo/cat-dog.png')
    assert set(out) == {'pred_caption'} and isinstance(out['pred_caption'], str)
    # Same weights whether loaded by name or from the shipped directory.
    again = get_model('demo/llava-tiny')
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k


def test_model_dir_loads_weights_not_random_init(tiny_v15_dir):
    from llava_mm.converters import iter_safetensors
    model = get_model(tiny_v15_dir)
    stored = dict(iter_safetensors(tiny_v15_dir))
    state = model.state_dict()
    assert set(stored) == set(state)
    assert all(torch.equal(stored[k], state[k]) for k in stored)


def test_pretrained_checkpoint_file_gives_the_same_model(tiny_v15_dir, tmp_path, images):
    """Built on the meta device and filled from a .pth: same outputs as the directory."""
    reference = get_model(tiny_v15_dir)
    path = tmp_path / 'weights.pth'
    torch.save({'state_dict': reference.state_dict()}, path)
    loaded = get_model(reference.cfg, pretrained=str(path))
    assert not any(t.is_meta for t in list(loaded.parameters()) + list(loaded.buffers()))
    assert inference_model(loaded, images[:3]) == inference_model(reference, images[:3])


def test_metafile_parameter_counts_are_what_the_configs_build():
    import yaml
    from llava_mm.apis.model_zoo import repo_root
    entries = yaml.safe_load((repo_root() / 'configs/llava/metafile.yml').read_text())['Models']
    for entry in entries:
        model = get_model(entry['Name'], device='meta')
        assert sum(p.numel() for p in model.parameters()) == entry['Metadata']['Parameters'], entry['Name']
