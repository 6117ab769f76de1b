"""LLaVA-Instruct / llava_v1_5_mix665k / LCS-558K conversations for training.

Each record is ``{"id", "image"?, "conversations": [{"from": "human"|"gpt",
"value"}]}`` (json list or jsonl); ``image`` is relative to ``data_prefix``;
records without one are text-only. Everything that can be wrong with a record
is found when the dataset is built (every conversation is encoded once and
every image opened), not hours into training; each message names the file,
the sample id and the turn. With ``skip_invalid=True`` such samples are
dropped and counted instead.

``model_max_length`` counts image tokens (``num_image_tokens`` per image, 576
for a 336-pixel ViT-L/14). Longer samples are cut at the end
(``too_long='truncate'``) or dropped (``'skip'``); a cut never splits the
image span and a sample left without any supervised token is dropped. The
counts are in ``data_report()`` (logged once at build; the same each epoch,
since the dataset does not change).

A sample after the pipeline is ``{'inputs', 'data_samples'}`` with
``input_ids`` / ``labels`` (``torch.long``) and ``sample_id`` set on the data
sample by the dataset itself, whatever the pipeline; image samples go through
``pipeline`` (``LoadImageFromFile`` ... ``PackLlavaInputs``), text-only ones
through ``text_pipeline`` (default: none) and get ``inputs=None``.
"""
import copy
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from mmengine.dataset import Compose
from mmengine.logging import print_log
from mmpretrain.structures import DataSample
from PIL import Image
from transformers import PreTrainedTokenizerBase

from llava_mm.models.prompt import IGNORE_INDEX, IMAGE_TOKEN_INDEX
from llava_mm.registry import DATASETS, TOKENIZER
from .annotation_files import MAX_LISTED, load_json, load_jsonl
from .base import ImageTextDataset
from llava_mm.models.language_model import build_tokenizer
from llava_mm.models.conversation import ConversationError, encode_conversation, get_template

TOO_LONG = ('truncate', 'skip')


def build_tokenizer_arg(tokenizer: Union[dict, str, PreTrainedTokenizerBase]) -> PreTrainedTokenizerBase:
    """A tokenizer from a ``TOKENIZER`` config dict, a folder / hub name, or as given."""
    if isinstance(tokenizer, dict):
        return TOKENIZER.build(copy.deepcopy(tokenizer))
    if isinstance(tokenizer, (str, os.PathLike)):
        return build_tokenizer(os.fspath(tokenizer))
    return tokenizer


@DATASETS.register_module()
class LlavaInstructDataset(ImageTextDataset):
    """Visual instruction-tuning conversations (see the module docstring).

    Args:
        ann_file: the ``.json`` (a list) or ``.jsonl`` file.
        tokenizer: ``TOKENIZER`` config dict, tokenizer folder, or tokenizer.
        template: ``'vicuna_v1'`` (stage 2), ``'plain'`` (stage 1), ``'llava_v1'``.
        model_max_length: the LM context, image tokens included.
        num_image_tokens: image features per image (576 at 336 px, 256 at 224 px).
        too_long: ``'truncate'`` (cut at the end) or ``'skip'``.
        skip_invalid: drop (and count) bad samples instead of failing.
        text_pipeline: transforms for text-only samples (none by default).
        check_images: open every listed image at build time.
        **kwargs: ``ImageTextDataset`` arguments (``data_root``, ``data_prefix``,
            ``pipeline``, ``lazy_init`` ...); ``test_mode`` defaults to False.
    """

    def __init__(self,
                 ann_file: str,
                 tokenizer: Union[dict, str, PreTrainedTokenizerBase],
                 template: str = 'vicuna_v1',
                 model_max_length: int = 2048,
                 num_image_tokens: int = 576,
                 too_long: str = 'truncate',
                 skip_invalid: bool = False,
                 text_pipeline: Sequence[Union[dict, Any]] = (),
                 check_images: bool = True,
                 test_mode: bool = False,
                 **kwargs) -> None:
        if too_long not in TOO_LONG:
            raise ValueError(f'too_long must be one of {TOO_LONG}, got {too_long!r}')
        self.tokenizer = build_tokenizer_arg(tokenizer)
        self.template = get_template(template)
        self.model_max_length = model_max_length
        self.num_image_tokens = num_image_tokens
        self.too_long = too_long
        self.skip_invalid = skip_invalid
        self.text_pipeline = Compose(list(text_pipeline))
        self.invalid_samples: List[str] = []
        self.length_counts: Dict[str, int] = {}
        super().__init__(ann_file=ann_file, check_images=check_images, test_mode=test_mode, **kwargs)

    # -- loading ---------------------------------------------------------------------------------------------
    def _records(self, ann_file: str):
        if ann_file.endswith('.jsonl'):
            return [(f'line {lineno}', record) for lineno, record in load_jsonl(ann_file)]
        data = load_json(ann_file)
        if not isinstance(data, list):
            raise ValueError(f'{ann_file}: expected a JSON list of samples, got {type(data).__name__}')
        return [(f'#{k}', record) for k, record in enumerate(data)]

    def _image_of(self, record: dict) -> Optional[str]:
        image = record.get('image')
        if image is None:
            return None
        if isinstance(image, (list, tuple)):
            if len(image) != 1:
                raise ConversationError(f'more than one image per sample ({len(image)} listed)')
            image = image[0]
        if not isinstance(image, str) or not image:
            raise ConversationError(f'"image" must be a file name, got {image!r:.80}')
        path = self.image_path(image)
        if self.check_images:
            if not os.path.isfile(path):
                raise ConversationError(f'image not found: {path}')
            try:
                with Image.open(path) as img:
                    img.size  # noqa: B018  (the header is read here)
            except Exception as err:
                raise ConversationError(f'image unreadable: {path} ({type(err).__name__}: {err})') from err
        return path

    def _cut(self, input_ids: List[int], labels: List[int], has_image: bool) -> Union[int, str, None]:
        """``None`` (fits), the number of ids to keep, or the reason the sample is dropped."""
        extra = input_ids.count(IMAGE_TOKEN_INDEX) * (self.num_image_tokens - 1)
        if len(input_ids) + extra <= self.model_max_length:
            return None
        if self.too_long == 'skip':
            return 'skipped_too_long'
        keep = self.model_max_length - extra
        if has_image and (keep <= input_ids.index(IMAGE_TOKEN_INDEX)):
            return 'skipped_image_does_not_fit'
        if all(label == IGNORE_INDEX for label in labels[:keep]):
            return 'skipped_no_reply_left'
        return keep

    def load_samples(self) -> List[dict]:
        ann_file = self._require_file(self.ann_file, 'ann_file')
        counts = dict(truncated=0, skipped_too_long=0, skipped_image_does_not_fit=0, skipped_no_reply_left=0)
        samples, errors = [], []
        for where, record in self._records(ann_file):
            sample_id = record.get('id', where) if isinstance(record, dict) else where
            try:
                if not isinstance(record, dict) or 'conversations' not in record:
                    raise ConversationError('expected an object with "conversations"')
                img_path = self._image_of(record)
                enc = encode_conversation(record['conversations'], self.tokenizer, self.template,
                                          has_image=img_path is not None)
            except (ConversationError, ValueError) as err:
                errors.append(f'{ann_file}: sample {sample_id!r} ({where}): {err}')
                continue
            cut = self._cut(enc['input_ids'], enc['labels'], img_path is not None)
            if isinstance(cut, str):
                counts[cut] += 1
                continue
            counts['truncated'] += cut is not None
            length = len(enc['input_ids']) if cut is None else cut
            length += (self.num_image_tokens - 1) * (img_path is not None)
            samples.append(dict(sample_id=sample_id, conversations=record['conversations'], img_path=img_path,
                                truncate_to=cut, modality_length=length if img_path is not None else -length))
        if errors and not self.skip_invalid:
            listed = '\n  '.join(errors[:MAX_LISTED])
            more = f'\n  ... and {len(errors) - MAX_LISTED} more' if len(errors) > MAX_LISTED else ''
            raise ValueError(f'{len(errors)} invalid sample(s) in {ann_file} (skip_invalid=True drops them):'
                             f'\n  {listed}{more}')
        self.invalid_samples = errors
        self.length_counts = counts
        print_log(self.data_report(len(samples)), logger='current')
        return samples

    def load_data_list(self) -> List[dict]:
        return self.load_samples()  # images were checked per sample

    # -- reporting -------------------------------------------------------------------------------------------
    def data_report(self, kept: Optional[int] = None) -> str:
        """One line: samples kept, invalid ones skipped, truncated / dropped for length."""
        kept = len(self) if kept is None else kept
        counts = ', '.join(f'{k.replace("_", " ")} {v}' for k, v in self.length_counts.items() if v)
        return (f'{type(self).__name__}({self.ann_file}): {kept} samples; invalid skipped '
                f'{len(self.invalid_samples)}; max length {self.model_max_length}: {counts or "none too long"}')

    @property
    def modality_lengths(self) -> List[int]:
        """Token lengths (image tokens included), negative for text-only samples, as LLaVA's sampler reads."""
        return [self.get_data_info(i)['modality_length'] for i in range(len(self))]

    # -- samples ---------------------------------------------------------------------------------------------
    def encode(self, data_info: dict) -> Dict[str, List[int]]:
        """``input_ids`` / ``labels`` of a data info (truncated as decided at build)."""
        enc = encode_conversation(data_info['conversations'], self.tokenizer, self.template,
                                  has_image=data_info['img_path'] is not None)
        keep = data_info['truncate_to']
        return {k: v[:keep] for k, v in enc.items()} if keep is not None else enc

    def prepare_data(self, idx: int):
        data_info = self.get_data_info(idx)
        try:
            results = dict(data_info, **self.encode(data_info))
            pipeline = self.pipeline if data_info['img_path'] is not None else self.text_pipeline
            packed = pipeline(results)
            if 'data_samples' not in packed:  # no packing transform (text-only, or no pipeline given)
                packed = {'inputs': None, 'data_samples': DataSample(metainfo=dict(img_path=data_info['img_path']))}
        except Exception as err:
            raise RuntimeError(f'{self.ann_file}: sample {data_info["sample_id"]!r} ({data_info["img_path"]}) '
                               f'failed in the pipeline: {type(err).__name__}: {err}') from err
        sample = packed['data_samples']
        sample.set_field(torch.tensor(results['input_ids'], dtype=torch.long), 'input_ids')
        sample.set_field(torch.tensor(results['labels'], dtype=torch.long), 'labels')
        sample.set_field(data_info['sample_id'], 'sample_id', field_type='metainfo')
        return packed
