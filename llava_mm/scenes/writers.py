"""Writing a scene data set in the layouts of the real LLaVA / COCO / VQAv2 files.

``write_scenes(out, ...)`` draws ``num_images`` scenes into ``out/{split}/``
and writes, from their descriptions::

    {split}/COCO_{split}_{image_id:012d}.jpg
    pretrain.json                                  LCS-558K schema (stage-1 captions)
    instruct.json                                  LLaVA-Instruct schema (multi-turn conversations)
    annotations/coco_karpathy_test.json            [{image, caption: [5], image_id}]
    annotations/coco_karpathy_test_gt.json         COCO captions format
    annotations/v2_OpenEnded_mscoco_{split}_questions.json
    annotations/v2_mscoco_{split}_annotations.json 10 annotator answers per question
    annotations/scenes_{split}.json                what was drawn: the ground truth of all the above

``image`` paths in every file are relative to ``out`` (the image root of
``pretrain.json`` / ``instruct.json``, the ``data_root`` of the COCO and VQAv2
configs). Image ``n`` (0-based) has ``image_id`` ``n + 1`` and draws from its
own random streams, seeded by ``(seed, n)``: the same seed gives the same
bytes, and the text of an image does not depend on the other images.
"""
import json
import random
import re
from pathlib import Path
from typing import Dict, Iterable, List, Union

from .drawing import render_scene
from .language import BRIEF_INSTRUCTIONS, captions, conversation, human_answers, sample_questions
from .scene import Scene, sample_scene

PathLike = Union[str, Path]
OUTPUTS = ('pretrain', 'instruct', 'caption', 'vqa')
JPEG_QUALITY = 95
_SPLIT = re.compile(r'^[A-Za-z0-9_]+$')


def make_scene(seed: int, index: int) -> Scene:
    """Scene ``index`` of the data set drawn with ``seed``."""
    return sample_scene(random.Random(f'{seed}:{index}:scene'))


def image_name(split: str, image_id: int) -> str:
    """The COCO file name, relative to the output root."""
    return f'{split}/COCO_{split}_{image_id:012d}.jpg'


def _dump(obj, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding='utf-8')
    return str(path)


def _check_arguments(out: Path, num_images: int, split: str, outputs: Iterable[str], questions_per_image: int,
                     force: bool) -> List[str]:
    if not isinstance(num_images, int) or num_images < 1:
        raise ValueError(f'num_images must be a positive integer, got {num_images!r}')
    if not isinstance(questions_per_image, int) or questions_per_image < 1:
        raise ValueError(f'questions_per_image must be a positive integer, got {questions_per_image!r}')
    if not _SPLIT.match(split):
        raise ValueError(f'split must be a plain name such as "val2014" (letters, digits, _), got {split!r}')
    outputs = list(dict.fromkeys(outputs))
    unknown = [o for o in outputs if o not in OUTPUTS]
    if unknown or not outputs:
        raise ValueError(f'unknown output(s) {unknown}; choose from {", ".join(OUTPUTS)}' if unknown else
                         f'no outputs chosen; choose from {", ".join(OUTPUTS)}')
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f'{out} exists and is not a directory')
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FileExistsError(f'{out} is not empty; pass force=True (--force) to write into it')
    return outputs


def write_scenes(out: PathLike, num_images: int, seed: int = 0, split: str = 'val2014',
                 outputs: Iterable[str] = OUTPUTS, questions_per_image: int = 3,
                 force: bool = False) -> Dict[str, str]:
    """Draw a scene data set under ``out`` (layout in the module docstring); returns the written paths.

    ``outputs`` picks the annotation files (all by default); the images and
    ``annotations/scenes_{split}.json`` are always written. With ``force``, an
    existing ``out`` is written into: files of the same names are replaced and
    older images of ``split`` removed, so the folder holds exactly the listed images.
    """
    out = Path(out)
    outputs = _check_arguments(out, num_images, split, outputs, questions_per_image, force)
    image_dir = out / split
    if image_dir.is_dir():
        for old in image_dir.glob(f'COCO_{split}_*.jpg'):
            old.unlink()
    image_dir.mkdir(parents=True, exist_ok=True)

    records, pretrain, instruct, karpathy, gt_images, gt_captions = [], [], [], [], [], []
    questions, annotations = [], []
    for index in range(num_images):
        image_id = index + 1
        scene = make_scene(seed, index)
        name = image_name(split, image_id)
        render_scene(scene).save(out / name, quality=JPEG_QUALITY, subsampling=0)
        records.append(dict(image_id=image_id, image=name, scene=scene.to_dict()))
        text_rng = random.Random(f'{seed}:{index}:text')
        refs = captions(scene)
        if 'pretrain' in outputs:
            pretrain.append(dict(id=f'{image_id:012d}', image=name, conversations=[
                {'from': 'human', 'value': '<image>\n' + text_rng.choice(BRIEF_INSTRUCTIONS)},
                {'from': 'gpt', 'value': text_rng.choice(refs)}]))
        if 'instruct' in outputs:
            instruct.append(dict(id=f'{image_id:012d}', image=name, conversations=conversation(scene, text_rng)))
        if 'caption' in outputs:
            karpathy.append(dict(image=name, caption=refs, image_id=image_id))
            gt_images.append(dict(id=image_id, file_name=Path(name).name, width=scene.width, height=scene.height))
            gt_captions.extend(dict(image_id=image_id, id=len(gt_captions) + k + 1, caption=c)
                               for k, c in enumerate(refs))
        if 'vqa' in outputs:
            vqa_rng = random.Random(f'{seed}:{index}:vqa')
            for k, qa in enumerate(sample_questions(scene, vqa_rng, questions_per_image)):
                question_id = image_id * 1000 + k
                questions.append(dict(image_id=image_id, question=qa.question, question_id=question_id))
                answers = human_answers(qa, vqa_rng)
                annotations.append(dict(
                    question_type=qa.question_type, multiple_choice_answer=qa.answer, image_id=image_id,
                    answer_type=qa.answer_type, question_id=question_id,
                    answers=[dict(answer=a, answer_confidence='yes' if vqa_rng.random() < 0.9 else 'maybe',
                                  answer_id=i + 1) for i, a in enumerate(answers)]))

    info = dict(description='llava_mm drawn scenes (tools/make_scenes.py)', seed=seed, num_images=num_images)
    ann = out / 'annotations'
    paths = dict(root=str(out), images=str(image_dir),
                 scenes=_dump(dict(info=info, split=split, scenes=records), ann / f'scenes_{split}.json'))
    if 'pretrain' in outputs:
        paths['pretrain'] = _dump(pretrain, out / 'pretrain.json')
    if 'instruct' in outputs:
        paths['instruct'] = _dump(instruct, out / 'instruct.json')
    if 'caption' in outputs:
        paths['caption'] = _dump(karpathy, ann / 'coco_karpathy_test.json')
        paths['caption_gt'] = _dump(dict(info=info, licenses=[], type='captions', images=gt_images,
                                         annotations=gt_captions), ann / 'coco_karpathy_test_gt.json')
    if 'vqa' in outputs:
        header = dict(info=info, license={}, data_type='mscoco', data_subtype=split)
        paths['vqa_questions'] = _dump(dict(header, task_type='Open-Ended', questions=questions),
                                       ann / f'v2_OpenEnded_mscoco_{split}_questions.json')
        paths['vqa_annotations'] = _dump(dict(header, annotations=annotations),
                                         ann / f'v2_mscoco_{split}_annotations.json')
    return paths
