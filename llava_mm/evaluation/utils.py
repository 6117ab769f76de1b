"""Small helpers shared by the metrics."""
from __future__ import annotations

import json
from typing import Any

from llava_mm.datasets.annotation_files import load_json
from llava_mm.fileio import write_bytes_atomic

__all__ = ['get_field', 'dump_json_atomic', 'load_json_file']

_MISSING = object()


def get_field(sample: Any, key: str, default: Any = _MISSING) -> Any:
    """Read ``key`` from a data sample given as a dict or a DataSample-like object.

    mmengine's Evaluator turns DataSamples into dicts before ``process``, but
    metrics are also called directly with mmpretrain ``DataSample`` objects, so
    both are accepted.  A missing key raises ``KeyError`` naming the key unless
    a ``default`` is given.
    """
    if isinstance(sample, dict):
        if key in sample:
            return sample[key]
    elif hasattr(sample, 'get') and callable(sample.get):
        value = sample.get(key, _MISSING)
        if value is not _MISSING:
            return value
    elif hasattr(sample, key):
        return getattr(sample, key)
    if default is not _MISSING:
        return default
    known = list(sample.keys()) if hasattr(sample, 'keys') else dir(sample)
    raise KeyError(f'data sample has no {key!r} field (fields: {sorted(map(str, known))})')


def dump_json_atomic(obj: Any, path: str) -> None:
    """Write ``obj`` as JSON so that ``path`` is either the old file or the complete new one."""
    write_bytes_atomic(path, json.dumps(obj).encode('utf-8'))


def load_json_file(path: str, what: str) -> Any:
    """``json.load`` with errors that name the file (and what it was supposed to be)."""
    return load_json(path, what)
