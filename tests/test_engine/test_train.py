"""tools/train.py on tiny models and drawn scenes: what the training recipes promise, checked end to end.

    python tools/train.py CONFIG --work-dir W            # W/model/ is a llava_mm model directory
    tools/dist_train.sh CONFIG 2 --work-dir W            # same global batch, 2 processes (gloo on CPUs)
    python tools/train.py CONFIG --work-dir W --resume W/iter_2.pth
"""
import shutil

import pytest
import torch
from training_setup import REPO, losses, make_scene_data, train, weights, write_train_config

from llava_mm import get_model, inference_model
from llava_mm.testing import make_tiny_model_dir


@pytest.fixture(scope='module')
def start(tmp_path_factory):
    """The model training starts from (random weights, SentencePiece tokenizer)."""
    return make_tiny_model_dir(tmp_path_factory.mktemp('start') / 'tiny', 'v1.5', image_size=56,
                               tokenizer='sentencepiece')


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    return make_scene_data(tmp_path_factory.mktemp('scenes'), num_images=12, seed=5)


def test_two_processes_equal_one_on_the_same_global_batch(start, scenes, tmp_path):
    """3 optimizer steps of 4 samples: 1 process accumulating 2 micro-batches of 2, or 2 processes with 1."""
    config = write_train_config(tmp_path / 'cfg.py', start, scenes, 'instruct.json', global_batch_size=4,
                                batch_size=2, model=dict(freeze=()))
    one = train(config, tmp_path / 'one')
    two = train(config, tmp_path / 'two', nproc=2)
    assert 'Iter(train) [6/6]' in one.stdout + one.stderr  # 6 micro-batches = 3 steps x 2 accumulated
    assert 'Iter(train) [3/3]' in two.stdout + two.stderr
    a, b = weights(tmp_path / 'one/model'), weights(tmp_path / 'two/model')
    start_weights = weights(start)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-6, rtol=0, msg=name)
    unchanged = {n for n in a if torch.equal(a[n], start_weights[n])}
    assert unchanged == {n for n in a if n.startswith('vision_tower.encoder.layers.2.')}  # after the feature layer


def test_resume_equals_uninterrupted_bit_for_bit(start, scenes, tmp_path):
    """2 epochs of 3 steps, checkpoint every 2: resuming at step 2 (mid-epoch) gives the same weights."""
    config = write_train_config(tmp_path / 'cfg.py', start, scenes, 'instruct.json', global_batch_size=4,
                                batch_size=4, max_epochs=2, checkpoint_interval=2)
    first = train(config, tmp_path / 'full', '--resume')  # a requeued job's first run: nothing to resume yet
    assert 'no checkpoint in' in first.stderr and 'Loaded weights from' in first.stdout + first.stderr
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(tmp_path / 'full/iter_2.pth', resumed / 'iter_2.pth')
    out = train(config, resumed, '--resume', str(resumed / 'iter_2.pth'))
    assert 'Resuming epoch 1 at iteration 3' in out.stdout + out.stderr
    a, b = weights(tmp_path / 'full/model'), weights(resumed / 'model')
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], weights(start)[k]) for k in a)


def test_amp_trains_in_bfloat16_on_cpu(start, scenes, tmp_path):
    """``--amp`` on a CPU (AutocastOptimWrapper; mmengine's AmpOptimWrapper would refuse to start)."""
    config = write_train_config(tmp_path / 'cfg.py', start, scenes, 'instruct.json', global_batch_size=4,
                                batch_size=4, max_epochs=2)
    train(config, tmp_path / 'fp32')
    train(config, tmp_path / 'bf16', '--amp')
    assert "type='AutocastOptimWrapper'" in (tmp_path / 'bf16/cfg.py').read_text()
    fp32, bf16 = weights(tmp_path / 'fp32/model'), weights(tmp_path / 'bf16/model')
    assert all(t.dtype == torch.float32 for t in bf16.values())  # master weights stay float32
    assert any(not torch.equal(fp32[k], bf16[k]) for k in fp32)  # float32 runs are bit-exact (resume test above)
    a, b = losses(tmp_path / 'fp32'), losses(tmp_path / 'bf16')
    assert len(a) == len(b) == 6 and b[-1] < b[0]  # it learns
    assert abs(a[0] - b[0]) < 0.05 * a[0]  # the same first step, at bfloat16's precision


def test_stage1_trains_the_projector_only(start, scenes, tmp_path):
    config = write_train_config(tmp_path / 'cfg.py', start, scenes, 'pretrain.json', template='plain',
                                stage='pretrain', model=dict(freeze=('vision_tower', 'language_model')))
    train(config, tmp_path / 'w')
    before, after = weights(start), weights(tmp_path / 'w/model')
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert changed == {k for k in after if k.startswith('projector.')}


def test_stage1_stage2_lora_merge_then_inference(start, scenes, tmp_path, images):
    """The LLaVA-1.5 recipe end to end through tools/train.py: stage 1 (plain, projector) -> stage 2
    (conversations, projector + LM) -> LoRA fine-tune -> tools/merge_lora.py -> get_model -> inference_model."""
    from peft import PeftModel
    from training_setup import REPO, load_script

    stage1 = write_train_config(tmp_path / 'stage1.py', start, scenes, 'pretrain.json', template='plain',
                                stage='pretrain', model=dict(freeze=('vision_tower', 'language_model')))
    train(stage1, tmp_path / 'w1')
    stage2 = write_train_config(tmp_path / 'stage2.py', tmp_path / 'w1/model', scenes, 'instruct.json')
    train(stage2, tmp_path / 'w2')
    lora = write_train_config(
        tmp_path / 'lora.py', tmp_path / 'w2/model', scenes, 'instruct.json', lr=1e-2,
        model=dict(lora=dict(r=8, lora_alpha=16, lora_dropout=0.0)),
        extra="optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'projector': dict(lr_mult=0.1)}))")
    log = train(lora, tmp_path / 'w3')
    adapter = tmp_path / 'w3/adapter'
    assert not (tmp_path / 'w3/model').exists() and (adapter / 'adapter_model.safetensors').is_file()
    assert 'Trainable parameters:' in log.stdout + log.stderr

    stage2_weights = weights(tmp_path / 'w2/model')
    merged_dir = load_script(REPO / 'tools/merge_lora.py').main([str(adapter), str(tmp_path / 'merged')])
    with pytest.raises(FileExistsError, match='pass --force'):
        load_script(REPO / 'tools/merge_lora.py').main([str(adapter), str(tmp_path / 'merged')])
    assert load_script(REPO / 'tools/merge_lora.py').main([str(adapter), str(tmp_path / 'merged'), '--force'])
    merged = weights(merged_dir)
    assert merged.keys() == stage2_weights.keys()  # a plain model again: no LoRA tensors left
    changed = {k for k in merged if not torch.equal(merged[k], stage2_weights[k])}
    assert changed and all(k.startswith(('projector.', 'language_model.model.layers.')) for k in changed)
    assert not any(k.startswith('vision_tower.') for k in changed)  # CLIP's q/k/v_proj are never adapted
    assert all(k.endswith(('q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'o_proj.weight', 'gate_proj.weight',
                           'up_proj.weight', 'down_proj.weight')) for k in changed if k.startswith('language_'))

    # The merged model computes what base + adapter compute.
    model = get_model(merged_dir)
    base = get_model(tmp_path / 'w2/model')
    base.load_state_dict({k: v for k, v in merged.items() if k.startswith('projector.')}, strict=False)
    base.language_model = PeftModel.from_pretrained(base.language_model, str(adapter))
    from mmpretrain.structures import DataSample
    from llava_mm.apis.inference import _build_pipeline, _load_input
    from mmengine.dataset import pseudo_collate
    data = model.data_preprocessor(pseudo_collate([_build_pipeline(model, False)(_load_input(images[0]))]))
    with torch.no_grad():
        ours = model(data['images'], [DataSample(question='What is it?')], mode='tensor')
        reference = base(data['images'], [DataSample(question='What is it?')], mode='tensor')
    torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-4)  # float32 rounding of W + BA
    result = inference_model(model, images[0], 'What color is the circle?', max_new_tokens=5)
    assert set(result) == {'question', 'pred_answer'} and isinstance(result['pred_answer'], str)


def short_answer_set(scenes, out, count=32):
    """``count`` one-round conversations (a short-answer question per scene) in LLaVA-Instruct json."""
    import json
    records = []
    for sample in json.loads((scenes / 'instruct.json').read_text()):
        turns = sample['conversations']
        pairs = [(q['value'], a['value']) for q, a in zip(turns[::2], turns[1::2]) if 'single word' in q['value']]
        if pairs:
            question = pairs[0][0].replace('<image>', '').strip()
            records.append({'id': sample['id'], 'image': sample['image'], 'conversations': [
                {'from': 'human', 'value': '<image>\n' + question}, {'from': 'gpt', 'value': pairs[0][1]}]})
    assert len(records) >= count
    out.write_text(json.dumps(records[:count]))
    return records[:count]


def test_tiny_model_overfits_32_conversations(start, tmp_path_factory, tmp_path):
    """Loss falls at least 10x and greedy generation gives back the trained replies."""
    scenes = make_scene_data(tmp_path_factory.mktemp('scenes32'), num_images=40, seed=9)
    records = short_answer_set(scenes, scenes / 'overfit.json')
    config = write_train_config(tmp_path / 'cfg.py', start, scenes, 'overfit.json', global_batch_size=8,
                                batch_size=8, max_epochs=60, lr=3e-3, model=dict(freeze=()))
    train(config, tmp_path / 'w')
    curve = losses(tmp_path / 'w')
    assert curve[-1] * 10 <= curve[0], (curve[0], curve[-1])
    model = get_model(tmp_path / 'w/model')
    images = [str(scenes / r['image']) for r in records]
    questions = [r['conversations'][0]['value'].split('\n', 1)[1] for r in records]
    answers = inference_model(model, images, questions, max_new_tokens=8, batch_size=16)
    got = [a['pred_answer'] for a in answers]
    expected = [r['conversations'][1]['value'] for r in records]
    assert got == expected


def test_stage1_starts_from_a_llama_and_a_clip_checkpoint(scenes, tmp_path):
    """``init_from``: the language model from a transformers LLaMA directory (.bin shards), the vision tower
    from a CLIP directory, a fresh projector; stage 1 then trains the projector only."""
    import sys
    sys.path.insert(0, str(REPO / 'tests/test_converters'))
    from tiny_checkpoints import CLIP, LLAMA, make_clip_dir, make_llama_base

    from llava_mm.converters import load_part
    from llava_mm.models.builder import llava_model_config
    clip = make_clip_dir(tmp_path / 'clip')
    make_llama_base(tmp_path / 'vicuna', fmt='bin')
    vocab = load_part('language_model', str(tmp_path / 'vicuna'))['language_model.lm_head.weight'].shape[0]
    model_cfg = llava_model_config(CLIP, dict(LLAMA, vocab_size=vocab), tokenizer=str(tmp_path / 'vicuna'))
    config = write_train_config(
        tmp_path / 'cfg.py', None, scenes, 'pretrain.json', template='plain', stage='pretrain', model_cfg=model_cfg,
        tokenizer=tmp_path / 'vicuna', model=dict(freeze=('vision_tower', 'language_model')),
        extra=f"init_from = dict(language_model={str(tmp_path / 'vicuna')!r}, vision_tower={str(clip)!r})")
    train(config, tmp_path / 'w')
    trained = weights(tmp_path / 'w/model')
    for part, source in (('language_model', tmp_path / 'vicuna'), ('vision_tower', clip)):
        expected = load_part(part, str(source))
        assert {k for k in trained if k.startswith(part + '.')} == set(expected)
        assert all(torch.equal(trained[k], expected[k].float()) for k in expected), part
    with pytest.raises(ValueError, match="init_from.vision_tower=.* is not a CLIP checkpoint"):
        load_part('vision_tower', str(tmp_path / 'w/model'))


def test_validation_during_training_with_a_project_evaluator(start, tmp_path_factory, tmp_path):
    """``val_dataloader`` / ``val_evaluator`` / ``val_cfg`` run any llava_mm metric between epochs."""
    import json

    from llava_mm.scenes import write_scenes
    data = tmp_path_factory.mktemp('val_scenes')
    write_scenes(data, num_images=8, seed=21, outputs=('instruct', 'vqa'), questions_per_image=1)
    val = f"""
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VQAv2', data_root={str(data)!r}, data_prefix='val2014',
                 question_file='annotations/v2_OpenEnded_mscoco_val2014_questions.json',
                 ann_file='annotations/v2_mscoco_val2014_annotations.json', pipeline=test_pipeline))
val_evaluator = dict(type='VQAAcc')
val_cfg = dict()
"""
    config = write_train_config(tmp_path / 'cfg.py', start, data, 'instruct.json', max_epochs=1, extra=val,
                                model=dict(task='vqa', generation_cfg=dict(max_new_tokens=3)))
    out = train(config, tmp_path / 'w')
    log = out.stdout + out.stderr
    assert 'Iter(val) [2/2]' in log and 'VQA/accuracy:' in log
    scalars = [json.loads(line) for line in next((tmp_path / 'w').glob('*/vis_data/scalars.json')).read_text()
               .splitlines()]
    assert any('VQA/accuracy' in record for record in scalars)
