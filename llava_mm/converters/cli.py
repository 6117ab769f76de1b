"""Command-line options shared by every converter script in tools/model_converters."""
import argparse
from typing import Any, Dict

from .safetensors_writer import parse_size


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--max-shard-size``, ``--force`` and ``--no-progress``."""
    parser.add_argument('--max-shard-size', default='2GiB',
                        help='safetensors shard size of a directory OUT (default 2GiB; memory use does not '
                        'depend on it)')
    parser.add_argument('--force', action='store_true', help='replace OUT if it exists')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')


def output_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    """The keyword arguments the converters take for those options."""
    return dict(force=args.force, max_shard_bytes=parse_size(args.max_shard_size), progress=not args.no_progress)
