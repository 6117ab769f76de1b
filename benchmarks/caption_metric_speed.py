"""Speed of the COCO caption metric: pycocoevalcap + Java vs llava_mm.COCOCaption.

Builds a synthetic but realistic split (default 5000 images x 5 references + 1
prediction, seeded grammar with capitals, punctuation, possessives, numbers,
hyphens, quotes) and times, in the same run:

* reference: what ``COCOEvalCap.evaluate`` does minus METEOR and SPICE, i.e.
  pycocotools ``COCO``/``loadRes``, pycocoevalcap's Java ``PTBTokenizer`` and its
  ``Bleu(4)``, ``Rouge`` and ``Cider`` scorers;
* ours: ``COCOCaption(meteor=False)`` built from the registry, ``process`` +
  ``evaluate`` (pure-Python tokenizer, vectorized BLEU/CIDEr-D, pycocoevalcap
  ROUGE-L).

It prints both times, their ratio and the largest absolute difference of each
score.  Run from the repository root::

    python benchmarks/caption_metric_speed.py [--images 5000] [--repeat 3]
"""
import argparse
import contextlib
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

SCENES = {
    'subjects': [('a man', 'a guy', 'a person'), ('a woman', 'a lady', 'a young woman'),
                 ('two dogs', 'a pair of dogs', '2 dogs'), ('a cat', 'a kitten', 'a small cat'),
                 ('a group of people', 'several people', 'a crowd'), ('a little girl', 'a young girl', 'a child'),
                 ('a skateboarder', 'a skater', 'a teenage boy'), ('an elephant', 'a large elephant', 'the elephant'),
                 ('a giraffe', 'a tall giraffe', 'two giraffes'), ('a baseball player', 'a batter', 'the player')],
    'verbs': [('riding', 'on top of', 'sitting on'), ('holding', 'carrying', 'with'),
              ('standing next to', 'near', 'beside'), ('eating', 'biting into', 'enjoying'),
              ('looking at', 'watching', 'staring at'), ('playing with', 'throwing', 'catching')],
    'objects': [('a surfboard', 'a surf board', 'a white surfboard'), ('a red bus', 'a double-decker bus', 'the bus'),
                ('a slice of pizza', 'some pizza', 'a large pizza'), ('a frisbee', 'a flying disc', 'a red frisbee'),
                ('a kite', 'a colorful kite', 'two kites'), ('an umbrella', 'a black umbrella', 'a large umbrella'),
                ("the dog's toy", 'a tennis ball', 'a stick'), ('a laptop', 'a computer', 'an open laptop')],
    'places': [('on the beach', 'at the beach', 'near the ocean'), ('in a park', 'on the grass', 'in a grassy field'),
               ('on a city street', 'in the street', 'downtown'), ('in a kitchen', 'at home', 'on a table'),
               ('at night', 'after dark', 'in the evening'), ('in the snow', 'on a snowy hill', 'in winter')],
}
EXTRAS = [', while smiling', ' (outdoors)', ' on a sunny day', ', and a "Welcome" sign', " at St. Mary's",
          ' - a well-known spot', ' with 3 friends', ' in the U.S.']


def make_caption(rng, scene):
    subject, verb, obj, place = (rng.choice(options) for options in scene)
    text = f'{subject} {verb} {obj}'
    if rng.random() < 0.7:
        text += f' {place}'
    if rng.random() < 0.2:
        text += rng.choice(EXTRAS)
    if rng.random() < 0.85:
        text = text[0].upper() + text[1:]
    return text + rng.choice(['.', '.', '.', '', ' .', '!'])


def make_split(images, refs, seed=0):
    """COCO captions ground truth + predictions sharing each image's scene."""
    rng = random.Random(seed)
    gt = {'images': [], 'annotations': []}
    predictions = []
    for image_id in range(1, images + 1):
        scene = [rng.choice(SCENES[k]) for k in ('subjects', 'verbs', 'objects', 'places')]
        gt['images'].append({'id': image_id, 'file_name': f'COCO_val2014_{image_id:012d}.jpg'})
        for _ in range(refs):
            gt['annotations'].append({'image_id': image_id, 'id': len(gt['annotations']) + 1,
                                      'caption': make_caption(rng, scene)})
        if rng.random() < 0.3:  # a prediction about another scene now and then
            scene = [rng.choice(SCENES[k]) for k in ('subjects', 'verbs', 'objects', 'places')]
        predictions.append({'image_id': image_id, 'caption': make_caption(rng, scene)})
    return gt, predictions


def reference_scores(gt_file, predictions):
    """pycocoevalcap + Java, exactly as the tests' reference runs it (without METEOR)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'test_evaluation',
                        'java_reference.py')
    spec = importlib.util.spec_from_file_location('java_reference', path)
    java_reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(java_reference)
    with contextlib.redirect_stdout(io.StringIO()):
        return java_reference.official_caption_scores(gt_file, predictions, with_meteor=False)


def our_scores(gt_file, predictions):
    from llava_mm.registry import METRICS
    metric = METRICS.build(dict(type='COCOCaption', ann_file=gt_file, meteor=False, prefix='x'))
    metric.process(None, [{'image_id': p['image_id'], 'pred_caption': p['caption']} for p in predictions])
    return {k[2:]: v for k, v in metric.evaluate(len(predictions)).items()}


def timed(fn, repeat, *args):
    best, out = float('inf'), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=5000)
    parser.add_argument('--refs', type=int, default=5)
    parser.add_argument('--repeat', type=int, default=1, help='report the best of this many runs')
    args = parser.parse_args()

    import llava_mm.evaluation  # noqa: F401  (import cost is not part of the timing)
    gt, predictions = make_split(args.images, args.refs)
    workdir = tempfile.mkdtemp(prefix='caption_bench_')
    gt_file = os.path.join(workdir, 'captions_gt.json')
    with open(gt_file, 'w') as f:
        json.dump(gt, f)
    print(f'{args.images} images x {args.refs} references + 1 prediction '
          f'({len(gt["annotations"]) + len(predictions)} captions), best of {args.repeat}')

    ours_time, ours = timed(our_scores, args.repeat, gt_file, predictions)
    print(f'llava_mm COCOCaption (no METEOR):         {ours_time:7.2f} s')
    if shutil.which('java') is None:
        print('java not on PATH: pycocoevalcap reference skipped')
        return
    ref_time, ref = timed(reference_scores, args.repeat, gt_file, predictions)
    print(f'pycocoevalcap + Java (tok, BLEU, ROUGE-L, CIDEr): {ref_time:7.2f} s')
    print(f'speed-up: {ref_time / ours_time:.2f}x')
    print('score          pycocoevalcap        llava_mm       |diff|')
    for key in ref:
        print(f'{key:9s} {ref[key]:18.12f} {ours[key]:18.12f} {abs(ref[key] - ours[key]):10.2e}')
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
