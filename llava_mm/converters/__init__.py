"""Checkpoint formats and conversion into / out of llava_mm's layout."""
from .formats import config_from_dir, fetch_model_dir, load_state_dict, looks_like_hub_id
from .llava_mm_dir import (is_llava_mm_dir, iter_safetensors, read_config, safetensors_files,
                           write_llava_mm_dir)

__all__ = ['config_from_dir', 'fetch_model_dir', 'is_llava_mm_dir', 'iter_safetensors', 'load_state_dict',
           'looks_like_hub_id', 'read_config', 'safetensors_files', 'write_llava_mm_dir']
