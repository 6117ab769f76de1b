"""ScienceQA multiple choice, asked the way LLaVA evaluates it."""
from typing import List, Optional, Sequence

from llava_mm.registry import DATASETS
from .base import ImageTextDataset
from .annotation_files import load_json, require_keys

#: LLaVA-1.5's instruction for single-letter answers (``--single-pred-prompt``).
SINGLE_PRED_PROMPT = "Answer with the option's letter from the given choices directly."


def option_letters(n: int) -> List[str]:
    """``['A', 'B', ...]`` for ``n`` choices."""
    return [chr(ord('A') + i) for i in range(n)]


def scienceqa_prompt(question: str, choices: Sequence[str], hint: str = '',
                     instruction: str = SINGLE_PRED_PROMPT) -> str:
    """The question text of LLaVA's ScienceQA eval file (``llava_test_CQM-A.json``)
    plus the answer instruction::

        Context: <hint>          (only when there is one)
        <question>
        A. <choice 0>
        B. <choice 1>
        Answer with the option's letter from the given choices directly.
    """
    lines = [f'Context: {hint}'] if hint and hint.strip() else []
    lines.append(question)
    lines.extend(f'{letter}. {choice}' for letter, choice in zip(option_letters(len(choices)), choices))
    text = '\n'.join(lines).strip()
    return f'{text}\n{instruction}' if instruction else text


@DATASETS.register_module()
class ScienceQA(ImageTextDataset):
    """ScienceQA (``problems.json`` + ``pid_splits.json``, official / LLaVA layout).

    Args:
        ann_file: ``problems.json``: ``{pid: {question, choices, answer (index),
            hint, image, subject, grade, category, ...}}``.
        split_file: ``pid_splits.json``: ``{split: [pid, ...]}``.
        split: which split of ``split_file`` (``'test'`` for the paper's numbers).
        data_prefix: the split's image folder; images are ``{prefix}/{pid}/{image}``.
            Defaults to ``images/{split}``.
        image_only: keep only problems with an image (LLaVA's IMG subset);
            ``False`` is refused because the model needs an image per sample.
        instruction: appended to every question (``''`` to leave it out).

    Samples carry ``question_id`` (the pid), ``question`` (the full prompt from
    ``scienceqa_prompt``), ``choices``, ``gt_answer`` (the correct letter),
    ``hint``, ``subject``, ``grade``, ``category``, ``img_path``; models should
    use ``question_template='{question}'``.
    """

    EXTRA_FILES = ('split_file', )

    def __init__(self,
                 ann_file: str = 'problems.json',
                 split_file: str = 'pid_splits.json',
                 split: str = 'test',
                 data_prefix: Optional[str] = None,
                 image_only: bool = True,
                 instruction: str = SINGLE_PRED_PROMPT,
                 **kwargs) -> None:
        if not image_only:
            raise ValueError('ScienceQA: only the image subset can be evaluated (image_only=True); '
                             'LLaVA models need an image per sample')
        self.split_file = split_file
        self.split = split
        self.instruction = instruction
        super().__init__(ann_file=ann_file, data_prefix=f'images/{split}' if data_prefix is None else data_prefix,
                         **kwargs)

    def load_samples(self) -> List[dict]:
        problems = load_json(self._require_file(self.ann_file, 'ann_file'))
        splits = load_json(self._require_file(self.split_file, 'split_file'), 'Split file')
        if not isinstance(problems, dict):
            raise ValueError(f'{self.ann_file}: expected {{pid: problem}}, got a {type(problems).__name__}')
        if not isinstance(splits, dict) or self.split not in splits:
            known = sorted(splits) if isinstance(splits, dict) else []
            raise ValueError(f'{self.split_file} has no split {self.split!r} (splits: {known})')
        samples, unknown = [], []
        for pid in splits[self.split]:
            pid = str(pid)
            problem = problems.get(pid)
            if problem is None:
                unknown.append(pid)
                continue
            require_keys(problem, ['question', 'choices', 'answer'], f'{self.ann_file}, problem {pid}')
            if not problem.get('image'):
                continue
            choices = list(problem['choices'])
            answer = problem['answer']
            if not isinstance(answer, int) or not 0 <= answer < len(choices):
                raise ValueError(f'{self.ann_file}, problem {pid}: answer {answer!r} is not an index into '
                                 f'its {len(choices)} choices')
            hint = problem.get('hint') or ''
            samples.append(dict(
                question_id=pid,
                question=scienceqa_prompt(problem['question'], choices, hint, self.instruction),
                choices=choices,
                gt_answer=option_letters(len(choices))[answer],
                hint=hint,
                subject=problem.get('subject'),
                grade=problem.get('grade'),
                category=problem.get('category'),
                img_path=self.image_path(f'{pid}/{problem["image"]}'),
            ))
        if unknown:
            raise ValueError(f'{self.split_file} lists {len(unknown)} pid(s) of split {self.split!r} that '
                             f'{self.ann_file} does not have: {", ".join(unknown[:10])}')
        return samples
