"""Trained models to disk: a llava_mm model directory, or a LoRA adapter that ``merge_lora`` folds back in."""
import copy
import json
from pathlib import Path
from typing import Optional, Union

import torch
from mmengine.config import Config

from llava_mm.apis import get_model
from llava_mm.converters import is_llava_mm_dir, write_llava_mm_dir
from llava_mm.fileio import atomic_output, check_output

ADAPTER_CONFIG = 'llava_mm_adapter.json'
TRAINED_WEIGHTS = 'non_lora_trainables.safetensors'


def inference_config(cfg: Config) -> Config:
    """The ``model`` + ``test_pipeline`` a trained model is served with (training-only switches off)."""
    model = copy.deepcopy(cfg.model)
    model.pop('lora', None)
    model.pop('gradient_checkpointing', None)
    model.pop('freeze', None)
    out = {'default_scope': 'llava_mm', 'model': model}
    if cfg.get('test_pipeline'):
        out['test_pipeline'] = cfg.test_pipeline
    return Config(out)


def save_model_dir(model: torch.nn.Module, cfg: Config, out: Union[str, Path]) -> Path:
    """``out``: config.py + model.safetensors + tokenizer (replaced if a previous run wrote it)."""
    state_dict = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return write_llava_mm_dir(out, state_dict, inference_config(cfg), model.tokenizer, overwrite=True)


def save_lora_adapter(model: torch.nn.Module, cfg: Config, out: Union[str, Path], base: Optional[str]) -> Path:
    """``out``: the peft adapter of the language model, the other trained tensors (projector ...), and what
    ``merge_lora`` needs to rebuild the base model."""
    from safetensors.torch import save_file
    trained = {k: v.detach().cpu().contiguous() for k, v in model.named_parameters()
               if v.requires_grad and 'lora_' not in k}
    with atomic_output(out, force=True) as tmp:
        model.language_model.save_pretrained(str(tmp))
        save_file(trained, str(tmp / TRAINED_WEIGHTS))
        (tmp / ADAPTER_CONFIG).write_text(json.dumps({'base': base, 'lora': model.lora}, indent=2))
        inference_config(cfg).dump(str(tmp / 'config.py'))
        model.tokenizer.save_pretrained(str(tmp))
    return Path(out)


def merge_lora_adapter(adapter: Union[str, Path], out: Union[str, Path], base: Optional[str] = None,
                       force: bool = False) -> Path:
    """Base model + adapter -> a llava_mm model directory with the LoRA weights folded in."""
    from peft import PeftModel
    from safetensors.torch import load_file

    adapter = Path(adapter)
    check_output(out, force, kind='dir', is_same_kind=is_llava_mm_dir)
    meta_file = adapter / ADAPTER_CONFIG
    if not meta_file.is_file():
        raise FileNotFoundError(f'{adapter} is not a llava_mm LoRA adapter directory (no {ADAPTER_CONFIG})')
    meta = json.loads(meta_file.read_text())
    base = base or meta.get('base')
    cfg = Config.fromfile(str(adapter / 'config.py'))
    cfg.model.tokenizer.name_or_path = str(adapter)
    model = get_model(cfg, pretrained=base or False, dtype='float32')
    model.language_model = PeftModel.from_pretrained(model.language_model, str(adapter))
    trained = load_file(str(adapter / TRAINED_WEIGHTS))
    missing = [k for k in trained if k not in dict(model.named_parameters())]
    if missing:
        raise KeyError(f'{adapter / TRAINED_WEIGHTS} holds tensors the model does not have: {missing[:5]}')
    model.load_state_dict(trained, strict=False)
    model.merge_lora()
    state_dict = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    return write_llava_mm_dir(out, state_dict, cfg, str(adapter), overwrite=force)
