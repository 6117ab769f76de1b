"""Reading annotation files and checking images, with errors that name the file.

Evaluation runs are long; a typo in a path or a truncated download should stop
them at dataset-build time with a message saying which file, line or image is
wrong, not hours later inside a worker process.
"""
import json
import os
from collections import defaultdict
from typing import Any, Iterable, List, Tuple

#: How many missing images an error message spells out before summarizing.
MAX_LISTED = 20


def load_json(path: str, what: str = 'Annotation file') -> Any:
    """Parse a JSON file; ``FileNotFoundError`` / ``ValueError`` name the file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'Malformed JSON in {path} (line {err.lineno}, column {err.colno}): '
                             f'{err.msg}') from err
        except UnicodeDecodeError as err:
            raise ValueError(f'{path} is not UTF-8 text: {err}') from err


def load_jsonl(path: str, what: str = 'Annotation file') -> List[Tuple[int, dict]]:
    """``(line number, object)`` of each line of a JSON-lines file (blank lines skipped)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    records = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'Malformed JSON in {path}, line {lineno}: {err.msg}') from err
            if not isinstance(record, dict):
                raise ValueError(f'{path}, line {lineno}: expected a JSON object, got {type(record).__name__}')
            records.append((lineno, record))
    return records


def require_keys(record: dict, keys: Iterable[str], where: str) -> None:
    """Raise ``ValueError`` naming ``where`` when ``record`` lacks any of ``keys``."""
    missing = [k for k in keys if k not in record]
    if missing:
        raise ValueError(f'{where}: missing key(s) {missing} (has {sorted(record)})')


def find_missing_images(paths: Iterable[str]) -> List[str]:
    """The paths (in first-seen order, without repeats) that are not files.

    One directory listing per folder instead of one ``stat`` per image keeps
    this fast for 40k COCO images, also on network file systems.
    """
    unique = list(dict.fromkeys(paths))
    by_dir = defaultdict(list)
    for path in unique:
        by_dir[os.path.dirname(path)].append(path)
    missing = set()
    for folder, files in by_dir.items():
        if len(files) == 1:
            if not os.path.isfile(files[0]):
                missing.add(files[0])
            continue
        try:
            names = set(os.listdir(folder or '.'))
        except OSError:
            missing.update(files)
            continue
        missing.update(f for f in files if os.path.basename(f) not in names)
    return [p for p in unique if p in missing]


def check_images_exist(paths: Iterable[str], ann_file: str) -> None:
    """``FileNotFoundError`` listing the images that ``ann_file`` refers to but
    that are absent. Remote paths (``s3://`` ...) are not checked."""
    local = [p for p in paths if '://' not in p]
    missing = find_missing_images(local)
    if not missing:
        return
    shown = '\n  '.join(missing[:MAX_LISTED])
    more = f'\n  ... and {len(missing) - MAX_LISTED} more' if len(missing) > MAX_LISTED else ''
    raise FileNotFoundError(f'{len(missing)} image(s) listed in {ann_file} not found (check data_root / '
                            f'data_prefix):\n  {shown}{more}')
