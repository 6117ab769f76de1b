"""Checkpoint formats and conversion into / out of llava_mm's layout.

* ``formats``: the entry points - detection, ``config_from_dir`` / ``load_state_dict``
  (used by ``get_model``), ``convert_to_llava_mm``, ``export_hf_llava``
* ``hf_llava`` (in and out), ``original_llava`` (directories and ``merge_delta``),
  ``llava_mm_dir`` (the native directory): one module per format; ``hf_config``
  translates transformers configs; mmpretrain checkpoints are a tensor layout only
* ``key_rules`` / ``key_maps``: the rename language and every layout written in it
* ``tensor_io`` (+ ``llava_mm.fileio``): safe, streaming, all-or-nothing reading and writing
* ``fetch``: local paths, hub ids, URLs
"""
from .fetch import fetch_model_dir, looks_like_hub_id
from .formats import (config_from_dir, convert_to_llava_mm, detect_dir_format, export_hf_llava, load_part,
                      load_state_dict)
from .llava_mm_dir import (CheckpointMismatchError, has_tokenizer_files, is_llava_mm_dir, read_config,
                           stream_llava_mm_dir, write_llava_mm_dir)
from .original_llava import config_from_original, merge_delta
from .tensor_io import UnsafeCheckpointError, iter_safetensors

__all__ = ['CheckpointMismatchError', 'UnsafeCheckpointError', 'config_from_dir', 'config_from_original',
           'convert_to_llava_mm', 'detect_dir_format', 'export_hf_llava', 'fetch_model_dir', 'has_tokenizer_files',
           'is_llava_mm_dir', 'iter_safetensors', 'load_part', 'load_state_dict', 'looks_like_hub_id', 'merge_delta',
           'read_config', 'stream_llava_mm_dir', 'write_llava_mm_dir']
