"""Common ground of the evaluation datasets.

* ``data_prefix`` may be a plain folder (``'val2014'``) as well as mmengine's
  ``dict(img_path=...)``.
* Annotation files besides ``ann_file`` (question files, split files) are
  joined with ``data_root`` like ``ann_file`` is.
* Every image is checked when the annotations are loaded, so a wrong path
  fails before the long run, with all missing images listed.
* A sample whose pipeline fails (a corrupt image ...) is named in the error.
* ``test_mode`` defaults to ``True``: mmengine then raises instead of quietly
  replacing a sample whose pipeline fails with a random other one, which
  would score some samples twice and others never.
"""
from typing import List, Tuple, Union

from mmengine.dataset import BaseDataset
from mmengine.fileio import join_path
from mmengine.utils import is_abs

from .annotation_files import check_images_exist


class ImageTextDataset(BaseDataset):
    """Base class: subclasses implement ``load_samples``; each sample needs ``img_path``.

    Args:
        ann_file: the annotation file, relative to ``data_root`` unless absolute.
        data_root: root of ``ann_file``, ``data_prefix`` and ``EXTRA_FILES``.
        data_prefix: the image folder (``str``) or ``dict(img_path=folder)``.
        check_images: check that every listed image exists when loading.
        test_mode: raise when a sample's pipeline gives ``None`` (see above).
        **kwargs: other ``mmengine.dataset.BaseDataset`` arguments (``pipeline``,
            ``lazy_init``, ``indices`` ...).
    """

    #: Names of attributes holding other annotation files, joined with ``data_root``.
    EXTRA_FILES: Tuple[str, ...] = ()

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 check_images: bool = True,
                 test_mode: bool = True,
                 **kwargs) -> None:
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.check_images = check_images
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix, test_mode=test_mode,
                         **kwargs)

    def _join_prefix(self) -> None:
        for name in self.EXTRA_FILES:
            path = getattr(self, name)
            if path and not is_abs(path) and self.data_root:
                setattr(self, name, join_path(self.data_root, path))
        super()._join_prefix()

    @property
    def image_list_file(self) -> str:
        """The file whose entries name the images (for error messages)."""
        return self.ann_file

    def image_path(self, name: str) -> str:
        """Where an image named in the annotations lives."""
        prefix = self.data_prefix.get('img_path', '')
        return join_path(prefix, name) if prefix else name

    def load_samples(self) -> List[dict]:
        """The samples of the annotation files, each with ``img_path``."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        data_list = self.load_samples()
        if self.check_images:
            check_images_exist([info['img_path'] for info in data_list], self.image_list_file)
        return data_list

    def prepare_data(self, idx: int):
        """The pipeline's output; a failure (e.g. a corrupt image) names the sample's file."""
        try:
            return super().prepare_data(idx)
        except Exception as err:
            path = self.get_data_info(idx).get('img_path')
            raise RuntimeError(f'Sample {idx} ({path}) failed in the pipeline: {type(err).__name__}: {err}') from err

    def _require_file(self, path: str, arg: str) -> str:
        if not path:
            raise ValueError(f'{type(self).__name__} needs `{arg}`')
        return path
