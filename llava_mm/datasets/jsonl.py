"""Question sets in JSON-lines files: LLaVA's eval questions and custom VQA sets."""
from typing import List

from llava_mm.registry import DATASETS
from .base import ImageTextDataset
from .coco_caption import coco_image_id
from .annotation_files import load_jsonl, require_keys


@DATASETS.register_module()
class LlavaQuestionJsonl(ImageTextDataset):
    """LLaVA's evaluation question files, e.g. ``llava_vqav2_mscoco_test-dev2015.jsonl``.

    Each line is ``{"question_id", "image", "text"[, "category"]}``; ``image``
    is relative to ``data_prefix``. ``text`` becomes the sample's ``question``
    unchanged. LLaVA's files already end their questions with the answer-style
    instruction ("Answer the question using a single word or phrase."), so
    configs using them set ``model.question_template='{question}'`` to avoid
    asking it twice (see ``llava-7b-v1.5_vqav2-testdev.py``).
    """

    def load_samples(self) -> List[dict]:
        ann_file = self._require_file(self.ann_file, 'ann_file')
        samples = []
        for lineno, record in load_jsonl(ann_file):
            require_keys(record, ['question_id', 'image', 'text'], f'{ann_file}, line {lineno}')
            sample = dict(question_id=record['question_id'], question=record['text'],
                          img_path=self.image_path(record['image']))
            image_id = coco_image_id({'image': record['image']})
            if image_id is not None:
                sample['image_id'] = image_id
            if 'category' in record:
                sample['category'] = record['category']
            samples.append(sample)
        return samples


@DATASETS.register_module()
class VQAJsonl(ImageTextDataset):
    """A custom VQA set: one ``{"image", "question", "answers"}`` object per line.

    ``answers`` is a list of reference answers (or one string); optional keys
    ``question_id`` (default: the record's index), ``image_id`` and
    ``answer_type`` are passed on. Samples carry ``gt_answer`` (list) for
    ``VQAAcc``.
    """

    def load_samples(self) -> List[dict]:
        ann_file = self._require_file(self.ann_file, 'ann_file')
        samples = []
        for i, (lineno, record) in enumerate(load_jsonl(ann_file)):
            require_keys(record, ['image', 'question', 'answers'], f'{ann_file}, line {lineno}')
            answers = record['answers']
            answers = [answers] if isinstance(answers, str) else list(answers)
            sample = dict(question_id=record.get('question_id', i), question=record['question'],
                          gt_answer=answers, img_path=self.image_path(record['image']))
            for key in ('image_id', 'answer_type'):
                if key in record:
                    sample[key] = record[key]
            samples.append(sample)
        return samples
