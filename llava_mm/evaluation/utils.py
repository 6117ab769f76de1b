"""Small helpers shared by the metrics."""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from llava_mm.datasets.annotation_files import load_json

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
    """Write ``obj`` as JSON so that ``path`` is either the old file or the complete new one.

    Parent directories are created; the JSON goes to a temporary file in the
    same directory which then replaces ``path`` with ``os.replace``.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            json.dump(obj, f)
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def load_json_file(path: str, what: str) -> Any:
    """``json.load`` with errors that name the file (and what it was supposed to be)."""
    return load_json(path, what)
