"""Benchmark: streaming delta merge vs a naive load-everything merge vs copying the same bytes.

Makes a synthetic LLaMA-shaped base and LLaVA v1 delta (float16, sharded
safetensors, several GB in total) under ``--workdir``, then runs, each in its
own subprocess so peak RSS is measured per approach:

* ``copy``:   ``shutil.copyfile`` of every base and delta shard (the bytes the merge reads)
* ``copy-delta``: the delta shards only (as many bytes as the merge writes)
* ``stream``: ``llava_mm.converters.merge_delta`` (what the CLI runs)
* ``naive``:  load base and delta whole, ``apply_delta`` in memory, save

and prints wall time (best of ``--repeat``) and peak RSS of each next to the goals
(peak RSS <= largest input shard + 1 GiB; wall <= 1.3 x copy). Before each run
as many bytes as the inputs are written to a scratch file and deleted (warm
page allocator), dirty pages are flushed (``os.sync``) and the inputs are read
once, so every approach starts from the same page-cache state. Peak RSS is the child's ``VmHWM``.
The generated data is deleted afterwards unless ``--keep``.

    python benchmarks/merge_delta.py                  # 2 GiB base + 2 GiB delta, 4 shards each
    python benchmarks/merge_delta.py --base-gib 0.2   # quick smoke run
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GIB = 1024**3
HIDDEN, INTERMEDIATE, BASE_VOCAB, EXTRA_TOKENS = 2048, 5504, 32000, 3
LAYER_TENSORS = {  # LLaMA layer: name -> shape
    'self_attn.q_proj.weight': (HIDDEN, HIDDEN), 'self_attn.k_proj.weight': (HIDDEN, HIDDEN),
    'self_attn.v_proj.weight': (HIDDEN, HIDDEN), 'self_attn.o_proj.weight': (HIDDEN, HIDDEN),
    'mlp.gate_proj.weight': (INTERMEDIATE, HIDDEN), 'mlp.up_proj.weight': (INTERMEDIATE, HIDDEN),
    'mlp.down_proj.weight': (HIDDEN, INTERMEDIATE),
    'input_layernorm.weight': (HIDDEN, ), 'post_attention_layernorm.weight': (HIDDEN, ),
}


def _status_gib(field: str) -> float:
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1]) * 1024 / GIB
    raise RuntimeError(f'{field} not in /proc/self/status (Linux only)')


def rss_gib() -> float:
    return _status_gib('VmRSS')


def peak_rss_gib() -> float:
    """Peak RSS of this process image. VmHWM, not getrusage's ru_maxrss: a child's ru_maxrss starts at
    the RSS of the parent it was forked from (Linux carries it across fork + exec)."""
    return _status_gib('VmHWM')


# ------------------------------------------------------------------------------------------ data
def llama_shapes(num_layers: int, vocab: int) -> dict:
    shapes = {'model.embed_tokens.weight': (vocab, HIDDEN)}
    for i in range(num_layers):
        shapes.update({f'model.layers.{i}.{k}': s for k, s in LAYER_TENSORS.items()})
    shapes.update({'model.norm.weight': (HIDDEN, ), 'lm_head.weight': (vocab, HIDDEN)})
    return shapes


def write_sharded(path: Path, tensors_fn, shapes: dict, num_shards: int) -> None:
    """Shards of about equal size + a transformers index; tensors made one shard at a time."""
    import torch
    from safetensors.torch import save_file
    path.mkdir(parents=True)
    sizes = {n: 2 * torch.Size(s).numel() for n, s in shapes.items()}
    target, groups, size = sum(sizes.values()) / num_shards, [[]], 0
    for name in shapes:
        if groups[-1] and size + sizes[name] > target * 1.02 and len(groups) < num_shards:
            groups.append([])
            size = 0
        groups[-1].append(name)
        size += sizes[name]
    weight_map = {}
    for i, names in enumerate(groups, 1):
        file = f'model-{i:05d}-of-{len(groups):05d}.safetensors'
        save_file({n: tensors_fn(n, shapes[n]) for n in names}, str(path / file), metadata={'format': 'pt'})
        weight_map.update({n: file for n in names})
    (path / 'model.safetensors.index.json').write_text(json.dumps({'metadata': {}, 'weight_map': weight_map}))


def make_data(workdir: Path, base_gib: float, num_shards: int) -> dict:
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel

    from llava_mm.testing import train_bpe_tokenizer
    per_layer = sum(2 * torch.Size(s).numel() for s in LAYER_TENSORS.values())
    num_layers = max(1, round((base_gib * GIB - 4 * BASE_VOCAB * HIDDEN) / per_layer))
    gen = torch.Generator().manual_seed(0)

    def random(scale):
        return lambda name, shape: (torch.randn(shape, generator=gen) * scale).half()

    write_sharded(workdir / 'base', random(0.02), llama_shapes(num_layers, BASE_VOCAB), num_shards)
    delta_shapes = llama_shapes(num_layers, BASE_VOCAB + EXTRA_TOKENS)
    clip = CLIPVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                            image_size=224, patch_size=14)
    delta_shapes.update({'model.mm_projector.weight': (HIDDEN, clip.hidden_size),
                         'model.mm_projector.bias': (HIDDEN, )})
    write_sharded(workdir / 'delta', random(0.001), delta_shapes, num_shards)
    CLIPVisionModel(clip).save_pretrained(str(workdir / 'clip'))
    config = dict(architectures=['LlavaLlamaForCausalLM'], model_type='llava', vocab_size=BASE_VOCAB + EXTRA_TOKENS,
                  hidden_size=HIDDEN, intermediate_size=INTERMEDIATE, num_hidden_layers=num_layers,
                  num_attention_heads=16, num_key_value_heads=16, max_position_embeddings=2048, rms_norm_eps=1e-6,
                  mm_hidden_size=clip.hidden_size, mm_vision_select_layer=-2, mm_use_im_start_end=True,
                  mm_vision_tower=str(workdir / 'clip'), torch_dtype='float16')
    (workdir / 'delta' / 'config.json').write_text(json.dumps(config))
    train_bpe_tokenizer().save_pretrained(str(workdir / 'delta'))
    shards = sorted((workdir / 'base').glob('*.safetensors')) + sorted((workdir / 'delta').glob('*.safetensors'))
    return {'num_layers': num_layers, 'input_bytes': sum(f.stat().st_size for f in shards),
            'largest_shard_bytes': max(f.stat().st_size for f in shards), 'num_shards': len(shards)}


# --------------------------------------------------------------------------------------- children
def run_copy(workdir: Path, out: Path, parts=('base', 'delta')) -> None:
    out.mkdir()
    for part in parts:
        for f in sorted((workdir / part).glob('*.safetensors')):
            shutil.copyfile(f, out / f'{part}-{f.name}')


def run_copy_delta(workdir: Path, out: Path) -> None:
    """Copy only the delta: as many bytes written as the merge writes."""
    run_copy(workdir, out, ('delta', ))


def run_stream(workdir: Path, out: Path) -> None:
    from llava_mm.converters import merge_delta
    merge_delta(str(workdir / 'base'), str(workdir / 'delta'), str(out), progress=False)


def run_naive(workdir: Path, out: Path) -> None:
    """What the original scripts do: every tensor of base and delta in memory at once."""
    import torch
    from safetensors.torch import load_file, save_file
    base, delta = {}, {}
    for part, sd in (('base', base), ('delta', delta)):
        for f in sorted((workdir / part).glob('*.safetensors')):
            sd.update(load_file(str(f)))
    for name, param in delta.items():  # apply_delta
        if name not in base:
            continue
        b = base[name]
        if param.shape == b.shape:
            param += b
        else:
            param[:b.shape[0], :b.shape[1]] += b
    out.mkdir()
    save_file(delta, str(out / 'model.safetensors'))


CHILDREN = {'copy': run_copy, 'copy-delta': run_copy_delta, 'stream': run_stream, 'naive': run_naive}


def child(kind: str, workdir: Path) -> None:
    if not kind.startswith('copy'):  # imports are start-up cost, not merge time (and count in the baseline RSS)
        import torch  # noqa: F401
        import llava_mm  # noqa: F401  (registers the models the merge builds on the meta device to check shapes)
        import llava_mm.converters  # noqa: F401
    baseline = rss_gib()
    out = workdir / f'out-{kind}'
    start = time.perf_counter()
    CHILDREN[kind](workdir, out)
    wall = time.perf_counter() - start
    written = sum(f.stat().st_size for f in out.rglob('*') if f.is_file())
    shutil.rmtree(out)
    print(json.dumps({'kind': kind, 'wall_s': wall, 'peak_rss_gib': peak_rss_gib(), 'baseline_rss_gib': baseline,
                      'written_bytes': written}))


def warm_page_cache(workdir: Path) -> None:
    """Read every input once so each approach starts with the inputs cached (the same for all)."""
    for f in sorted(workdir.rglob('*.safetensors')):
        with open(f, 'rb') as fh:
            while fh.read(64 * 1024 * 1024):
                pass


def warm_page_allocator(workdir: Path, nbytes: int) -> None:
    """Write and delete ``nbytes``: on a VM the first use of fresh page-cache memory costs ~2 s/GiB (host
    faults), which would otherwise penalise whichever approach happens to run first on cold pages."""
    chunk = b'\0' * (64 * 1024 * 1024)
    scratch = workdir / 'scratch.bin'
    with open(scratch, 'wb') as f:
        for _ in range(-(-nbytes // len(chunk))):
            f.write(chunk)
    scratch.unlink()


def measure(kind: str, workdir: Path) -> dict:
    inputs = sum(f.stat().st_size for f in workdir.rglob('*.safetensors'))
    warm_page_allocator(workdir, inputs)
    os.sync()  # start every run without dirty pages from the previous one
    warm_page_cache(workdir)
    run = subprocess.run([sys.executable, __file__, '--child', kind, '--workdir', str(workdir)],
                         capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f'{kind} failed:\n{run.stderr}')
    return json.loads(run.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--base-gib', type=float, default=2.0, help='size of the synthetic base (the delta is '
                        'the same plus 3 token rows and the projector); default 2')
    parser.add_argument('--shards', type=int, default=4, help='shards per model (default 4)')
    parser.add_argument('--workdir', default='/tmp/llava_mm_merge_bench', help='scratch directory (deleted)')
    parser.add_argument('--repeat', type=int, default=2, help='runs per approach; the fastest is reported '
                        '(first writes on a fresh VM page cache are slow), the highest peak RSS (default 2)')
    parser.add_argument('--skip-naive', action='store_true', help='do not run the load-everything merge')
    parser.add_argument('--keep', action='store_true', help='keep the generated data')
    parser.add_argument('--child', choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    if args.child:
        child(args.child, workdir)
        return {}
    if workdir.exists():
        shutil.rmtree(workdir)
    try:
        start = time.perf_counter()
        data = make_data(workdir, args.base_gib, args.shards)
        print(f'synthetic data: {data["input_bytes"] / GIB:.2f} GiB in {data["num_shards"]} shards (largest '
              f'{data["largest_shard_bytes"] / GIB:.2f} GiB, {data["num_layers"]} layers), made in '
              f'{time.perf_counter() - start:.0f} s', flush=True)
        kinds = [k for k in ('copy', 'copy-delta', 'stream', 'naive') if not (k == 'naive' and args.skip_naive)]
        runs, loads = {kind: [] for kind in kinds}, []
        for _ in range(args.repeat):  # interleaved, so slow phases of a shared machine hit every approach
            for kind in kinds:
                runs[kind].append(measure(kind, workdir))
                loads.append(os.getloadavg()[0])
        results = {kind: min(r, key=lambda x: x['wall_s']) | {
            'peak_rss_gib': max(x['peak_rss_gib'] for x in r), 'all_wall_s': [x['wall_s'] for x in r]}
            for kind, r in runs.items()}
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    copy_s = results['copy']['wall_s']
    rss_goal = data['largest_shard_bytes'] / GIB + 1
    print(f'\n{"approach":<10} {"wall s":>8} {"x copy":>7} {"peak RSS GiB":>13} {"(after imports)":>16} '
          f'{"written GiB":>12}')
    for kind, r in results.items():
        print(f'{kind:<10} {r["wall_s"]:8.2f} {r["wall_s"] / copy_s:7.2f} {r["peak_rss_gib"]:13.2f} '
              f'{r["baseline_rss_gib"]:16.2f} {r["written_bytes"] / GIB:12.2f}')
    stream = results['stream']
    print(f'\ngoal: stream peak RSS <= largest shard + 1 GiB = {rss_goal:.2f} GiB: '
          f'{"met" if stream["peak_rss_gib"] <= rss_goal else "NOT met"} ({stream["peak_rss_gib"]:.2f} GiB)')
    print(f'goal: stream wall <= 1.3 x copy = {1.3 * copy_s:.2f} s: '
          f'{"met" if stream["wall_s"] <= 1.3 * copy_s else "NOT met"} ({stream["wall_s"]:.2f} s)')
    copy_delta_s = results['copy-delta']['wall_s']
    print(f'       (stricter, vs copying only the delta: {stream["wall_s"] / copy_delta_s:.2f} x)')
    print(f'load average (1 min) during the runs: {min(loads):.2f} - {max(loads):.2f} on {os.cpu_count()} CPUs '
          '(a shared machine: other processes slow every approach)')
    summary = {'data': data, 'results': results, 'load_average': [min(loads), max(loads)]}
    print(json.dumps(summary))
    return summary


if __name__ == '__main__':
    main()
