"""``--amp`` (bfloat16) on a CPU: mmengine's AmpOptimWrapper refuses to start there, AutocastOptimWrapper runs."""
import contextlib

import pytest
import torch
from training_setup import REPO, load_script

from llava_mm.engine import AutocastOptimWrapper


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
    train_py = load_script(REPO / 'tools/train.py')
    config = str(REPO / 'configs/llava/llava-7b-v1.5_finetune.py')
    picked = {}
    for flag in ([], ['--amp'], ['--amp', 'float16']):
        cfg = train_py.build_config(train_py.parse_args([config, '--work-dir', str(tmp_path), *flag]))
        picked[' '.join(flag)] = (cfg.optim_wrapper.get('type'), cfg.optim_wrapper.get('dtype'))
    assert picked == {'': ('OptimWrapper', None), '--amp': ('AutocastOptimWrapper', 'bfloat16'),
                      '--amp float16': ('AmpOptimWrapper', 'float16')}
