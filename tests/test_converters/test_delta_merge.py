"""Delta -> merged, as the README documents it:

    python tools/model_converters/llava-delta2mmpre.py BASE DELTA OUT
    get_model(OUT)                       # OUT a directory
    get_model(CONFIG, pretrained=OUT)    # OUT a .pth
"""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from converter_testing import REPO, load_script
from tiny_checkpoints import apply_delta_reference, write_shards

from llava_mm import get_model, inference_model
from llava_mm.fileio import OutputConflictError
from llava_mm.converters import iter_safetensors, read_config
from llava_mm.converters import original_llava as delta_module
from llava_mm.converters.original_llava import DeltaMismatchError, WrongModelTypeError

SCRIPT = 'llava-delta2mmpre.py'


def merge(*argv):
    return load_script(SCRIPT).main([*map(str, argv), '--no-progress'])


def original_name(name: str) -> str:
    """llava_mm name -> the name LLaVA's apply_delta output has (written out here, not taken from the code)."""
    if name.startswith('projector.linear_1.'):
        return 'model.mm_projector.' + name.split('.')[-1]
    return name[len('language_model.'):]


@pytest.fixture(scope='module')
def merged_dir(base_and_delta, clip_dir, tmp_path_factory):
    base_dir, delta_dir, _, _ = base_and_delta
    return merge(base_dir, delta_dir, tmp_path_factory.mktemp('merged') / 'llava-tiny-v1',
                 '--vision-tower', clip_dir)


def test_merge_is_bit_identical_to_apply_delta(merged_dir, base_and_delta, clip_dir):
    _, _, base, delta = base_and_delta
    reference = apply_delta_reference(base, delta)
    merged = dict(iter_safetensors(merged_dir))
    language = {original_name(n): t for n, t in merged.items() if not n.startswith('vision_tower.')}
    assert language.keys() == reference.keys()
    for name, tensor in reference.items():
        assert language[name].dtype == torch.float16
        assert torch.equal(language[name], tensor), name
    # the 3 rows LLaVA added are the delta's own
    assert torch.equal(language['lm_head.weight'][-3:], delta['lm_head.weight'][-3:])
    # vision tower: the CLIP checkpoint, in float16, post_layernorm dropped
    clip = {k: v for k, v in iter_safetensors(clip_dir)}
    vision = {n: t for n, t in merged.items() if n.startswith('vision_tower.')}
    assert len(vision) == len(clip) - 2
    assert torch.equal(vision['vision_tower.encoder.layers.2.mlp.fc2.weight'],
                       clip['encoder.layers.2.mlp.fc2.weight'].half())


def test_merged_dir_keeps_delta_tokenizer_and_generates(merged_dir, base_and_delta, image):
    _, delta_dir, _, delta = base_and_delta
    assert (merged_dir / 'tokenizer.json').read_bytes() == (delta_dir / 'tokenizer.json').read_bytes()
    model = get_model(str(merged_dir))
    assert '<im_start><image><im_end>' in model.prompt_template  # v1 (mm_use_im_start_end)
    assert len(model.tokenizer) == delta['lm_head.weight'].shape[0]
    out = inference_model(model, str(image), max_new_tokens=4)
    assert isinstance(out['pred_caption'], str)


def test_merged_dir_keeps_llamas_special_token_ids(merged_dir, base_and_delta):
    """The delta's config.json says bos 0 / eos 1 / pad -1; the merged model keeps LLaMA's, which its tokenizer
    uses: bos 1, eos 2, pad = unk 0."""
    _, delta_dir, _, _ = base_and_delta
    assert json.loads((delta_dir / 'config.json').read_text())['bos_token_id'] == 0  # the fixture is realistic
    language_model = read_config(merged_dir).model.language_model
    assert (language_model.bos_token_id, language_model.eos_token_id, language_model.pad_token_id) == (1, 2, 0)
    model = get_model(str(merged_dir))
    tokenizer = model.tokenizer
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (1, 2, 0)
    config = model.language_model.config
    assert (config.bos_token_id, config.eos_token_id, config.pad_token_id) == (1, 2, 0)


def test_pth_output_with_mmpretrain_argument_form(merged_dir, base_and_delta, clip_dir, tmp_path):
    base_dir, delta_dir, _, _ = base_and_delta
    pth = merge(base_dir, tmp_path / 'merged.pth', '--delta', delta_dir, '--vision-tower', clip_dir)
    assert pth.is_file() and sorted(os.listdir(tmp_path)) == ['merged.pth']
    model = get_model(read_config(merged_dir), pretrained=str(pth))
    expected = dict(iter_safetensors(merged_dir))
    assert all(torch.equal(t, expected[n]) for n, t in model.state_dict().items())


def test_merged_names_fit_the_shipped_v1_config(merged_dir):
    """The merge writes the tensors configs/llava/llava-7b-v1_caption.py builds (same names per
    layer; the tiny model has fewer layers and smaller shapes), so a real merged .pth loads into it."""
    import re

    def per_layer(names):
        return {re.sub(r'\.layers\.\d+\.', '.layers.N.', n) for n in names}

    shipped = get_model('llava-7b-v1_caption', device='meta').state_dict()
    assert per_layer(name for name, _ in iter_safetensors(merged_dir)) == per_layer(shipped)


def test_sharded_output_and_command_line(base_and_delta, clip_dir, tmp_path):
    base_dir, delta_dir, _, _ = base_and_delta
    out = tmp_path / 'sharded'
    run = subprocess.run([sys.executable, str(REPO / 'tools/model_converters' / SCRIPT), str(base_dir),
                          str(delta_dir), str(out), '--vision-tower', str(clip_dir), '--max-shard-size', '100KB'],
                         capture_output=True, text=True, env={**os.environ, 'HF_HUB_OFFLINE': '1'})
    assert run.returncode == 0, run.stderr
    index = json.loads((out / 'model.safetensors.index.json').read_text())
    assert len(set(index['weight_map'].values())) > 2
    assert 'Merging' in run.stderr  # progress bar


# ------------------------------------------------------------------------------------------ errors
def _copy_dir(src, dst, **replace):
    """Copy a checkpoint directory, replacing some tensors of its safetensors shards."""
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    tensors = dict(iter_safetensors(dst))
    for name, value in replace.items():
        name = name.replace('__', '.')
        if value is None:
            del tensors[name]
        else:
            tensors[name] = value
    for f in dst.glob('model*'):
        f.unlink()
    write_shards(dst, tensors, 2, 'safetensors')
    return dst


def test_mismatched_shape_names_the_tensor(base_and_delta, clip_dir, tmp_path):
    base_dir, delta_dir, _, _ = base_and_delta
    bad = _copy_dir(delta_dir, tmp_path / 'bad-delta',
                    model__layers__1__mlp__up_proj__weight=torch.zeros(7, 64, dtype=torch.float16))
    with pytest.raises(DeltaMismatchError, match=r'model\.layers\.1\.mlp\.up_proj\.weight: shape \(7, 64\)'):
        merge(base_dir, bad, tmp_path / 'out', '--vision-tower', clip_dir)
    assert not (tmp_path / 'out').exists()


def test_missing_tensor_names_the_tensor(base_and_delta, clip_dir, tmp_path):
    base_dir, delta_dir, _, _ = base_and_delta
    bad = _copy_dir(delta_dir, tmp_path / 'bad-delta', model__layers__0__self_attn__o_proj__weight=None)
    with pytest.raises(DeltaMismatchError, match=r'model\.layers\.0\.self_attn\.o_proj\.weight: in the base but '
                       'missing from the delta'):
        merge(base_dir, bad, tmp_path / 'out', '--vision-tower', clip_dir)
    assert not (tmp_path / 'out').exists()


def test_wrong_model_type_as_vision_tower_is_refused(base_and_delta, tmp_path):
    base_dir, delta_dir, _, _ = base_and_delta
    with pytest.raises(ValueError, match="the vision tower is 'llama'; llava_mm supports CLIP"):
        merge(base_dir, delta_dir, tmp_path / 'out', '--vision-tower', base_dir)
    assert not (tmp_path / 'out').exists()


def test_wrong_model_type_as_delta_or_base_is_refused(base_and_delta, clip_dir, tmp_path):
    base_dir, delta_dir, _, _ = base_and_delta
    with pytest.raises(WrongModelTypeError, match="'clip_vision_model' model, not an original LLaVA delta"):
        merge(base_dir, clip_dir, tmp_path / 'out', '--vision-tower', clip_dir)
    with pytest.raises(WrongModelTypeError, match="'clip_vision_model' model; the base of a LLaVA delta is LLaMA"):
        merge(clip_dir, delta_dir, tmp_path / 'out', '--vision-tower', clip_dir)
    assert not (tmp_path / 'out').exists()


def test_offline_hub_id_gives_a_clear_error(base_and_delta, tmp_path):
    base_dir, delta_dir, _, _ = base_and_delta  # the delta names openai/clip-vit-large-patch14; we are offline
    with pytest.raises(OSError, match=r"(?s)CLIP checkpoint 'openai/clip-vit-large-patch14'.*--vision-tower"):
        merge(base_dir, delta_dir, tmp_path / 'out')


def test_existing_out_is_kept_without_force(merged_dir, base_and_delta, clip_dir, tmp_path):
    base_dir, delta_dir, _, _ = base_and_delta
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'precious.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='--force'):
        merge(base_dir, delta_dir, out, '--vision-tower', clip_dir)
    # not a llava_mm model directory: not replaced even with --force
    with pytest.raises(OutputConflictError, match='not a previous output'):
        merge(base_dir, delta_dir, out, '--vision-tower', clip_dir, '--force')
    assert (out / 'precious.txt').read_text() == 'keep me'
    # a previous merge is
    previous = tmp_path / 'previous'
    shutil.copytree(merged_dir, previous)
    (previous / 'old.txt').write_text('old')
    merge(base_dir, delta_dir, previous, '--vision-tower', clip_dir, '--force')
    assert not (previous / 'old.txt').exists() and (previous / 'config.py').is_file()


def test_pth_out_never_replaces_a_directory(base_and_delta, clip_dir, tmp_path):
    base_dir, delta_dir, _, _ = base_and_delta
    out = tmp_path / 'merged.pth'
    out.mkdir()
    (out / 'precious.txt').write_text('keep me')
    with pytest.raises(OutputConflictError, match='is a directory'):
        merge(base_dir, delta_dir, out, '--vision-tower', clip_dir, '--force')
    assert (out / 'precious.txt').read_text() == 'keep me'


@pytest.mark.parametrize('out_name', ['out', 'out.pth'])
def test_interrupted_write_leaves_nothing(base_and_delta, clip_dir, tmp_path, monkeypatch, out_name):
    base_dir, delta_dir, _, _ = base_and_delta
    real, calls = delta_module.apply_delta_tensor, []

    def failing(name, delta, base):
        calls.append(name)
        if len(calls) == 5:
            raise KeyboardInterrupt('simulated Ctrl-C in the middle of the merge')
        return real(name, delta, base)

    monkeypatch.setattr(delta_module, 'apply_delta_tensor', failing)
    with pytest.raises(KeyboardInterrupt):
        merge(base_dir, delta_dir, tmp_path / out_name, '--vision-tower', clip_dir)
    assert len(calls) == 5
    assert os.listdir(tmp_path) == []  # no OUT, no temporary files


def test_interrupted_force_keeps_the_old_out(merged_dir, base_and_delta, clip_dir, tmp_path, monkeypatch):
    base_dir, delta_dir, _, _ = base_and_delta
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'config.py').write_text('# a previous output')
    (out / 'old.txt').write_text('old')
    monkeypatch.setattr(delta_module, 'apply_delta_tensor', lambda *a: (_ for _ in ()).throw(OSError('disk full')))
    with pytest.raises(OSError, match='disk full'):
        merge(base_dir, delta_dir, out, '--vision-tower', clip_dir, '--force')
    assert os.listdir(tmp_path) == ['out'] and (out / 'old.txt').read_text() == 'old'
