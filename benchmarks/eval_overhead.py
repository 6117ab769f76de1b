"""How much time does ``tools/test.py`` add on top of the model itself?

Runs tools/test.py's Runner on a tiny random LLaVA and a toy VQAv2 (or COCO
caption) set drawn on the spot, and times, inside the same process:

  (a) ``runner.test()``: data loading, pipeline, collate, preprocessing,
      the model, the evaluator (metric + ``--out``) -- everything but start-up;
  (b) the sum of the model's own ``predict`` calls during (a);
  (c) a plain loop of ``predict`` over the same, already prepared batches;
  (d) the model's data preprocessor (stack + CLIP normalization) inside (a);
  (e) the evaluator (metrics' ``process`` + ``evaluate``, ``--out`` writing) inside (a).

overhead = (a - b) / b (and (a - c) / c), split into d / b, e / b and the rest
(waiting for the data loader, hooks). The tiny model is the hardest case: its
predict takes ~10 ms an image on a CPU, about what decoding, resizing and
normalizing a 336-px image costs, so the image work weighs far more than it
would next to a 7B model. Timings are noisy on shared machines: the run with
the smallest (a) and the medians are both printed.

    python benchmarks/eval_overhead.py [--num-images 40] [--dataset vqav2|coco] [--repeats 5]
"""
import argparse
import importlib.util
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator

from llava_mm.testing import toy_data
from llava_mm.models.data_preprocessor import LlavaDataPreprocessor
from llava_mm.models.llava import Llava
from llava_mm.testing import make_tiny_model_dir

REPO = Path(__file__).resolve().parents[1]


def load_test_tool():
    spec = importlib.util.spec_from_file_location('llava_mm_test_tool', REPO / 'tools/test.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class MethodTimer:
    """Adds up the time spent in ``cls.name`` while installed."""

    def __init__(self, cls, name: str) -> None:
        self.cls, self.name = cls, name
        self.total = 0.0

    @contextmanager
    def installed(self):
        original = getattr(self.cls, self.name)

        def timed(obj, *args, **kwargs):
            sync()
            start = time.perf_counter()
            out = original(obj, *args, **kwargs)
            sync()
            self.total += time.perf_counter() - start
            return out

        setattr(self.cls, self.name, timed)
        try:
            yield self
        finally:
            setattr(self.cls, self.name, original)


def write_config(root: Path, model_dir: Path, dataset: str, num_images: int, batch_size: int,
                 num_workers: int) -> Path:
    model_cfg = Config.fromfile(str(model_dir / 'config.py'))
    model = model_cfg.model.to_dict()
    if dataset == 'vqav2':
        files = toy_data.make_toy_vqav2(root / 'vqav2', num_images=num_images)
        data = dict(type='VQAv2', data_root=files['data_root'], data_prefix=files['data_prefix'],
                    question_file=files['question_file'], ann_file=files['ann_file'])
        evaluator = dict(type='VQAAcc', postprocess=True)
        model.update(task='vqa', question_template='{question}\nAnswer the question using a single word or phrase.')
    else:
        files = toy_data.make_toy_coco_caption(root / 'coco', num_images=num_images)
        data = dict(type='COCOCaption', data_root=files['data_root'], ann_file=files['ann_file'])
        evaluator = dict(type='COCOCaption', ann_file=files['gt_file'])
    data['pipeline'] = model_cfg.test_pipeline
    cfg = Config(dict(
        default_scope='llava_mm', model=model, test_cfg=dict(), test_evaluator=evaluator,
        test_dataloader=dict(batch_size=batch_size, num_workers=num_workers, persistent_workers=num_workers > 0,
                             dataset=data, sampler=dict(type='DefaultSampler', shuffle=False)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=10)), log_level='WARNING'))
    path = root / f'{dataset}_config.py'
    cfg.dump(str(path))
    return path


def prepared_batches(runner) -> List[Dict]:
    """The test batches, through pipeline, collate and preprocessing, kept in memory."""
    model = runner.model
    return [model.data_preprocessor(batch, False) for batch in runner.test_dataloader]


def plain_loop(model, batches: List[Dict]) -> float:
    sync()
    start = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            model.predict(batch['images'], batch['data_samples'])
    sync()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', choices=['vqav2', 'coco'], default='vqav2')
    parser.add_argument('--num-images', type=int, default=40)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--image-size', type=int, default=336, help='tiny model input size (v1.5: 336)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--torch-threads', type=int, help='threads for the model (default: torch\'s)')
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    tool = load_test_tool()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = make_tiny_model_dir(root / 'tiny', image_size=args.image_size)
        config = write_config(root, model_dir, args.dataset, args.num_images, args.batch_size, args.num_workers)
        out = root / 'preds.json'
        runner = tool.build_runner(tool.parse_args(
            [str(config), str(model_dir), '--work-dir', str(root / 'work'), '--out', str(out)]))
        runner.test()  # warm-up: tokenizer load, worker start, first-call costs

        full, inside, preprocess, evaluator, plain = [], [], [], [], []
        batches = prepared_batches(runner)
        for _ in range(args.repeats):
            predict_timer = MethodTimer(Llava, 'predict')
            preprocess_timer = MethodTimer(LlavaDataPreprocessor, 'forward')
            process_timer, evaluate_timer = MethodTimer(Evaluator, 'process'), MethodTimer(Evaluator, 'evaluate')
            with predict_timer.installed(), preprocess_timer.installed(), process_timer.installed(), \
                    evaluate_timer.installed():
                sync()
                start = time.perf_counter()
                runner.test()
                sync()
                full.append(time.perf_counter() - start)
            inside.append(predict_timer.total)
            preprocess.append(preprocess_timer.total)
            evaluator.append(process_timer.total + evaluate_timer.total)
            plain.append(plain_loop(runner.model, batches))

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f'CPU, {torch.get_num_threads()} threads'
    print(f'dataset={args.dataset} images={args.num_images} batch={args.batch_size} workers={args.num_workers} '
          f'image_size={args.image_size} device={device} repeats={args.repeats}')
    # The run with the least (a) is the least disturbed by other processes; medians for reference.
    best = min(range(args.repeats), key=full.__getitem__)
    for label, pick in (('best run', lambda x: x[best]), ('medians', statistics.median)):
        a, b, c, d, e = pick(full), pick(inside), pick(plain), pick(preprocess), pick(evaluator)
        print(f'{label}: (a) {a:.3f} s  (b) {b:.3f} s  (c) {c:.3f} s  (d) {d:.3f} s  (e) {e:.3f} s')
        print(f'    overhead (a-b)/b {100 * (a - b) / b:.1f} %  (a-c)/c {100 * (a - c) / c:.1f} %  '
              f'preprocessing d/b {100 * d / b:.1f} %  evaluator e/b {100 * e / b:.1f} %  '
              f'rest (data wait, hooks) (a-b-d-e)/b {100 * (a - b - d - e) / b:.1f} %')
    for name, values in (('a', full), ('b', inside), ('c', plain), ('d', preprocess), ('e', evaluator)):
        print(f'per-run ({name}): ' + ', '.join(f'{x:.3f}' for x in values))


if __name__ == '__main__':
    main()
