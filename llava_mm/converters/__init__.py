"""Checkpoint formats and conversion into / out of llava_mm's layout.

* ``formats``: detection + ``config_from_dir`` / ``load_state_dict`` (used by ``get_model``)
* ``key_maps`` / ``key_rules``: every layout as a declarative rename table
* ``tensor_io`` / ``safetensors_writer`` (+ ``llava_mm.fileio``): safe, streaming, all-or-nothing I/O
* ``hf_llava`` / ``hf_export``, ``original_llava``, ``delta``: the individual formats
"""
from .formats import config_from_dir, detect_dir_format, fetch_model_dir, load_state_dict, looks_like_hub_id
from .llava_mm_dir import (has_tokenizer_files, is_llava_mm_dir, iter_safetensors, read_config,
                           safetensors_files, stream_llava_mm_dir, write_llava_mm_dir)
from .original_llava import config_from_original
from .tensor_io import UnsafeCheckpointError

__all__ = ['UnsafeCheckpointError', 'config_from_dir', 'config_from_original', 'detect_dir_format',
           'fetch_model_dir', 'has_tokenizer_files', 'is_llava_mm_dir', 'iter_safetensors', 'load_state_dict',
           'looks_like_hub_id', 'read_config', 'safetensors_files', 'stream_llava_mm_dir', 'write_llava_mm_dir']
