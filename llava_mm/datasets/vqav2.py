"""VQAv2 with the official question / annotation json files."""
from typing import Dict, List, Optional

from llava_mm.registry import DATASETS
from .base import ImageTextDataset
from .annotation_files import load_json, require_keys

#: Image folder of a question file's ``data_subtype`` where the two differ:
#: test-dev questions are about test2015 images.
IMAGE_SPLIT_OF_SUBTYPE = {'test-dev2015': 'test2015'}


@DATASETS.register_module()
class VQAv2(ImageTextDataset):
    """VQAv2 (or any dataset in the official VQA format).

    Args:
        question_file: ``v2_OpenEnded_mscoco_{split}_questions.json``:
            ``{"data_subtype": ..., "questions": [{question_id, image_id, question}]}``.
        ann_file: ``v2_mscoco_{split}_annotations.json`` with 10 ``answers`` and
            the ``answer_type`` per question; empty for test / test-dev, which
            have no public answers.
        data_prefix: the image folder, e.g. ``'val2014'``.
        image_name: how an image file is named from ``split`` and ``image_id``.
        image_split: the ``{split}`` of ``image_name``; by default the question
            file's ``data_subtype`` (``test-dev2015`` -> ``test2015``).

    Samples carry ``question_id``, ``image_id``, ``question``, ``img_path`` and,
    with ``ann_file``, ``gt_answer`` (the 10 answer strings, repeats kept, as
    the official accuracy needs them), ``answer_type`` and ``question_type``.
    Questions are kept in the question file's order.
    """

    EXTRA_FILES = ('question_file', )

    def __init__(self,
                 question_file: str,
                 ann_file: str = '',
                 image_name: str = 'COCO_{split}_{image_id:012d}.jpg',
                 image_split: Optional[str] = None,
                 **kwargs) -> None:
        self.question_file = question_file
        self.image_name = image_name
        self.image_split = image_split
        super().__init__(ann_file=ann_file, **kwargs)

    @property
    def image_list_file(self) -> str:
        return self.question_file

    def _load_questions(self) -> tuple:
        path = self._require_file(self.question_file, 'question_file')
        content = load_json(path, 'Question file')
        if not isinstance(content, dict) or not isinstance(content.get('questions'), list):
            raise ValueError(f'{path}: expected the official VQA layout {{"questions": [...], ...}}')
        split = self.image_split or content.get('data_subtype')
        if split is None and '{split}' in self.image_name:
            raise ValueError(f'{path} has no "data_subtype"; pass image_split (e.g. "val2014")')
        return content['questions'], IMAGE_SPLIT_OF_SUBTYPE.get(split, split)

    def _load_annotations(self) -> Optional[Dict[int, dict]]:
        if not self.ann_file:
            return None
        content = load_json(self.ann_file)
        if not isinstance(content, dict) or not isinstance(content.get('annotations'), list):
            raise ValueError(f'{self.ann_file}: expected the official VQA layout {{"annotations": [...], ...}}')
        annotations = {}
        for i, ann in enumerate(content['annotations']):
            require_keys(ann, ['question_id', 'answers'], f'{self.ann_file}, annotation {i}')
            annotations[ann['question_id']] = ann
        return annotations

    def load_samples(self) -> List[dict]:
        questions, split = self._load_questions()
        annotations = self._load_annotations()
        samples, unanswered = [], []
        for i, q in enumerate(questions):
            require_keys(q, ['question_id', 'image_id', 'question'], f'{self.question_file}, question {i}')
            name = self.image_name.format(split=split, image_id=q['image_id'])
            sample = dict(question_id=q['question_id'], image_id=q['image_id'], question=q['question'],
                          img_path=self.image_path(name))
            if annotations is not None:
                ann = annotations.get(q['question_id'])
                if ann is None:
                    unanswered.append(q['question_id'])
                    continue
                sample['gt_answer'] = [a['answer'] for a in ann['answers']]
                sample['answer_type'] = ann.get('answer_type')
                sample['question_type'] = ann.get('question_type')
            samples.append(sample)
        if unanswered:
            shown = ', '.join(str(q) for q in unanswered[:10])
            raise ValueError(f'{self.ann_file} has no annotation for {len(unanswered)} question(s) of '
                             f'{self.question_file}: question_id {shown}' + (' ...' if len(unanswered) > 10 else ''))
        return samples
