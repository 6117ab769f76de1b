"""What lies under each patch of a scene, in the frame a LLaVA-1.5 tower sees: the targets of the tiny scenes
recipe's vision pretraining (``PatchClassifier``)."""
from typing import Dict, List

import numpy as np
from PIL import Image, ImageDraw

from .drawing import draw_object
from .scene import Scene
from .vocabulary import COLOURS, KINDS

#: Label families and their classes; class 0 is the background in each.
PATCH_CLASSES: Dict[str, List[str]] = {'colour': ['background', *COLOURS], 'kind': ['background', *KINDS]}
#: A patch shows an object when the object's drawn pixels cover at least this fraction of it (and every object
#: shows in the patch it covers most, however small it is).
MIN_COVERAGE = 0.2
_BLANK = (1, 2, 3)  # a colour no drawing uses


def object_coverage(scene: Scene, grid: int) -> np.ndarray:
    """(objects, grid * grid): the fraction of each patch that each object's drawn pixels cover, in the frame of
    LLaVA-1.5's pipeline: the image centred on a square of its longer side (``expand2square`` /
    ``PadToSquare``), then resized to the tower's input."""
    if grid < 1:
        raise ValueError(f'grid must be a positive number of patches per side, got {grid}')
    # Masks are drawn at about 8 pixels per patch side, 5-10x faster than at full size. PIL's 1-pixel minimum
    # lines make thin parts look thicker there: compared with full-size masks, areas come out ~1.2x larger and
    # about 1 % of object/patch pairs fall on the other side of MIN_COVERAGE (a little label noise).
    scale = min(1.0, 8 * grid / max(scene.width, scene.height))
    width, height = round(scene.width * scale), round(scene.height * scale)
    side = max(width, height)
    coverage = np.zeros((len(scene.objects), grid * grid), dtype=np.float32)
    for i, obj in enumerate(scene.objects):
        canvas = Image.new('RGB', (width, height), _BLANK)
        draw_object(ImageDraw.Draw(canvas), obj.kind, obj.colour, [c * scale for c in obj.box])
        mask = Image.fromarray(((np.asarray(canvas) != _BLANK).any(-1) * 255).astype(np.uint8))
        square = Image.new('L', (side, side), 0)
        square.paste(mask, ((side - width) // 2, (side - height) // 2))
        mask = square
        coverage[i] = np.asarray(mask.resize((grid, grid), Image.BOX), dtype=np.float32).ravel() / 255
    return coverage


def patch_labels(scene: Scene, grid: int) -> Dict[str, List[int]]:
    """Per patch, row-major: the class of the object covering most of it (at least ``MIN_COVERAGE``, or the
    patch that object covers most), else 0."""
    labels = {name: [0] * grid * grid for name in PATCH_CLASSES}
    coverage = object_coverage(scene, grid)
    if not len(scene.objects):
        return labels
    shown = coverage >= MIN_COVERAGE
    shown[np.arange(len(coverage)), coverage.argmax(1)] = True
    coverage = np.where(shown, coverage, 0)
    best = coverage.argmax(0)
    for patch in np.flatnonzero(coverage.max(0) > 0):
        obj = scene.objects[best[patch]]
        labels['colour'][patch] = PATCH_CLASSES['colour'].index(obj.colour)
        labels['kind'][patch] = PATCH_CLASSES['kind'].index(obj.kind)
    return labels
