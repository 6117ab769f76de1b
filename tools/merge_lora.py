"""Fold a LoRA adapter written by tools/train.py into its base model: a llava_mm model directory.

    python tools/merge_lora.py WORK_DIR/adapter OUT [--base BASE_MODEL] [--force]

BASE_MODEL defaults to the ``load_from`` the LoRA run started from (recorded
in the adapter). OUT loads with ``llava_mm.get_model(OUT)``.
"""
import argparse
import sys
from pathlib import Path

try:
    import llava_mm  # noqa: F401
except ImportError:  # running from a source tree that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llava_mm.engine.export import merge_lora_adapter
from llava_mm.cli import run


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('adapter', help='the adapter directory (WORK_DIR/adapter)')
    parser.add_argument('out', help='the merged llava_mm model directory to write')
    parser.add_argument('--base', help='base model (default: the one recorded in the adapter)')
    parser.add_argument('--force', action='store_true', help='replace OUT if it is a previous model directory')
    args = parser.parse_args(argv)
    out = merge_lora_adapter(args.adapter, args.out, base=args.base, force=args.force)
    print(f'Merged model written to {out}')
    return out


if __name__ == '__main__':
    run(main)
