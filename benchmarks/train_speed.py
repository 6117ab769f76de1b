"""Training-step speed and memory: llava_mm's ``Llava`` vs transformers' ``LlavaForConditionalGeneration``.

One *training step* = forward with the loss + backward + ``torch.optim.AdamW`` step + ``zero_grad``, on the same
weights, the same batch and the same trainable parts in every configuration:

  ref        transformers' ``LlavaForConditionalGeneration`` driven by a plain PyTorch loop (vision tower frozen);
  ours       ``llava_mm.get_model(dir)`` (vision tower frozen, LLaVA's default), ``model(**data, mode='loss')``;
  ours+ckpt  the same with ``gradient_checkpointing=True`` + ``model.prepare_for_training()``.

How the configurations get the same model and batch: a random transformers model is built from a ``LlavaConfig``
and saved with ``save_pretrained`` (plus a byte-level BPE tokenizer) to a temporary llava-hf directory, which
``get_model`` loads directly. Conversations are encoded once with ``llava_mm.datasets.encode_conversation``
(vicuna_v1) and images drawn once as uint8 CHW tensors; both are saved next to the model. llava_mm gets data
samples with ``input_ids``/``labels`` and images normalized by its data preprocessor; transformers gets the same
normalized pixels, input ids with the image token repeated once per patch, labels -100 at image positions and
right padding with an attention mask (as tests/test_models/test_loss.py, which checks the two losses are equal).
The first-step losses of all configurations are printed and must agree (same computation).

What is measured, each configuration in its own fresh subprocess (nothing shared, no allocator state carried
over), with ``--threads`` intra-op threads (1 by default: a shared machine gives steadier figures):

  time      wall time of each step after ``--warmup`` warm-up steps; the run's figure is the median of ``--steps``;
            tokens/s = tokens of the batch / that median, tokens = non-padding tokens including image tokens.
  memory    the peak of a step above the *post-build baseline* (model, batch and inputs ready, every weight
            resident -- transformers maps safetensors lazily -- before the first step), so it holds optimizer
            states, gradients and activations; the median over measured steps.
            CPU: peak RSS (``VmHWM``, reset before each step through ``/proc/self/clear_refs``) minus the baseline
            RSS, with glibc told to return freed blocks (``MALLOC_MMAP_THRESHOLD_``) so RSS follows live memory.
            CUDA: ``torch.cuda.max_memory_allocated`` minus the baseline allocation.
            The table splits it into *states* (memory held between steps above the baseline: AdamW's two moments)
            and *in-step* (peak minus states: gradients, activations, temporaries). Gradient checkpointing only
            shrinks activations, so its cut of the peak grows with tokens per batch: at small batches the peak
            is reached at the end of the backward pass (all gradients + optimizer states), not by activations.
            (The allocator setting does not change step times measurably: checked on this benchmark.)

Runs alternate (ref, ours, ours+ckpt, ref, ...) ``--repeats`` times so load from other jobs hits all alike; the
table shows the best and the median over repeats, and the ratios against the goals: throughput >= 1.0x and memory
<= 1.0x the reference, gradient checkpointing cutting peak memory >= 30%.

    python benchmarks/train_speed.py                     # ~200M parameters (ViT-12/512 at 224 px, LLaMA 8x1024)
    python benchmarks/train_speed.py --quick             # tiny sizes, about a minute
    python benchmarks/train_speed.py --batch-size 4 --lm-layers 12 --repeats 3 --json figures.json
    python benchmarks/train_speed.py --profile ours      # top operators of one step (torch.profiler)
"""
import argparse
import gc
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import torch

CONFIGS = ('ref', 'ours', 'ours+ckpt')
IMAGE_TOKEN_INDEX, IGNORE_INDEX = -200, -100  # llava_mm.models.prompt's markers (checked at import in the worker)

MEMORY_TOLERANCE = 0.005  # RSS of the same computation varies by a few pages between processes
QUICK = dict(batch_size=2, text_tokens=48, image_size=112, vision_layers=4, vision_width=128, lm_layers=2,
             lm_width=256, lm_intermediate=704, vocab_size=32000, steps=3, warmup=1, repeats=1)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help=f'tiny sizes, about a minute ({QUICK})')
    p.add_argument('--batch-size', type=int, default=2)
    p.add_argument('--text-tokens', type=int, default=128, help='mean text tokens per sample (lengths vary 0.5-1.5x)')
    p.add_argument('--image-size', type=int, default=224)
    p.add_argument('--patch-size', type=int, default=14)
    p.add_argument('--vision-layers', type=int, default=12)
    p.add_argument('--vision-width', type=int, default=512)
    p.add_argument('--lm-layers', type=int, default=8)
    p.add_argument('--lm-width', type=int, default=1024)
    p.add_argument('--lm-intermediate', type=int, default=2816)
    p.add_argument('--vocab-size', type=int, default=32000)
    p.add_argument('--steps', type=int, default=3, help='measured steps per run')
    p.add_argument('--warmup', type=int, default=1, help='warm-up steps per run (not measured)')
    p.add_argument('--repeats', type=int, default=2, help='runs of each configuration, alternated')
    p.add_argument('--threads', type=int, default=1, help='torch intra-op threads (torch.set_num_threads)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--configs', default=','.join(CONFIGS), help=f'comma-separated subset of {CONFIGS}')
    p.add_argument('--json', metavar='OUT', help='save the figures here')
    p.add_argument('--profile', choices=CONFIGS, help='profile one step of this configuration and exit')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--worker', choices=CONFIGS, help=argparse.SUPPRESS)
    p.add_argument('--workdir', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            if p.get_default(key) == getattr(args, key):
                setattr(args, key, value)
    unknown = set(args.configs.split(',')) - set(CONFIGS)
    if unknown:
        p.error(f'--configs: unknown {sorted(unknown)}; choose from {CONFIGS}')
    if args.image_size % args.patch_size:
        p.error(f'--image-size {args.image_size} is not a multiple of --patch-size {args.patch_size}')
    return args


# ----------------------------------------------------------------------------- setup (parent process)
def make_conversations(n: int, mean_tokens: int, tokenizer, seed: int) -> List[Dict[str, List[int]]]:
    """Multi-turn conversations with an image, text lengths spread over 0.5-1.5x ``mean_tokens``."""
    from llava_mm.datasets import encode_conversation
    from llava_mm.testing import CORPUS
    rng = random.Random(seed)
    encoded = []
    for i in range(n):
        target = int(mean_tokens * (0.5 + (i / (n - 1) if n > 1 else 0.5)))
        turns = []
        while True:
            question = rng.choice(CORPUS)
            answer = ' '.join(rng.sample(CORPUS, rng.randint(1, 3)))
            turns += [{'from': 'human', 'value': ('<image>\n' if not turns else '') + question},
                      {'from': 'gpt', 'value': answer}]
            sample = encode_conversation(turns, tokenizer, 'vicuna_v1', has_image=True)
            if len(sample['input_ids']) >= target:
                break
        encoded.append(sample)
    return encoded


def prepare(args: argparse.Namespace, workdir: Path) -> Dict:
    """Save the reference model (llava-hf layout + tokenizer) and the batch; return the model's figures."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    from llava_mm.testing import randomize_, train_bpe_tokenizer
    tokenizer = train_bpe_tokenizer()
    if args.vocab_size <= len(tokenizer):
        raise SystemExit(f'--vocab-size must exceed the tokenizer\'s {len(tokenizer)} tokens')
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=args.vision_width, intermediate_size=4 * args.vision_width,
                                       num_hidden_layers=args.vision_layers,
                                       num_attention_heads=max(args.vision_width // 64, 1),
                                       image_size=args.image_size, patch_size=args.patch_size,
                                       projection_dim=args.vision_width, hidden_act='quick_gelu'),
        text_config=LlamaConfig(vocab_size=args.vocab_size, hidden_size=args.lm_width,
                                intermediate_size=args.lm_intermediate, num_hidden_layers=args.lm_layers,
                                num_attention_heads=max(args.lm_width // 64, 1),
                                num_key_value_heads=max(args.lm_width // 64, 1), max_position_embeddings=4096,
                                bos_token_id=1, eos_token_id=2, pad_token_id=0),
        image_token_index=len(tokenizer), vision_feature_layer=-2, vision_feature_select_strategy='default',
        projector_hidden_act='gelu')
    torch.manual_seed(args.seed)
    model = randomize_(LlavaForConditionalGeneration(config), std=0.02)
    model.save_pretrained(workdir / 'model')
    tokenizer.save_pretrained(workdir / 'model')
    vision = model.model.vision_tower
    figures = dict(parameters=sum(p.numel() for p in model.parameters()),
                   vision_parameters=sum(p.numel() for p in vision.parameters()),
                   trainable_parameters=sum(p.numel() for n, p in model.named_parameters()
                                            if not n.startswith('model.vision_tower.')))
    del model
    encoded = make_conversations(args.batch_size, args.text_tokens, tokenizer, args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    images = torch.randint(0, 256, (args.batch_size, 3, args.image_size, args.image_size), dtype=torch.uint8,
                           generator=gen)
    num_image_tokens = (args.image_size // args.patch_size) ** 2
    torch.save(dict(encoded=encoded, images=images, image_token_index=len(tokenizer),
                    num_image_tokens=num_image_tokens), workdir / 'batch.pt')
    figures['tokens'] = sum(len(s['input_ids']) - 1 + num_image_tokens for s in encoded)
    figures['padded_tokens'] = args.batch_size * max(len(s['input_ids']) - 1 + num_image_tokens for s in encoded)
    figures['supervised_tokens'] = sum(sum(t != IGNORE_INDEX for t in s['labels']) for s in encoded)
    return figures


# ----------------------------------------------------------------------------- measuring (worker process)
def rss_kib(field: str = 'VmRSS') -> int:
    return int(re.search(rf'{field}:\s+(\d+)', Path('/proc/self/status').read_text()).group(1))


class Memory:
    """Peak memory of a region above a baseline: CUDA allocator stats, or peak RSS on the CPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == 'cuda'
        self.baseline = self.current()

    def current(self) -> int:
        return torch.cuda.memory_allocated() if self.cuda else rss_kib() * 1024

    def reset_peak(self) -> None:
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        else:
            Path('/proc/self/clear_refs').write_text('5')  # resets VmHWM to the current RSS

    def peak(self) -> int:
        return torch.cuda.max_memory_allocated() if self.cuda else rss_kib('VmHWM') * 1024


def build_reference(workdir: Path, batch: Dict, device: torch.device) -> Tuple[torch.nn.Module, Callable]:
    from transformers import LlavaForConditionalGeneration

    from llava_mm.models.data_preprocessor import LlavaDataPreprocessor
    model = LlavaForConditionalGeneration.from_pretrained(workdir / 'model', dtype=torch.float32).to(device)
    model.model.vision_tower.requires_grad_(False)  # as LLaVA trains (and as get_model freezes ours)
    rows, label_rows = [], []
    for sample in batch['encoded']:
        ids, labels = [], []
        for token, label in zip(sample['input_ids'], sample['labels']):
            if token == IMAGE_TOKEN_INDEX:
                ids += [batch['image_token_index']] * batch['num_image_tokens']
                labels += [IGNORE_INDEX] * batch['num_image_tokens']
            else:
                ids.append(token)
                labels.append(label)
        rows.append(ids)
        label_rows.append(labels)
    width = max(map(len, rows))
    inputs = dict(
        input_ids=torch.tensor([r + [0] * (width - len(r)) for r in rows], device=device),
        labels=torch.tensor([r + [IGNORE_INDEX] * (width - len(r)) for r in label_rows], device=device),
        attention_mask=torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=device),
        pixel_values=LlavaDataPreprocessor().normalize(batch['images']).to(device))
    return model, lambda: model(**inputs).loss


def build_ours(workdir: Path, batch: Dict, device: torch.device, checkpointing: bool
               ) -> Tuple[torch.nn.Module, Callable]:
    from mmpretrain.structures import DataSample

    from llava_mm import get_model
    from llava_mm.models import prompt
    assert (prompt.IMAGE_TOKEN_INDEX, prompt.IGNORE_INDEX) == (IMAGE_TOKEN_INDEX, IGNORE_INDEX)
    model = get_model(str(workdir / 'model'), device=device, dtype='float32',
                      gradient_checkpointing=checkpointing).prepare_for_training()
    samples = [DataSample(input_ids=s['input_ids'], labels=s['labels']) for s in batch['encoded']]
    data = model.data_preprocessor({'inputs': list(batch['images']), 'data_samples': samples}, True)
    return model, lambda: model(**data, mode='loss')['loss']


def worker(args: argparse.Namespace) -> Dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    workdir = Path(args.workdir)
    batch = torch.load(workdir / 'batch.pt')
    if args.worker == 'ref':
        model, loss_fn = build_reference(workdir, batch, device)
    else:
        model, loss_fn = build_ours(workdir, batch, device, checkpointing=args.worker == 'ours+ckpt')
    model.train()
    with torch.no_grad():  # make every weight resident: transformers maps safetensors lazily, and the first
        for p in model.parameters():  # write would otherwise count the weights as memory of the step
            p.mul_(1)
    gc.collect()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)

    def step() -> float:
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    if args.profile:
        step()  # warm-up: optimizer states, lazy initialisation
        from torch.profiler import ProfilerActivity, profile
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == 'cuda' else [])
        with profile(activities=activities, profile_memory=True, record_shapes=False) as prof:
            step()
        print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=30))
        print(prof.key_averages().table(sort_by='self_cpu_memory_usage', row_limit=15))
        return {}

    memory = Memory(device)
    times, peaks, states, losses = [], [], [], []
    for i in range(args.warmup + args.steps):
        sync()
        before = memory.current() - memory.baseline
        memory.reset_peak()
        start = time.perf_counter()
        losses.append(step())
        sync()
        elapsed = time.perf_counter() - start
        if i >= args.warmup:
            times.append(elapsed)
            peaks.append(memory.peak() - memory.baseline)
            states.append(before)
    return dict(config=args.worker, first_loss=losses[0], losses=losses, step_s=times, peak_bytes=peaks,
                state_bytes=states,
                trainable_parameters=sum(p.numel() for p in params),
                attn_implementation=getattr(model.config, '_attn_implementation', None)
                if args.worker == 'ref' else model.language_model.config._attn_implementation,
                baseline_bytes=memory.baseline)


# ----------------------------------------------------------------------------- driver
def run_worker(args: argparse.Namespace, config: str, workdir: Path, profile: bool = False) -> Dict:
    cmd = [sys.executable, __file__, '--worker', config, '--workdir', str(workdir)]
    for key in ('steps', 'warmup', 'threads', 'device', 'seed'):
        cmd += [f'--{key}', str(getattr(args, key))]
    if profile:
        cmd += ['--profile', config]
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0',
               OMP_NUM_THREADS=str(args.threads), PYTHONPATH=os.pathsep.join(
                   filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get('PYTHONPATH')])))
    if profile:
        subprocess.run(cmd, env=env, check=True)
        return {}
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def summarize(runs: List[Dict], tokens: int) -> Dict:
    medians = [statistics.median(r['step_s']) for r in runs]
    peaks = [statistics.median(r['peak_bytes']) for r in runs]
    return dict(tokens_per_s_best=tokens / min(medians), tokens_per_s_median=tokens / statistics.median(medians),
                step_s_best=min(medians), step_s_median=statistics.median(medians),
                peak_mib_best=min(peaks) / 2 ** 20, peak_mib_median=statistics.median(peaks) / 2 ** 20,
                state_mib_median=statistics.median(statistics.median(r['state_bytes']) for r in runs) / 2 ** 20,
                first_loss=runs[0]['first_loss'], trainable_parameters=runs[0]['trainable_parameters'],
                attn_implementation=runs[0]['attn_implementation'], runs=runs)


def main() -> None:
    args = parse_args()
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    configs = args.configs.split(',')
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='llava_train_speed_') as tmp:
        workdir = Path(tmp)
        model_figures = prepare(args, workdir)
        print(f"model: {model_figures['parameters'] / 1e6:.1f}M parameters "
              f"({model_figures['vision_parameters'] / 1e6:.1f}M vision, frozen; "
              f"{model_figures['trainable_parameters'] / 1e6:.1f}M trainable); batch {args.batch_size}: "
              f"{model_figures['tokens']} tokens ({model_figures['padded_tokens']} padded, "
              f"{model_figures['supervised_tokens']} supervised); {args.threads} thread(s), {args.device}")
        if args.profile:
            run_worker(args, args.profile, workdir, profile=True)
            return
        runs = {c: [] for c in configs}
        for r in range(args.repeats):
            for c in configs:
                result = run_worker(args, c, workdir)
                runs[c].append(result)
                print(f"  repeat {r + 1}/{args.repeats} {c:10s} step {statistics.median(result['step_s']):7.3f} s  "
                      f"peak +{statistics.median(result['peak_bytes']) / 2 ** 20:8.1f} MiB  "
                      f"loss {result['first_loss']:.6f}", flush=True)
    tokens = model_figures['tokens']
    summary = {c: summarize(runs[c], tokens) for c in configs}
    print(f"\n{'config':10s} {'tokens/s best':>14s} {'median':>9s} {'step s best':>12s} "
          f"{'peak MiB best':>14s} {'median':>9s} {'states MiB':>11s} {'in-step MiB':>12s}  first loss")
    for c, s in summary.items():
        print(f"{c:10s} {s['tokens_per_s_best']:14.1f} {s['tokens_per_s_median']:9.1f} {s['step_s_best']:12.3f} "
              f"{s['peak_mib_best']:14.1f} {s['peak_mib_median']:9.1f} {s['state_mib_median']:11.1f} "
              f"{s['peak_mib_median'] - s['state_mib_median']:12.1f}  {s['first_loss']:.6f}")
    ratios = {}
    if 'ref' in summary and 'ours' in summary:
        ref, ours = summary['ref'], summary['ours']
        ratios['throughput_ours_vs_ref'] = ours['tokens_per_s_best'] / ref['tokens_per_s_best']
        ratios['throughput_ours_vs_ref_median'] = ours['tokens_per_s_median'] / ref['tokens_per_s_median']
        ratios['memory_ours_vs_ref'] = ours['peak_mib_median'] / ref['peak_mib_median']
        ratios['loss_abs_diff'] = abs(ours['first_loss'] - ref['first_loss'])
        print(f"\nthroughput ours / ref: {ratios['throughput_ours_vs_ref']:.3f}x best, "
              f"{ratios['throughput_ours_vs_ref_median']:.3f}x median (goal >= 1.0x) "
              f"{'ok' if ratios['throughput_ours_vs_ref'] >= 1.0 else 'MISSED'}")
        print(f"peak memory ours / ref: {ratios['memory_ours_vs_ref']:.4f}x (goal <= 1.0x; within RSS noise of "
              f"{MEMORY_TOLERANCE:.1%} counts as equal) "
              f"{'ok' if ratios['memory_ours_vs_ref'] <= 1.0 + MEMORY_TOLERANCE else 'MISSED'}")
        print(f"first-step loss |ours - ref| = {ratios['loss_abs_diff']:.2e} (same weights and batch)")
    if 'ours' in summary and 'ours+ckpt' in summary:
        ckpt, ours = summary['ours+ckpt'], summary['ours']
        ratios['ckpt_memory_cut'] = 1 - ckpt['peak_mib_median'] / ours['peak_mib_median']
        ratios['ckpt_in_step_memory_cut'] = 1 - ((ckpt['peak_mib_median'] - ckpt['state_mib_median'])
                                                 / (ours['peak_mib_median'] - ours['state_mib_median']))
        ratios['ckpt_throughput_vs_ours'] = ckpt['tokens_per_s_best'] / ours['tokens_per_s_best']
        print(f"gradient checkpointing: peak memory cut {100 * ratios['ckpt_memory_cut']:.1f}% (goal >= 30%) "
              f"{'ok' if ratios['ckpt_memory_cut'] >= 0.30 else 'MISSED'}, "
              f"(in-step memory cut {100 * ratios['ckpt_in_step_memory_cut']:.1f}%), "
              f"throughput {ratios['ckpt_throughput_vs_ours']:.3f}x")
    print(f'total wall time {time.perf_counter() - started:.0f} s')
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k not in ('worker', 'workdir', 'json', 'profile')}
        Path(args.json).write_text(json.dumps(dict(settings=settings, model=model_figures, summary=summary,
                                                   ratios=ratios), indent=2))
        print(f'figures saved to {args.json}')


if __name__ == '__main__':
    main()
