"""How the metrics read data samples: named fields, plain ids, one result per question."""
from __future__ import annotations

from typing import Any, Dict, List

__all__ = ['get_field', 'plain_value', 'first_per_question']

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


def plain_value(value: Any) -> Any:
    """The Python value of a tensor / numpy scalar (ids and labels arrive as either)."""
    return value.item() if hasattr(value, 'item') and callable(value.item) else value


def first_per_question(results: List[Dict[str, Any]], key: str = 'question_id') -> List[Dict[str, Any]]:
    """Drop results whose ``key`` was seen before (distributed padding), keeping the first.

    Ids are compared as text, so ``7``, ``'7'`` and ``tensor(7)`` are one question;
    results without an id (``None``) are all kept.
    """
    seen, out = set(), []
    for result in results:
        qid = result[key]
        if qid is not None:
            text = str(plain_value(qid))
            if text in seen:
                continue
            seen.add(text)
        out.append(result)
    return out
