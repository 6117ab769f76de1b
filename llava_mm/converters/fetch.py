"""Getting checkpoints onto the disk: local paths, hub ids, ``hf://`` and ``https://`` URLs.

Downloads go through ``huggingface_hub`` (hub) or ``torch.hub`` (URLs, cached
under ``torch.hub.get_dir()/checkpoints``). Without network access every
failure is reported as one ``OSError`` that says what to download and where
to pass it instead.
"""
import os
import re
from pathlib import Path
from typing import Optional, Sequence
from urllib.parse import urlparse

import torch
from huggingface_hub import hf_hub_download, snapshot_download

_HUB_ID = re.compile(r'^[A-Za-z0-9][\w.-]*/[\w.-]+$')
#: What a model needs from a hub repository (safetensors preferred; pickles only as a fallback).
HUB_PATTERNS = ('*.json', '*.safetensors', '*.model', '*.txt', '*.jinja')
HUB_PICKLE_PATTERNS = ('*.json', '*.bin', '*.model', '*.txt', '*.jinja')


def looks_like_hub_id(name: str) -> bool:
    """``owner/name`` that is not a local path."""
    return bool(_HUB_ID.match(name)) and not os.path.exists(name) and not name.endswith(('.py', '.pth'))


def _offline_error(what: str, err: Exception) -> OSError:
    reason = str(err).strip().splitlines()[0] if str(err).strip() else ''
    return OSError(f'Cannot download {what} ({type(err).__name__}: {reason}). If this machine is offline, '
                   'download it elsewhere and pass the local path instead.')


def _snapshot(repo_id: str, patterns: Optional[Sequence[str]]) -> Path:
    try:
        return Path(snapshot_download(repo_id, allow_patterns=list(patterns) if patterns else None))
    except Exception as err:  # offline, unknown repo, gated ...
        raise _offline_error(f'{repo_id!r} from the Hugging Face hub', err) from err


def fetch_model_dir(name_or_path: str) -> Path:
    """A local model directory, downloading a hub repository (``owner/name`` or
    ``hf://owner/name``) when needed. Only configs, tokenizer files and weights
    are fetched; safetensors when the repository has them, else ``.bin``."""
    if Path(name_or_path).is_dir():
        return Path(name_or_path)
    repo_id = name_or_path[len('hf://'):] if name_or_path.startswith('hf://') else name_or_path
    if not _HUB_ID.match(repo_id):
        raise FileNotFoundError(f'{name_or_path!r} is neither a local directory nor a hub id (owner/name)')
    path = _snapshot(repo_id, HUB_PATTERNS)
    if not any(path.glob('*.safetensors')):
        path = _snapshot(repo_id, HUB_PICKLE_PATTERNS)
    return path


def fetch_checkpoint(path_or_url: str) -> Path:
    """A local file or directory for a path, ``hf://owner/name[/file]`` or ``http(s)://`` URL."""
    if path_or_url.startswith('hf://'):
        parts = path_or_url[len('hf://'):].split('/')
        if len(parts) <= 2:
            return fetch_model_dir(path_or_url)
        try:
            return Path(hf_hub_download('/'.join(parts[:2]), '/'.join(parts[2:])))
        except Exception as err:
            raise _offline_error(path_or_url, err) from err
    if path_or_url.startswith(('http://', 'https://')):
        name = os.path.basename(urlparse(path_or_url).path) or 'checkpoint.pth'
        cache = Path(torch.hub.get_dir()) / 'checkpoints'
        target = cache / name
        if not target.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            try:
                torch.hub.download_url_to_file(path_or_url, str(target), progress=True)
            except Exception as err:
                raise _offline_error(path_or_url, err) from err
        return target
    if Path(path_or_url).exists():
        return Path(path_or_url)
    if looks_like_hub_id(path_or_url):
        return fetch_model_dir(path_or_url)
    raise FileNotFoundError(f'Checkpoint not found: {path_or_url}')
