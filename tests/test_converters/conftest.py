"""Session fixtures: tiny models and checkpoints in every layout the converters handle."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tiny_checkpoints import IMAGE_SIZE, make_clip_dir, make_delta, make_llama_base  # noqa: E402


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No test may reach the network: hub lookups fail fast instead (also on machines that are online)."""
    import huggingface_hub.constants
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_OFFLINE', True)


@pytest.fixture(scope='session')
def clip_dir(tmp_path_factory) -> Path:
    return make_clip_dir(tmp_path_factory.mktemp('clip') / 'clip-vit-tiny')


@pytest.fixture(scope='session')
def base_and_delta(tmp_path_factory):
    """``(base_dir, delta_dir, base_state_dict, delta_state_dict)``: a LLaMA base as sharded .bin with an index
    and a v1 delta as sharded safetensors, both float16."""
    root = tmp_path_factory.mktemp('delta')
    base = make_llama_base(root / 'llama-tiny', fmt='bin')
    delta = make_delta(root / 'llava-tiny-delta', base)
    return root / 'llama-tiny', root / 'llava-tiny-delta', base, delta


@pytest.fixture(scope='session')
def tiny_v15_dir(tmp_path_factory) -> Path:
    from llava_mm.testing import make_tiny_model_dir
    return make_tiny_model_dir(tmp_path_factory.mktemp('v15') / 'llava-tiny-v1.5', 'v1.5', image_size=IMAGE_SIZE)


@pytest.fixture(scope='session')
def tiny_v15_sp_dir(tmp_path_factory) -> Path:
    """The tiny v1.5 model with a LLaMA-style SentencePiece tokenizer (tokenizer.model), as liuhaotian/* ship."""
    from llava_mm.testing import make_tiny_model_dir
    return make_tiny_model_dir(tmp_path_factory.mktemp('v15sp') / 'llava-tiny-v1.5-sp', 'v1.5', image_size=IMAGE_SIZE,
                               tokenizer='sentencepiece')


@pytest.fixture(scope='session')
def tiny_v1_dir(tmp_path_factory) -> Path:
    from llava_mm.testing import make_tiny_model_dir
    return make_tiny_model_dir(tmp_path_factory.mktemp('v1') / 'llava-tiny-v1', 'v1', image_size=IMAGE_SIZE)


@pytest.fixture(scope='session')
def image(tmp_path_factory) -> Path:
    """A non-square RGB image file (exercises padding / resizing)."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp('img') / 'cat.png'
    Image.fromarray(rng.integers(0, 255, (45, 70, 3), dtype=np.uint8)).save(path)
    return path
