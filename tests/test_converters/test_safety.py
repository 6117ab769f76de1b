"""Never unpickle arbitrary objects: a checkpoint with a code payload is refused and the payload never runs."""
import os
import subprocess
import sys

import pytest
import torch
from converter_testing import load_script
from tiny_checkpoints import write_shards

from llava_mm.converters import UnsafeCheckpointError, load_state_dict


class Payload:
    """What a malicious checkpoint carries: unpickling it runs a shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def malicious_checkpoint(path, marker):
    torch.save({'state_dict': {'language_model.lm_head.weight': torch.zeros(2, 2)}, 'meta': Payload(marker)}, path)
    return path


def test_the_payload_is_live(tmp_path):
    """Control: a plain (unsafe) torch.load really runs it - so the tests below are meaningful."""
    ckpt = malicious_checkpoint(tmp_path / 'evil.pth', tmp_path / 'pwned')
    subprocess.run([sys.executable, '-c', f'import torch; torch.load({str(ckpt)!r}, weights_only=False)'], check=True)
    assert (tmp_path / 'pwned').exists()


@pytest.mark.parametrize('suffix', ['.pth', '.bin'])
def test_checkpoint_with_code_payload_is_refused(tmp_path, suffix):
    marker = tmp_path / 'pwned'
    ckpt = malicious_checkpoint(tmp_path / f'evil{suffix}', marker)
    with pytest.raises(UnsafeCheckpointError, match=f'Refusing to load {ckpt}.*references posix.system'):
        load_state_dict(str(ckpt))
    assert not marker.exists()


def test_payload_in_a_base_shard_stops_the_merge(base_and_delta, clip_dir, tmp_path):
    base_dir, delta_dir, base, _ = base_and_delta
    evil_base = tmp_path / 'evil-base'
    marker = tmp_path / 'pwned'
    write_shards(evil_base, base, 2, 'bin')
    (evil_base / 'config.json').write_bytes((base_dir / 'config.json').read_bytes())
    torch.save({'model.norm.weight': base['model.norm.weight'], 'x': Payload(marker)},
               evil_base / 'pytorch_model-00002-of-00002.bin')
    with pytest.raises(UnsafeCheckpointError, match='pytorch_model-00002-of-00002.bin'):
        load_script('llava-delta2mmpre.py').main([str(evil_base), str(delta_dir), str(tmp_path / 'out'),
                                                  '--vision-tower', str(clip_dir), '--no-progress'])
    assert not marker.exists() and not (tmp_path / 'out').exists()


def test_numpy_data_in_meta_is_allowed(tmp_path):
    """mmengine checkpoints keep numpy scalars / arrays in ``meta``: plain data, loaded."""
    import numpy as np
    ckpt = tmp_path / 'mmengine.pth'
    weights = {'language_model.lm_head.weight': torch.ones(2, 2)}
    torch.save({'state_dict': weights, 'meta': {'seed': np.int64(3), 'hist': np.arange(3.0), 'dt': np.dtype('f4')}},
               ckpt)
    assert torch.equal(load_state_dict(str(ckpt))['language_model.lm_head.weight'], torch.ones(2, 2))
