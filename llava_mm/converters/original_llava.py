"""Original LLaVA (haotian-liu/LLaVA ``LlavaLlamaForCausalLM``) -> llava_mm: directories and v1 deltas.

These checkpoints (v1 deltas, merged v1.5 such as ``liuhaotian/llava-v1.5-7b``)
hold the language model and ``mm_projector`` only; the vision tower is the
CLIP checkpoint that ``config.json`` names in ``mm_vision_tower``. Like original
LLaVA's builder, which runs the tower in the language model's half precision,
the CLIP weights are cast to the language model's dtype.

``merge_delta`` merges a v1 delta into its LLaMA base with original LLaVA's
``apply_delta`` arithmetic (llava/model/apply_delta.py), bit for bit:

* base and delta are taken in float16 (``from_pretrained(torch_dtype=float16)``)
  and added in float16 (``delta += base``);
* ``embed_tokens`` / ``lm_head`` rows beyond the base vocabulary (the image
  tokens LLaVA v1 added) are the delta's (``delta[:h, :w] += base``);
* ``mm_projector`` is copied from the delta, rotary ``inv_freq`` buffers are
  dropped, and the delta's tokenizer (with its added tokens) is kept.

Unlike ``apply_delta`` nothing is loaded whole: every name and shape is
validated from the file headers first (errors name the tensor), then tensors
are read, added and written one at a time, so memory is bounded by the largest
tensors in flight. The vision weights come from the CLIP checkpoint the delta
names, cast to float16. The output is written atomically.
"""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import torch
from mmengine.config import Config
from transformers import CLIPVisionConfig

from llava_mm.fileio import atomic_output, check_output, scratch_dir
from llava_mm.models.builder import PROJECTORS, llava_model_config
from llava_mm.models.language_model import build_tokenizer
from .fetch import fetch_model_dir
from .hf_config import (clip_vision_config, clip_vision_kwargs, data_preprocessor_from_image_processor,
                        image_processor_config, llama_kwargs, pipeline_from_image_processor, read_json)
from .key_maps import CLIP_VISION, ORIGINAL_LLAVA, ROTARY_CACHE, vision_names
from .key_rules import KeyMap
from .llava_mm_dir import (CheckpointMismatchError, check_fits_model, has_tokenizer_files, is_llava_mm_dir,
                           write_llava_mm_files)
from .tensor_io import (DEFAULT_SHARD_BYTES, NamedTensors, Spec, TensorSource, TensorStream, total_bytes,
                        with_progress)

DEFAULT_VISION_TOWER = 'openai/clip-vit-large-patch14'
#: The CLIP checkpoints LLaVA was trained with, by input resolution.
CLIP_BY_IMAGE_SIZE = {224: 'openai/clip-vit-large-patch14', 336: 'openai/clip-vit-large-patch14-336'}
_FEATURES = ('patch', 'cls_patch')
EMBED = 'language_model.model.embed_tokens.weight'


def is_original_llava_config(raw: dict) -> bool:
    return 'text_config' not in raw and ('mm_vision_tower' in raw or 'mm_hidden_size' in raw or any(
        a.startswith('Llava') and 'ForCausalLM' in a for a in raw.get('architectures') or ()))


def config_from_original(config_json: Union[dict, str, Path],
                         vision_config: Union[CLIPVisionConfig, dict],
                         image_processor: Optional[dict] = None) -> Config:
    """llava_mm config for an original LLaVA ``config.json`` (delta or merged) and its CLIP tower.

    Args:
        config_json: the parsed ``config.json`` (or its path).
        vision_config: the CLIP vision config (object or kwargs) of ``mm_vision_tower``.
        image_processor: the CLIP checkpoint's image processor settings, if it has any.
    """
    source = 'config.json'
    if not isinstance(config_json, dict):
        source = str(config_json)
        config_json = read_json(Path(config_json))
    raw = config_json
    vision = vision_config if isinstance(vision_config, CLIPVisionConfig) else CLIPVisionConfig(**vision_config)
    text = llama_kwargs(raw, source)
    projector = raw.get('mm_projector_type', 'linear')
    if projector not in PROJECTORS:
        raise ValueError(f'{source}: mm_projector_type={projector!r} is not supported '
                         f'(supported: {sorted(PROJECTORS)})')
    feature = raw.get('mm_vision_select_feature', 'patch')
    if feature not in _FEATURES:
        raise ValueError(f'{source}: mm_vision_select_feature={feature!r} is not supported')
    aspect = raw.get('image_aspect_ratio', 'square')
    if aspect not in ('square', 'pad', None) or raw.get('mm_patch_merge_type', 'flat') != 'flat':
        raise ValueError(f'{source}: image_aspect_ratio={aspect!r} / mm_patch_merge_type='
                         f'{raw.get("mm_patch_merge_type")!r} (LLaVA-NeXT any-resolution) is not supported')
    mm_hidden = raw.get('mm_hidden_size', vision.hidden_size)
    if mm_hidden != vision.hidden_size:
        raise ValueError(f'{source}: mm_hidden_size={mm_hidden} but the CLIP vision tower has hidden_size '
                         f'{vision.hidden_size}: wrong vision tower?')
    ip = dict(image_processor or dict(size={'shortest_edge': vision.image_size},
                                      crop_size={'height': vision.image_size, 'width': vision.image_size}))
    ip['do_pad'] = aspect == 'pad'
    model = llava_model_config(
        clip_vision_kwargs(vision), text, projector=projector,
        feature_layer=raw.get('mm_vision_select_layer', -2), feature_select=feature,
        prompt_template='llava_v1' if raw.get('mm_use_im_start_end') else 'vicuna_v1',
        data_preprocessor=data_preprocessor_from_image_processor(ip))
    return Config(dict(default_scope='llava_mm', model=model,
                       test_pipeline=pipeline_from_image_processor(ip, source)))


def vision_tower_id(raw: dict, override: Optional[str] = None) -> str:
    return override or raw.get('mm_vision_tower') or DEFAULT_VISION_TOWER


def clip_dir(name_or_path: str) -> Path:
    try:
        return fetch_model_dir(name_or_path)
    except (OSError, FileNotFoundError) as err:
        raise OSError(f'The vision tower comes from the CLIP checkpoint {name_or_path!r}, which is not '
                      f'available: {err} Pass a local CLIP directory with --vision-tower (vision_tower=).') from err


def clip_vision_tensors(path: Path, dtype: Optional[torch.dtype] = None) -> NamedTensors:
    """``vision_tower.*`` tensors of a transformers CLIP (vision) checkpoint."""
    for name, tensor in CLIP_VISION.convert(TensorSource(path)):
        yield name, tensor if dtype is None else tensor.to(dtype)


def clip_vision_specs(path: Path, dtype: Optional[torch.dtype] = None) -> Dict[str, Spec]:
    specs = CLIP_VISION.convert_specs(TensorSource(path).dtype_shapes())
    return {n: (dtype or d, s) for n, (d, s) in specs.items()}


def clip_config(path: Path) -> Tuple[CLIPVisionConfig, Optional[dict]]:
    if not (path / 'config.json').is_file():
        raise FileNotFoundError(f'{path} has no config.json: not a transformers CLIP checkpoint')
    return clip_vision_config(read_json(path / 'config.json'), str(path)), image_processor_config(path)


def config_from_original_dir(path: Path, vision_tower: Optional[str] = None) -> Config:
    raw = read_json(path / 'config.json')
    vision, ip = clip_config(clip_dir(vision_tower_id(raw, vision_tower)))
    cfg = config_from_original(raw, vision, ip)
    cfg.model.tokenizer.name_or_path = str(path)
    return cfg


def with_clip_vision(stream: TensorStream, clip: Path, dtype: torch.dtype) -> TensorStream:
    """``stream`` plus the vision tower of a CLIP checkpoint (cast to ``dtype``), vision first."""
    specs = {**clip_vision_specs(clip, dtype), **stream.specs}

    def tensors():
        yield from clip_vision_tensors(clip, dtype)
        yield from stream.tensors

    return TensorStream(specs, tensors(), stream.tokenizer_dir)


def original_llava_stream(path: Path, vision_tower: Optional[str] = None) -> TensorStream:
    """llava_mm-named tensors of an original LLaVA directory, vision tower from its CLIP checkpoint."""
    path = Path(path)
    raw = read_json(path / 'config.json')
    source = TensorSource(path)
    stream = TensorStream(ORIGINAL_LLAVA.convert_specs(source.dtype_shapes()), ORIGINAL_LLAVA.convert(source), path)
    if vision_names(stream.specs):
        return stream
    dtype = stream.specs[EMBED][0]
    return with_clip_vision(stream, clip_dir(vision_tower_id(raw, vision_tower)), dtype)


def complete_vision_tower(stream: TensorStream, cfg: Optional[Config], vision_tower: Optional[str],
                          source: str) -> TensorStream:
    """Add CLIP vision weights to a checkpoint saved without them (original LLaVA / mmpretrain files)."""
    if vision_names(stream.specs) or EMBED not in stream.specs:
        return stream
    if vision_tower is None:
        if cfg is None:
            raise ValueError(f'{source} has no vision tower weights; pass the config (cfg=) or the CLIP '
                             'checkpoint (vision_tower=) to take them from')
        image_size = cfg.model.vision_tower.vision_config.get('image_size', 224)
        vision_tower = CLIP_BY_IMAGE_SIZE.get(image_size)
        if vision_tower is None:
            raise ValueError(f'{source} has no vision tower weights and no standard CLIP checkpoint has image size '
                             f'{image_size}; pass vision_tower=')
    return with_clip_vision(stream, clip_dir(vision_tower), stream.specs[EMBED][0])


# ---------------------------------------- v1 delta merge
MERGE_DTYPE = torch.float16
#: Tensors whose rows may extend beyond the base (tokens the delta added).
VOCAB_TENSORS = ('model.embed_tokens.weight', 'lm_head.weight')
_SKIP = KeyMap('rotary caches', [ROTARY_CACHE])


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
        raise DeltaMismatchError.listing(f'Base {base_dir} and delta {delta_dir} do not fit together', problems)

    delta_specs = {n: (MERGE_DTYPE, delta_src.specs[n].shape) for n in delta_names}
    merged_specs = ORIGINAL_LLAVA.convert_specs(delta_specs)
    # A delta normally carries no vision weights: they come from the CLIP checkpoint it names (whose
    # config is needed either way).
    vision_dir = clip_dir(vision_tower_id(raw, vision_tower))
    vision_config, image_processor = clip_config(vision_dir)
    config = config_from_original(raw, vision_config, image_processor)
    config.model.language_model.update(_special_token_ids(delta_dir))
    if any(n.startswith('vision_tower.') for n in merged_specs):
        vision_dir, specs = None, merged_specs
    else:
        specs = {**clip_vision_specs(vision_dir, MERGE_DTYPE), **merged_specs}
    check_fits_model(config, specs, f'{base_dir} + {delta_dir}')
    return MergePlan(base_src, delta_src, delta_dir, config, vision_dir, specs, delta_names)


def _special_token_ids(tokenizer_dir: Path) -> Dict[str, int]:
    """The merged model's special-token ids: its tokenizer's (LLaMA's bos 1, eos 2, pad = unk 0). A v1 delta's
    config.json has those of the early LLaMA conversion (bos 0, eos 1, pad -1), which no tokenizer uses."""
    tokenizer = build_tokenizer(str(tokenizer_dir))  # pad = unk, as llava_mm (and LLaVA) pad
    return dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id)


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
    tensors = with_progress(merged_tensors(plan), total_bytes(plan.specs), 'Merging', progress)
    write_llava_mm_files(tmp, plan.specs, tensors, plan.config, plan.delta_dir, max_shard_bytes)


def _write_pth(plan: MergePlan, tmp_file: Path, out: Path, max_shard_bytes: int, progress: bool) -> None:
    """One ``.pth``: the merged directory is written next to it first, then saved from memory maps of it."""
    with scratch_dir(out) as work:
        _write_dir(plan, Path(work), max_shard_bytes, progress)
        state_dict = TensorSource(work).memory_mapped()
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
    is_pth = str(out).endswith('.pth')
    same_kind = None if is_pth else is_llava_mm_dir
    check_output(out, force, 'file' if is_pth else 'dir', same_kind)
    plan = plan_merge(base, delta, vision_tower)
    with atomic_output(out, force=force, is_dir=not is_pth, is_same_kind=same_kind) as tmp:
        if is_pth:
            _write_pth(plan, tmp, Path(out), max_shard_bytes, progress)
        else:
            _write_dir(plan, tmp, max_shard_bytes, progress)
    return Path(out)
