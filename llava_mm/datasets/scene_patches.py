"""Drawn scenes with per-patch labels, for the vision pretraining stage of the tiny scenes recipe."""
from typing import List

from llava_mm.registry import DATASETS
from llava_mm.scenes.patch_labels import patch_labels
from llava_mm.scenes.scene import Scene
from .annotation_files import load_json, require_keys
from .base import ImageTextDataset


@DATASETS.register_module()
class ScenePatchDataset(ImageTextDataset):
    """The images of ``tools/make_scenes.py`` output with what lies under each patch.

    ``ann_file`` is the ``annotations/scenes_<split>.json`` that ``make_scenes`` writes (the ground truth of what
    was drawn); ``data_prefix`` is the folder its ``image`` paths are relative to (the output root). ``grid`` is
    the tower's patches per side (image size / patch size). The labels are of LLaVA-1.5's frame, so the pipeline
    must pad to a square (``PadToSquare``) before resizing. Samples carry ``patch_labels``
    (``PackLlavaInputs(data_keys=('patch_labels', ...))``).
    """

    def __init__(self, *args, grid: int, test_mode: bool = False, **kwargs) -> None:
        self.grid = grid
        pipeline = kwargs.get('pipeline') or []
        if not any((step.get('type') if isinstance(step, dict) else type(step).__name__) == 'PadToSquare'
                   for step in pipeline):
            raise ValueError(f'ScenePatchDataset({kwargs.get("ann_file", "")!r}): the patch labels are of the '
                             'padded-square frame; the pipeline needs PadToSquare before the resize')
        super().__init__(*args, test_mode=test_mode, **kwargs)

    def load_samples(self) -> List[dict]:
        ann_file = self._require_file(self.ann_file, 'ann_file')
        data = load_json(ann_file)
        records = data.get('scenes') if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise ValueError(f'{ann_file}: expected make_scenes\' {{"scenes": [...]}} '
                             '(annotations/scenes_<split>.json)')
        samples = []
        for i, record in enumerate(records):
            require_keys(record, ('image_id', 'image', 'scene'), f'{ann_file}: scenes[{i}]')
            try:
                scene = Scene.from_dict(record['scene'])
            except (TypeError, KeyError) as err:
                raise ValueError(f'{ann_file}: scenes[{i}] (image_id {record["image_id"]}): not a scene: {err}') \
                    from None
            samples.append(dict(image_id=record['image_id'], img_path=self.image_path(record['image']),
                                patch_labels=patch_labels(scene, self.grid)))
        return samples
