"""COCO captions in the Karpathy-split layout documented by mmpretrain."""
import re
from pathlib import PurePosixPath
from typing import Any, Dict, List, Optional

from llava_mm.registry import DATASETS
from .base import ImageTextDataset
from .annotation_files import load_json, require_keys

_TRAILING_NUMBER = re.compile(r'(\d+)$')


def coco_image_id(entry: Dict[str, Any]) -> Optional[int]:
    """The numeric COCO id of an annotation entry.

    An integer (or all-digit) ``image_id`` field wins; otherwise the number that
    ends the file name (``COCO_val2014_000000391895.jpg`` -> ``391895``), which
    is the id the ``*_gt.json`` files use. ``None`` when neither exists.
    """
    image_id = entry.get('image_id')
    if isinstance(image_id, int) and not isinstance(image_id, bool):
        return image_id
    if isinstance(image_id, str) and image_id.isdigit():
        return int(image_id)
    match = _TRAILING_NUMBER.search(PurePosixPath(str(entry.get('image', ''))).stem)
    return int(match.group(1)) if match else None


@DATASETS.register_module()
class COCOCaption(ImageTextDataset):
    """COCO captions, e.g. the Karpathy test split.

    ``ann_file`` (``coco_karpathy_test.json``) is a list of
    ``{"image": "val2014/COCO_val2014_000000391895.jpg", "caption": [...] or "...",
    "image_id": 391895}`` (``image_id`` optional: see ``coco_image_id``);
    ``image`` is relative to ``data_prefix``. Entries of the same image are
    merged, so each image is captioned once. Samples carry ``image_id`` (int),
    ``img_path`` and ``gt_caption`` (list); the metric scores against the COCO
    format ground truth (``coco_karpathy_test_gt.json``).
    """

    def load_samples(self) -> List[dict]:
        ann_file = self._require_file(self.ann_file, 'ann_file')
        entries = load_json(ann_file)
        if not isinstance(entries, list):
            raise ValueError(f'{ann_file}: expected a list of {{image, caption, image_id}} entries, '
                             f'got a {type(entries).__name__}')
        samples: Dict[int, dict] = {}
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ValueError(f'{ann_file}, entry {i}: expected an object, got {type(entry).__name__}')
            require_keys(entry, ['image'], f'{ann_file}, entry {i}')
            image_id = coco_image_id(entry)
            if image_id is None:
                raise ValueError(f'{ann_file}, entry {i}: cannot tell the image id of {entry["image"]!r} '
                                 '(give an integer "image_id" or a file name ending in the id)')
            captions = entry.get('caption', [])
            captions = [captions] if isinstance(captions, str) else list(captions)
            sample = samples.get(image_id)
            if sample is None:
                samples[image_id] = dict(image_id=image_id, img_path=self.image_path(entry['image']),
                                         gt_caption=captions)
            else:
                sample['gt_caption'].extend(captions)
        return list(samples.values())
