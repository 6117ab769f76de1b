"""Checks that run before anything is written: do the tensors fit the model?"""
from typing import Dict, Tuple

import torch
from mmengine.config import Config

Spec = Tuple[torch.dtype, Tuple[int, ...]]


class CheckpointMismatchError(ValueError):
    """Tensors that do not fit the model (names or shapes); raised before anything is written."""


def check_fits_model(config: Config, specs: Dict[str, Spec], source: str) -> None:
    """The tensors must be exactly the model's parameters: same names, same shapes.

    The model is built on the meta device from ``config`` (no memory, no tokenizer).
    """
    from llava_mm.registry import MODELS
    model_cfg = config.model.copy()
    model_cfg.tokenizer = None  # not needed for shapes
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    expected = {n: tuple(t.shape) for n, t in model.state_dict().items()}
    problems = [f'{n}: missing' for n in expected if n not in specs]
    problems += [f'{n}: not a parameter of the model' for n in specs if n not in expected]
    problems += [f'{n}: shape {tuple(specs[n][1])} but the model expects {expected[n]}'
                 for n in specs if n in expected and tuple(specs[n][1]) != expected[n]]
    if problems:
        shown = '\n  '.join(problems[:20]) + (f'\n  ... ({len(problems)} in all)' if len(problems) > 20 else '')
        raise CheckpointMismatchError(f'The weights of {source} do not fit the model its config describes:\n  {shown}')


def with_progress(items, total_bytes: int, desc: str, enabled: bool = True):
    """Pass ``(name, tensor)`` items through, with a tqdm bar counting bytes."""
    if not enabled:
        yield from items
        return
    from tqdm import tqdm
    with tqdm(total=total_bytes, unit='B', unit_scale=True, unit_divisor=1024, desc=desc) as bar:
        for name, tensor in items:
            yield name, tensor
            bar.update(tensor.numel() * tensor.element_size())


def total_bytes(specs: Dict[str, Spec]) -> int:
    total = 0
    for dtype, shape in specs.values():
        numel = 1
        for d in shape:
            numel *= d
        total += numel * torch.empty((), dtype=dtype).element_size()
    return total
