"""``--amp`` (bfloat16) on a CPU: mmengine's AmpOptimWrapper refuses to start there, AutocastOptimWrapper runs."""
import contextlib
import sys

import pytest
import torch
from training_setup import REPO, losses, make_scene_data, train, weights, write_train_config

from llava_mm.engine import AutocastOptimWrapper
from llava_mm.testing import make_tiny_model_dir


def test_forward_runs_in_bfloat16_and_the_weights_stay_float32():
    model = torch.nn.Linear(8, 8)
    before = model.weight.detach().clone()
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 8))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32 and not torch.equal(model.weight, before)  # stepped
    assert model.weight.grad is None  # and zeroed
    assert model(torch.randn(2, 8)).dtype == torch.float32  # outside the context: untouched


class RecordsNoSync(torch.nn.Module):
    """A stand-in for a DDP-wrapped model: records when gradient sync is skipped."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)
        self.skipped = []

    @contextlib.contextmanager
    def no_sync(self):
        self.skipped.append(True)
        yield


def test_accumulation_skips_sync_on_all_but_the_last_micro_batch_and_steps_once():
    model = RecordsNoSync()
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    wrapper.initialize_count_status(model, 0, 2)
    before = model.linear.weight.detach().clone()
    dtypes = []
    for micro_batch in range(2):
        with wrapper.optim_context(model):
            out = model.linear(torch.randn(2, 4))
        dtypes.append(out.dtype)
        wrapper.update_params(out.float().pow(2).mean())
        if micro_batch == 0:
            assert torch.equal(model.linear.weight, before)  # accumulating: no step yet
    assert dtypes == [torch.bfloat16, torch.bfloat16] and model.skipped == [True]
    assert not torch.equal(model.linear.weight, before)


def test_float16_and_unknown_dtypes_are_refused_with_the_reason():
    for dtype in ('float16', 'bf16'):
        with pytest.raises(ValueError, match='only bfloat16 trains without loss scaling'):
            AutocastOptimWrapper(optimizer=torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1), dtype=dtype)


def test_train_py_amp_picks_the_wrapper_for_the_dtype(tmp_path):
    sys.path.insert(0, str(REPO / 'tools'))
    try:
        from train import build_config, parse_args
    finally:
        sys.path.remove(str(REPO / 'tools'))
    config = str(REPO / 'configs/llava/llava-7b-v1.5_finetune.py')
    picked = {}
    for flag in ([], ['--amp'], ['--amp', 'float16']):
        cfg = build_config(parse_args([config, '--work-dir', str(tmp_path), *flag]))
        picked[' '.join(flag)] = (cfg.optim_wrapper.get('type'), cfg.optim_wrapper.get('dtype'))
    assert picked == {'': ('OptimWrapper', None), '--amp': ('AutocastOptimWrapper', 'bfloat16'),
                      '--amp float16': ('AmpOptimWrapper', 'float16')}


def test_train_py_amp_trains_on_cpu(tmp_path_factory, tmp_path):
    start = make_tiny_model_dir(tmp_path_factory.mktemp('start') / 'tiny', 'v1.5', image_size=56)
    scenes = make_scene_data(tmp_path_factory.mktemp('scenes'), num_images=8, seed=3)
    config = write_train_config(tmp_path / 'cfg.py', start, scenes, 'instruct.json', global_batch_size=4,
                                batch_size=4, max_epochs=2)
    train(config, tmp_path / 'fp32')
    train(config, tmp_path / 'bf16', '--amp')
    assert "type='AutocastOptimWrapper'" in (tmp_path / 'bf16/cfg.py').read_text()
    fp32, bf16 = weights(tmp_path / 'fp32/model'), weights(tmp_path / 'bf16/model')
    assert all(t.dtype == torch.float32 for t in bf16.values())  # master weights stay float32
    assert any(not torch.equal(fp32[k], bf16[k]) for k in fp32)  # (float32 runs are bit-exact: test_train.py)
    a, b = losses(tmp_path / 'fp32'), losses(tmp_path / 'bf16')
    assert len(a) == len(b) == 4 and b[-1] < b[0]  # it learns
    assert abs(a[0] - b[0]) < 0.05 * a[0]  # the same first step, at bfloat16's precision
