"""Merge an original LLaVA delta into its LLaMA base, streaming, into a llava_mm model.

The arithmetic is original LLaVA's ``apply_delta`` (llava/model/apply_delta.py),
bit for bit:

* base and delta are taken in float16 (``from_pretrained(torch_dtype=float16)``)
  and added in float16 (``delta += base``);
* ``embed_tokens`` / ``lm_head`` rows beyond the base vocabulary (the image
  tokens LLaVA v1 added) are the delta's (``delta[:h, :w] += base``);
* ``mm_projector`` is copied from the delta, rotary ``inv_freq`` buffers are
  dropped, and the delta's tokenizer (with its added tokens) is kept.

Unlike ``apply_delta`` nothing is loaded whole: every name and shape is
validated from the file headers first (errors name the tensor), then tensors
are read, added and written one at a time, so memory is bounded by the largest
tensors in flight. The delta carries no vision weights; they come from the CLIP
checkpoint the delta names (``mm_vision_tower``), cast to float16 as LLaVA's
builder does. The output is written atomically.
"""
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.config import Config

from ..fileio import atomic_output, check_output
from .checks import CheckpointMismatchError, check_fits_model, total_bytes, with_progress
from .fetch import fetch_model_dir
from .hf_config import read_json
from .key_maps import ORIGINAL_LLAVA, ROTARY_CACHE
from .key_rules import KeyMap
from .llava_mm_dir import CONFIG_FILE, has_tokenizer_files, save_tokenizer
from .original_llava import (clip_config, clip_dir, clip_vision_specs, clip_vision_tensors, config_from_original,
                             is_original_llava_config, vision_tower_id)
from .safetensors_writer import DEFAULT_SHARD_BYTES, ShardedSafetensorsWriter
from .tensor_io import TensorSource, read_safetensors_header

MERGE_DTYPE = torch.float16
#: Tensors whose rows may extend beyond the base (tokens the delta added).
VOCAB_TENSORS = ('model.embed_tokens.weight', 'lm_head.weight')
_SKIP = KeyMap('rotary caches', [ROTARY_CACHE])

Spec = Tuple[torch.dtype, Tuple[int, ...]]


class DeltaMismatchError(CheckpointMismatchError):
    """Base and delta do not fit together (names or shapes); raised before anything is written."""


class WrongModelTypeError(ValueError):
    """An input that is not the kind of model the merge needs (LLaMA base, LLaVA delta)."""


@dataclass
class MergePlan:
    """Everything known before reading any weights."""
    base: TensorSource
    delta: TensorSource
    delta_dir: Path
    config: Config
    vision_dir: Optional[Path]
    specs: Dict[str, Spec]          # llava_mm names -> (dtype, shape), in write order
    merged_names: List[str]         # delta names (original spelling) in read order


def _kept(names) -> List[str]:
    return [n for n in names if not _SKIP.accepts(n)]


def plan_merge(base: str, delta: str, vision_tower: Optional[str] = None) -> MergePlan:
    """Resolve inputs and validate base vs delta from headers only; ``DeltaMismatchError`` names the tensor."""
    base_dir, delta_dir = fetch_model_dir(base), fetch_model_dir(delta)
    base_src, delta_src = TensorSource(base_dir), TensorSource(delta_dir)
    if not (delta_dir / 'config.json').is_file():
        raise FileNotFoundError(f'{delta_dir} has no config.json: not an original LLaVA delta')
    raw = read_json(delta_dir / 'config.json')
    if not is_original_llava_config(raw):
        raise WrongModelTypeError(f'{delta_dir} holds a {raw.get("model_type", "unknown")!r} model, not an original '
                                  'LLaVA delta (LlavaLlamaForCausalLM with mm_vision_tower in config.json)')
    if (base_dir / 'config.json').is_file():
        base_type = read_json(base_dir / 'config.json').get('model_type', 'llama')
        if base_type != 'llama':
            raise WrongModelTypeError(f'{base_dir} holds a {base_type!r} model; the base of a LLaVA delta is LLaMA')
    if not has_tokenizer_files(delta_dir):
        raise FileNotFoundError(f'{delta_dir} has no tokenizer files: the merged model keeps the delta\'s tokenizer')

    problems = []
    base_names, delta_names = set(_kept(base_src.names())), _kept(delta_src.names())
    for name in delta_names:
        d_shape = delta_src.specs[name].shape
        if not ORIGINAL_LLAVA.accepts(name):
            problems.append(f'{name}: not an original LLaVA tensor name')
        elif name not in base_names:
            if not name.startswith(('model.mm_projector', 'model.vision_tower.')):
                problems.append(f'{name}: in the delta but missing from the base')
        else:
            b_shape = base_src.specs[name].shape
            grows = name in VOCAB_TENSORS and len(b_shape) == len(d_shape) == 2 and \
                all(d >= b for d, b in zip(d_shape, b_shape))
            if d_shape != b_shape and not grows:
                problems.append(f'{name}: shape {tuple(d_shape)} in the delta vs {tuple(b_shape)} in the base')
    missing = sorted(base_names - set(delta_names))
    problems += [f'{name}: in the base but missing from the delta' for name in missing]
    if problems:
        shown = '\n  '.join(problems[:20]) + (f'\n  ... ({len(problems)} in all)' if len(problems) > 20 else '')
        raise DeltaMismatchError(f'Base {base_dir} and delta {delta_dir} do not fit together:\n  {shown}')

    delta_specs = {n: (MERGE_DTYPE, delta_src.specs[n].shape) for n in delta_names}
    merged_specs = ORIGINAL_LLAVA.convert_specs(delta_specs)
    # A delta normally carries no vision weights: they come from the CLIP checkpoint it names (whose
    # config is needed either way).
    vision_dir = clip_dir(vision_tower_id(raw, vision_tower))
    vision_config, image_processor = clip_config(vision_dir)
    config = config_from_original(raw, vision_config, image_processor)
    if any(n.startswith('vision_tower.') for n in merged_specs):
        vision_dir, specs = None, merged_specs
    else:
        specs = {**clip_vision_specs(vision_dir, MERGE_DTYPE), **merged_specs}
    check_fits_model(config, specs, f'{base_dir} + {delta_dir}')
    return MergePlan(base_src, delta_src, delta_dir, config, vision_dir, specs, delta_names)


def apply_delta_tensor(name: str, delta: torch.Tensor, base: Optional[torch.Tensor]) -> torch.Tensor:
    """One tensor of ``apply_delta``: float16, ``delta += base`` (over the base's rows for the vocabulary)."""
    delta = delta.to(MERGE_DTYPE)
    if base is None:
        return delta
    base = base.to(MERGE_DTYPE)
    if delta.shape == base.shape:
        delta += base
    else:
        delta[:base.shape[0], :base.shape[1]] += base
    return delta


def merged_tensors(plan: MergePlan) -> Iterator[Tuple[str, torch.Tensor]]:
    """llava_mm-named merged tensors, one at a time (vision tower first, then the delta's storage order).

    The next delta / base pair is read by a helper thread while the current one
    is added and written (file I/O releases the GIL). Reads go into two pairs
    of reused scratch buffers, so each yielded tensor is valid only until the
    next one is requested - the writer consumes it first - and memory stays at
    four of the largest tensors.
    """
    if plan.vision_dir is not None:
        yield from clip_vision_tensors(plan.vision_dir, MERGE_DTYPE)
    names = plan.merged_names
    scratch = [(torch.empty(plan.delta.max_nbytes(), dtype=torch.uint8),
                torch.empty(plan.base.max_nbytes(), dtype=torch.uint8)) for _ in range(2)]

    def read_pair(i: int):
        delta_scratch, base_scratch = scratch[i % 2]
        name = names[i]
        base = plan.base.read(name, base_scratch) if name in plan.base else None
        return name, plan.delta.read(name, delta_scratch), base

    def original_names():
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix='read-ahead') as pool:
            pending = pool.submit(read_pair, 0) if names else None
            for i in range(len(names)):
                name, delta, base = pending.result()
                if i + 1 < len(names):
                    pending = pool.submit(read_pair, i + 1)
                yield name, apply_delta_tensor(name, delta, base)

    yield from ORIGINAL_LLAVA.convert(original_names())


def _write_dir(plan: MergePlan, tmp: Path, max_shard_bytes: int, progress: bool) -> None:
    cfg = plan.config.copy()
    cfg.model.tokenizer.name_or_path = '.'
    cfg.dump(str(tmp / CONFIG_FILE))
    writer = ShardedSafetensorsWriter(tmp, plan.specs, max_shard_bytes)
    writer.write_all(with_progress(merged_tensors(plan), total_bytes(plan.specs), 'Merging', progress))
    save_tokenizer(plan.delta_dir, tmp)


def _mmap_state_dict(model_dir: Path) -> Dict[str, torch.Tensor]:
    """Tensors backed by (copy-on-write) memory maps of the safetensors files: no copy in memory."""
    import numpy as np
    tensors = {}
    for file in sorted(model_dir.glob('*.safetensors')):
        for name, spec in read_safetensors_header(file).items():
            if spec.nbytes == 0:
                tensors[name] = torch.empty(spec.shape, dtype=spec.dtype)
                continue
            raw = np.memmap(file, dtype=np.uint8, mode='c', offset=spec.offset, shape=(spec.nbytes, ))
            tensors[name] = torch.from_numpy(raw).view(spec.dtype).reshape(spec.shape)
    return tensors


def _write_pth(plan: MergePlan, tmp_file: Path, max_shard_bytes: int, progress: bool) -> None:
    with tempfile.TemporaryDirectory(prefix=f'.{tmp_file.name}.', dir=tmp_file.parent) as work:
        _write_dir(plan, Path(work), max_shard_bytes, progress)
        state_dict = _mmap_state_dict(Path(work))
        ordered = {n: state_dict[n] for n in plan.specs}
        torch.save({'state_dict': ordered, 'meta': {'llava_mm_config': plan.config.pretty_text}}, tmp_file)


def merge_delta(base: str, delta: str, out: str, vision_tower: Optional[str] = None, force: bool = False,
                max_shard_bytes: int = DEFAULT_SHARD_BYTES, progress: bool = True) -> Path:
    """Merge ``delta`` into ``base`` and write ``out``.

    Args:
        base: LLaMA base weights: a directory or hub id (``.safetensors`` or
            ``.bin``, single or sharded with an index).
        delta: the original LLaVA delta (directory or hub id).
        out: a llava_mm model directory, or a single ``.pth`` file when it ends
            in ``.pth`` (for ``get_model(config, pretrained=out)``).
        vision_tower: CLIP checkpoint to take the vision tower from instead of
            the delta's ``mm_vision_tower``.
        force: replace an existing ``out``.
    """
    check_output(out, force)
    plan = plan_merge(base, delta, vision_tower)
    is_pth = str(out).endswith('.pth')
    with atomic_output(out, force=force, is_dir=not is_pth) as tmp:
        if is_pth:
            _write_pth(plan, tmp, max_shard_bytes, progress)
        else:
            _write_dir(plan, tmp, max_shard_bytes, progress)
    return Path(out)
