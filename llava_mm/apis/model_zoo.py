"""Model zoo: ``list_models`` and ``get_model``, driven by the metafile index."""
import copy
import difflib
import fnmatch
import os
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Union

import torch
import yaml
from mmengine.config import Config
from torch import nn

from llava_mm import converters
from llava_mm.models.builder import resolve_local_tokenizer
from llava_mm.registry import MODELS

PathLike = Union[str, os.PathLike]


def repo_root() -> Path:
    """Where ``configs/``, ``model-index.yml`` and ``demo/`` live.

    An installed package carries them in ``llava_mm/.mim/`` (copied there by
    setup.py's build, OpenMMLab's convention); a checkout or an editable
    install reads them from the repository, the package folder's parent.
    """
    package = Path(__file__).resolve().parent.parent
    installed, checkout = package / '.mim', package.parent
    if (installed / 'model-index.yml').is_file():
        return installed
    if (checkout / 'model-index.yml').is_file() and (checkout / 'configs' / 'llava').is_dir():
        return checkout
    raise FileNotFoundError(f'model-index.yml is neither in {installed} (an installed llava_mm) nor in {checkout} '
                            '(a source checkout): reinstall llava_mm from a wheel or sdist built by its setup.py')


@lru_cache()
def _model_index() -> Dict[str, dict]:
    root = repo_root()
    models = {}
    for metafile in yaml.safe_load((root / 'model-index.yml').read_text())['Import']:
        for entry in yaml.safe_load((root / metafile).read_text())['Models']:
            models[entry['Name']] = entry
    return models


def list_models(pattern: Optional[str] = None) -> List[str]:
    """Names of the models in the index, optionally filtered by a wildcard pattern."""
    names = sorted(_model_index())
    return [n for n in names if fnmatch.fnmatch(n, pattern)] if pattern else names


def _unknown_model(name: str) -> ValueError:
    close = difflib.get_close_matches(name, list_models(), n=3, cutoff=0.4)
    hint = f' Did you mean {", ".join(repr(c) for c in close)}?' if close else ''
    return ValueError(f'Unknown model {name!r}: not a model name, config file or model directory.{hint} '
                      f'See llava_mm.list_models().')


def load_config(path: PathLike) -> Config:
    """A config file, with a relative tokenizer path resolved against the file's own directory."""
    if not Path(path).is_file():
        raise FileNotFoundError(f'Config file not found: {path}')
    cfg = Config.fromfile(str(path))
    if 'model' in cfg:
        resolve_local_tokenizer(cfg.model, str(Path(path).resolve().parent))
    return cfg


def resolve_model(model: Union[str, PathLike, Config], vision_tower: Optional[PathLike] = None) -> tuple:
    """``(config, default_weights)`` for a model name, config file, Config or model directory.

    ``vision_tower`` is the CLIP checkpoint for directories that only name one (original LLaVA).
    """
    if isinstance(model, Config):
        return model, None
    model = str(model)
    if model in _model_index():
        entry = _model_index()[model]
        weights = entry.get('Weights')
        if weights and not weights.startswith(('http://', 'https://', 'hf://')):
            weights = str(repo_root() / weights)  # shipped weights (a model directory): the entry's config applies
        return load_config(repo_root() / entry['Config']), weights
    if model.endswith('.py'):
        return load_config(model), None
    if Path(model).is_dir():
        return converters.config_from_dir(model, _str_or_none(vision_tower)), model
    if converters.looks_like_hub_id(model):
        try:
            path = converters.fetch_model_dir(model)
        except OSError as err:
            raise OSError(f'{model!r} is not a local directory (relative to {os.getcwd()}) and could not be '
                          f'fetched from the Hugging Face hub: {err}') from err
        return converters.config_from_dir(path, _str_or_none(vision_tower)), str(path)
    raise _unknown_model(model)


def load_weights(model: nn.Module, state_dict: Dict[str, torch.Tensor], strict: bool = True,
                 source: str = 'checkpoint') -> None:
    """Load a llava_mm-layout state dict; with ``strict``, any missing, unexpected
    or mis-shaped key is an error that lists the names."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mismatched = sorted(f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(expected[k].shape)}'
                        for k, v in state_dict.items() if k in expected and v.shape != expected[k].shape)
    problems = []
    for label, names in (('missing keys', missing), ('unexpected keys', unexpected),
                         ('mis-shaped keys', mismatched)):
        if names:
            shown = ', '.join(names[:10]) + (f', ... ({len(names)} in all)' if len(names) > 10 else '')
            problems.append(f'{label}: {shown}')
    if mismatched or (strict and problems):
        raise RuntimeError(f'Cannot load {source} into {type(model).__name__}: ' + '; '.join(problems))
    model.load_state_dict(state_dict, strict=False, assign=any(p.is_meta for p in model.parameters()))


DTYPES = {'float32': torch.float32, 'fp32': torch.float32, 'float16': torch.float16, 'fp16': torch.float16,
          'half': torch.float16, 'bfloat16': torch.bfloat16, 'bf16': torch.bfloat16}


#: What the command-line tools offer for ``--dtype``.
DTYPE_CHOICES = ('auto', 'float32', 'float16', 'bfloat16')


def resolve_dtype(dtype: Union[str, torch.dtype, None]) -> Optional[torch.dtype]:
    """``'auto'`` / ``None`` -> ``None`` (keep the checkpoint's); a name or ``torch.dtype`` -> that dtype."""
    if dtype is None or dtype == 'auto':
        return None
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPES.values():
            raise ValueError(f'dtype must be a floating dtype of {sorted(set(DTYPES))}, got {dtype}')
        return dtype
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be 'auto' or one of {sorted(DTYPES)}, got {dtype!r}")
    return DTYPES[dtype]


def check_device(device: Union[str, torch.device, None]) -> Optional[torch.device]:
    """The device, checked before any weight is read: ``cuda`` without CUDA is an error that says so."""
    if device is None:
        return None
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f'Invalid device {device!r}: {err}') from None
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise RuntimeError(f'device={str(device)!r} was requested but CUDA is not available on this machine '
                               f'(torch {torch.__version__}); use device=\'cpu\'')
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(f'device={str(device)!r}: this machine has {torch.cuda.device_count()} CUDA device(s)')
    elif device.type == 'mps' and not (hasattr(torch.backends, 'mps') and torch.backends.mps.is_available()):
        raise RuntimeError(f'device={str(device)!r} was requested but MPS is not available on this machine')
    return device


def _checkpoint_dtype(net: nn.Module) -> torch.dtype:
    """``'auto'``: the dtype of the loaded language model (what LLaVA runs every part in)."""
    return net.language_model.get_input_embeddings().weight.dtype


def get_model(model: Union[str, PathLike, Config],
              pretrained: Union[bool, str, PathLike] = False,
              device: Optional[Union[str, torch.device]] = None,
              dtype: Union[str, torch.dtype, None] = 'auto',
              vision_tower: Optional[PathLike] = None,
              **kwargs) -> nn.Module:
    """Build a LLaVA model by name, config file or model directory.

    Args:
        model: a name from ``list_models()``, a config file, a llava_mm model
            directory, or a transformers llava-hf directory / hub id.
        pretrained: ``False`` (random init; a model directory still loads its
            own weights), ``True`` (the index's weights), or a checkpoint path /
            URL / hub id.
        device: where to put the model; ``'meta'`` builds the architecture only
            (no weights are read, for every model).
        dtype: ``'auto'`` (the checkpoint's: its language model's dtype, float32
            for random init), ``'float32'``, ``'float16'`` or ``'bfloat16'``;
            every floating tensor follows it. float16 on a CPU works but is slow.
        vision_tower: a local CLIP directory (or hub id) to take the vision
            weights from, for checkpoints saved without them (original LLaVA,
            mmpretrain ``.pth``).
        **kwargs: overrides merged into the model config (e.g. ``generation_cfg``).
    """
    target_device = check_device(device)
    target_dtype = resolve_dtype(dtype)
    if target_dtype == torch.float16 and (target_device is None or target_device.type == 'cpu'):
        warnings.warn('dtype=float16 on the CPU is slow (no half-precision kernels); use float32 or bfloat16 there',
                      stacklevel=2)
    cfg, default_weights = resolve_model(model, vision_tower)
    cfg = copy.deepcopy(cfg)
    if kwargs:
        cfg.merge_from_dict({'model': kwargs})
    if pretrained is True:
        if not default_weights:
            raise ValueError(f'{model!r} has no default weights; pass pretrained=PATH')
        pretrained = default_weights
    if pretrained is False and default_weights and Path(str(default_weights)).is_dir():
        pretrained = default_weights  # a model directory carries its own weights
    model_cfg = copy.deepcopy(cfg.model)
    if target_device is not None and target_device.type == 'meta':
        with torch.device('meta'):
            net = MODELS.build(model_cfg)  # the architecture only: nothing is read
        pretrained = False
    elif pretrained:
        # Build on the meta device: a 7B model is never randomly initialised (minutes,
        # 28 GB in float32) only to be overwritten; loaded tensors are assigned instead.
        with torch.device('meta'):
            net = MODELS.build(model_cfg)
    else:
        net = MODELS.build(model_cfg)
    if pretrained:
        state_dict = converters.load_state_dict(str(pretrained), cfg=cfg, vision_tower=_str_or_none(vision_tower))
        load_weights(net, state_dict, source=str(pretrained))
        if any(b.is_meta for b in net.buffers()):
            _materialize_buffers(net)
    if target_device is None or target_device.type != 'meta':
        net.to(dtype=target_dtype or _checkpoint_dtype(net))  # floating parameters and buffers only
        net.tokenizer  # resolve it now: a missing tokenizer fails here, in one clear line, not mid-inference
    if target_device is not None and target_device.type != 'meta':
        net.to(target_device)
    net.cfg = cfg
    net.eval()
    return net


def add_model_arguments(parser) -> None:
    """The model options every demo takes: ``model``, ``--pretrained``, ``--device``, ``--dtype``."""
    parser.add_argument('model', help='model name (llava_mm.list_models()), config file or model directory')
    parser.add_argument('--pretrained', default=True,
                        help="checkpoint path / URL / hub id (default: the model's own weights)")
    parser.add_argument('--device', default=None, help='e.g. cuda, cuda:1, cpu')
    parser.add_argument('--dtype', default='auto', choices=DTYPE_CHOICES,
                        help="weights' dtype (auto: the checkpoint's)")


def model_from_arguments(args) -> nn.Module:
    """``get_model`` for the options of ``add_model_arguments``."""
    return get_model(args.model, pretrained=args.pretrained, device=args.device, dtype=args.dtype)


def _str_or_none(value) -> Optional[str]:
    return None if value is None else str(value)


def _materialize_buffers(net: nn.Module) -> None:
    """Non-persistent buffers (rotary frequencies, position ids) are not in
    checkpoints: rebuild each owning module from its config on the CPU and take
    its buffers."""
    for name, module in net.named_modules():
        metas = [key for key, buf in module._buffers.items() if buf is not None and buf.is_meta]
        if not metas:
            continue
        if not hasattr(module, 'config'):
            raise RuntimeError(f'Cannot initialise buffers {metas} of {name or type(module).__name__} '
                               'after building on the meta device')
        with torch.device('cpu'):
            fresh = type(module)(module.config)
        for key in metas:
            module._buffers[key] = fresh._buffers[key]
        for attr in ('attention_scaling', ):
            if hasattr(fresh, attr):
                setattr(module, attr, getattr(fresh, attr))
