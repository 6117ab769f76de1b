"""Small datasets in the official layouts, drawn on the spot.

Tests, benchmarks and first-time users need COCO / VQAv2 / ScienceQA shaped
data without downloading gigabytes: these functions write a few drawn images
(coloured shapes, non-square, each one different) plus annotation files that
follow the real formats byte for byte where it matters (keys, nesting, file
names), so the same configs run on them as on the real sets.
"""
import json
import random
from pathlib import Path
from typing import Dict, List, Tuple, Union

from PIL import Image, ImageDraw

PathLike = Union[str, Path]

COLOURS = {'red': (220, 40, 40), 'green': (40, 180, 60), 'blue': (40, 70, 220), 'yellow': (240, 220, 40),
           'white': (245, 245, 245), 'black': (20, 20, 20), 'brown': (140, 90, 40)}
CAPTIONS = [
    'A cat and a dog are sitting on a blanket in the living room.',
    'Two cats sleep on a red couch next to a window.',
    'A brown dog runs across the green grass with a ball.',
    'A man riding a skateboard down a street.',
    'A woman holding an umbrella in the rain.',
    'A plate of food with broccoli, rice and meat on a wooden table.',
    'The bus is parked next to the building near the trees.',
]
QUESTIONS = [  # (question, answer_type, answer pool)
    ('What color is the cat?', 'other', ['red', 'brown', 'white', 'black']),
    ('How many dogs are there?', 'number', ['one', 'two', 'three', '2']),
    ('Is there a person in the image?', 'yes/no', ['yes', 'no']),
    ('What animal is in the picture?', 'other', ['cat', 'dog', 'cats']),
    ('Where is the bus?', 'other', ['street', 'next to building', 'near trees']),
]
SIZES = [(320, 240), (240, 320), (500, 180), (200, 200), (97, 301), (640, 427), (260, 150)]


def draw_image(seed: int, size: Tuple[int, int] = (320, 240)) -> Image.Image:
    """A picture of ellipses and rectangles; each seed gives a different one."""
    rng = random.Random(seed)
    colours = list(COLOURS.values())
    img = Image.new('RGB', size, rng.choice(colours))
    draw = ImageDraw.Draw(img)
    for _ in range(5):
        w, h = rng.randint(10, max(11, size[0] // 2)), rng.randint(10, max(11, size[1] // 2))
        x, y = rng.randint(0, size[0] - 10), rng.randint(0, size[1] - 10)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x, y, x + w, y + h], fill=rng.choice(colours))
    return img


def _save(img: Image.Image, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return str(path)


def _dump(obj, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return str(path)


def _coco_ids(num_images: int, seed: int) -> List[int]:
    rng = random.Random(seed)
    return sorted(rng.sample(range(1, 600000), num_images))


def make_toy_coco_caption(root: PathLike, num_images: int = 21, split: str = 'val2014',
                          seed: int = 0) -> Dict[str, str]:
    """COCO Karpathy-style caption data under ``root``::

        {split}/COCO_{split}_{id:012d}.jpg
        annotations/coco_karpathy_test.json     [{image, caption: [5], image_id}]
        annotations/coco_karpathy_test_gt.json  COCO captions format

    Returns the paths (``data_root``, ``ann_file``, ``gt_file``) and ``image_ids``.
    """
    root = Path(root)
    rng = random.Random(seed)
    entries, images, annotations = [], [], []
    for n, image_id in enumerate(_coco_ids(num_images, seed)):
        name = f'{split}/COCO_{split}_{image_id:012d}.jpg'
        _save(draw_image(seed * 1000 + n, SIZES[n % len(SIZES)]), root / name)
        captions = rng.sample(CAPTIONS, 5)
        entries.append(dict(image=name, caption=captions, image_id=image_id))
        images.append(dict(id=image_id, file_name=Path(name).name))
        annotations.extend(dict(image_id=image_id, id=len(annotations) + 1, caption=c) for c in captions)
    gt = dict(info={}, licenses=[], type='captions', images=images, annotations=annotations)
    return dict(data_root=str(root),
                ann_file=_dump(entries, root / 'annotations/coco_karpathy_test.json'),
                gt_file=_dump(gt, root / 'annotations/coco_karpathy_test_gt.json'),
                image_ids=[e['image_id'] for e in entries])


def make_toy_vqav2(root: PathLike, num_images: int = 21, questions_per_image: int = 1, split: str = 'val2014',
                   with_answers: bool = True, seed: int = 0) -> Dict[str, str]:
    """VQAv2 in the official layout under ``root``::

        {split}/COCO_{split}_{id:012d}.jpg
        annotations/v2_OpenEnded_mscoco_{split}_questions.json
        annotations/v2_mscoco_{split}_annotations.json   (10 answers each; if with_answers)

    Returns ``data_root``, ``data_prefix``, ``question_file``, ``ann_file``.
    """
    root = Path(root)
    rng = random.Random(seed)
    image_split = 'test2015' if split.startswith('test') else split
    questions, annotations = [], []
    for n, image_id in enumerate(_coco_ids(num_images, seed + 1)):
        _save(draw_image(seed * 1000 + 500 + n, SIZES[n % len(SIZES)]),
              root / image_split / f'COCO_{image_split}_{image_id:012d}.jpg')
        for k in range(questions_per_image):
            question, answer_type, pool = QUESTIONS[(n + k) % len(QUESTIONS)]
            question_id = image_id * 1000 + k
            questions.append(dict(image_id=image_id, question=question, question_id=question_id))
            answers = [rng.choice(pool) for _ in range(10)]
            annotations.append(dict(
                question_id=question_id, image_id=image_id, question_type=question.split()[0].lower(),
                answer_type=answer_type, multiple_choice_answer=max(set(answers), key=answers.count),
                answers=[dict(answer=a, answer_confidence='yes', answer_id=i + 1) for i, a in enumerate(answers)]))
    header = dict(info={}, license={}, data_type='mscoco', data_subtype=split)
    files = dict(data_root=str(root), data_prefix=image_split,
                 question_file=_dump(dict(header, task_type='Open-Ended', questions=questions),
                                     root / f'annotations/v2_OpenEnded_mscoco_{split}_questions.json'),
                 ann_file='')
    if with_answers:
        files['ann_file'] = _dump(dict(header, annotations=annotations),
                                  root / f'annotations/v2_mscoco_{split}_annotations.json')
    return files


def make_toy_llava_questions(root: PathLike, num_images: int = 7, seed: int = 0,
                             instruction: str = 'Answer the question using a single word or phrase.'
                             ) -> Dict[str, str]:
    """LLaVA's test-dev question jsonl (``{question_id, image, text, category}``,
    the instruction already in ``text``) with its images under ``test2015/``."""
    root = Path(root)
    lines = []
    for n, image_id in enumerate(_coco_ids(num_images, seed + 2)):
        name = f'COCO_test2015_{image_id:012d}.jpg'
        _save(draw_image(seed * 1000 + 700 + n, SIZES[n % len(SIZES)]), root / 'test2015' / name)
        question = QUESTIONS[n % len(QUESTIONS)][0]
        lines.append(json.dumps(dict(question_id=image_id * 1000, image=name, text=f'{question}\n{instruction}',
                                     category='default')))
    path = root / 'llava_vqav2_mscoco_test-dev2015.jsonl'
    path.write_text('\n'.join(lines) + '\n')
    return dict(data_root=str(root), data_prefix='test2015', ann_file=str(path))


def make_toy_vqa_jsonl(root: PathLike, num_images: int = 7, seed: int = 0) -> Dict[str, str]:
    """A custom ``{image, question, answers}`` jsonl with PNG and JPEG images."""
    root = Path(root)
    rng = random.Random(seed)
    lines = []
    for n in range(num_images):
        name = f'img_{n}.png' if n % 2 else f'img_{n}.jpg'
        _save(draw_image(seed * 1000 + 800 + n, SIZES[n % len(SIZES)]), root / 'images' / name)
        question, _, pool = QUESTIONS[n % len(QUESTIONS)]
        lines.append(json.dumps(dict(image=name, question=question, answers=rng.sample(pool, 2))))
    path = root / 'vqa.jsonl'
    path.write_text('\n'.join(lines) + '\n')
    return dict(data_root=str(root), data_prefix='images', ann_file=str(path))


def make_toy_scienceqa(root: PathLike, num_problems: int = 9, seed: int = 0) -> Dict[str, str]:
    """ScienceQA's ``problems.json`` + ``pid_splits.json`` + ``images/{split}/{pid}/image.png``;
    every third problem has no image, every other one has a hint."""
    root = Path(root)
    rng = random.Random(seed)
    problems, splits = {}, {'train': [], 'val': [], 'test': []}
    subjects = ['natural science', 'social science', 'language science']
    for n in range(num_problems):
        pid = str(100 + n)
        colours = rng.sample(sorted(COLOURS), 2 + n % 3)
        has_image = n % 3 != 2
        problems[pid] = dict(
            question='Which color is the largest shape?', choices=colours, answer=rng.randrange(len(colours)),
            hint='Look at the shapes in the picture.' if n % 2 else '', image='image.png' if has_image else None,
            task='closed choice', grade=f'grade{2 + n % 6}', subject=subjects[n % 3], topic='colors',
            category='Identify colors', skill='colors', lecture='', solution='', split='test')
        splits['test'].append(pid)
        if has_image:
            _save(draw_image(seed * 1000 + 900 + n, SIZES[n % len(SIZES)]), root / 'images/test' / pid / 'image.png')
    return dict(data_root=str(root), ann_file=_dump(problems, root / 'problems.json'),
                split_file=_dump(splits, root / 'pid_splits.json'), data_prefix='images/test')
