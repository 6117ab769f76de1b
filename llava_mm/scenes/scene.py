"""What a scene is (objects in cells of a non-square canvas) and how one is sampled.

Layouts put each object in its own cell, so objects never overlap and every
position word is unambiguous: ``single`` (center, or one half), ``row`` /
``column`` (2-3 cells) and ``grid`` (3-4 cells of a 2x2 grid). Sizes are
fractions of the image's longer side, i.e. of the padded square the model
sees, so "small" and "large" mean the same thing in every image.
"""
import random
from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence, Tuple

from .vocabulary import ANIMALS, PALETTES, PATTERNS, SHAPES, SIZE_RANGES, SIZES, colours_on

Box = Tuple[int, int, int, int]

#: Image sides are drawn from this range (pixels).
MIN_SIDE, MAX_SIDE = 160, 320
#: An object fills at most this fraction of its cell's shorter side, which keeps gaps between objects.
CELL_FILL = 0.92
#: How many objects a scene has, and how often.
COUNT_WEIGHTS = {1: 0.25, 2: 0.3, 3: 0.25, 4: 0.2}


@dataclass(frozen=True)
class SceneObject:
    kind: str      # a shape or an animal (``vocabulary.KINDS``)
    colour: str
    size: str      # 'small' | 'large'
    position: str  # a key of ``vocabulary.POSITION_PHRASES``
    box: Box       # square bounding box (x0, y0, x1, y1), x1/y1 exclusive

    @property
    def category(self) -> str:
        return 'animal' if self.kind in ANIMALS else 'shape'

    @property
    def name(self) -> str:
        """'red circle': unique within its scene."""
        return f'{self.colour} {self.kind}'


@dataclass(frozen=True)
class Background:
    palette: str   # a key of ``vocabulary.PALETTES``
    pattern: str   # 'plain' | 'striped' | 'checkered' | 'dotted'
    step: int      # pattern period in pixels
    variant: int   # stripe direction (0 horizontal, 1 vertical, 2 diagonal); unused otherwise


@dataclass(frozen=True)
class Scene:
    width: int
    height: int
    layout: str    # 'single' | 'row' | 'column' | 'grid'
    background: Background
    objects: Tuple[SceneObject, ...]  # in reading order: left to right, then top to bottom

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> 'Scene':
        objects = tuple(SceneObject(**dict(o, box=tuple(o['box']))) for o in data['objects'])
        return cls(width=data['width'], height=data['height'], layout=data['layout'],
                   background=Background(**data['background']), objects=objects)

    def relations(self) -> List[Tuple[SceneObject, str, SceneObject]]:
        """Every ``(a, 'left of' | 'above', b)`` that holds: pairs sharing a row or a column."""
        pairs = []
        for i, a in enumerate(self.objects):
            for b in self.objects[i + 1:]:
                if self.layout == 'row' or (self.layout == 'grid' and a.position.split()[0] == b.position.split()[0]):
                    pairs.append((a, 'left of', b))
                elif self.layout == 'column' or (self.layout == 'grid'
                                                 and a.position.split()[1] == b.position.split()[1]):
                    pairs.append((a, 'above', b))
        return pairs


def _canvas(rng: random.Random, layout: str, count: int) -> Tuple[int, int]:
    """(width, height) for a layout: never square, long enough along a row or column."""
    if layout == 'single':
        while True:
            w, h = rng.randint(MIN_SIDE, MAX_SIDE), rng.randint(MIN_SIDE, MAX_SIDE)
            if abs(w - h) >= 40:
                return w, h
    if layout == 'grid':
        while True:
            w, h = rng.randint(230, MAX_SIDE), rng.randint(230, MAX_SIDE)
            if abs(w - h) >= 30:
                return w, h
    long_side = rng.randint(240 if count == 2 else 270, MAX_SIDE)
    short_side = rng.randint(MIN_SIDE, long_side - (40 if count == 2 else 60))
    return (long_side, short_side) if layout == 'row' else (short_side, long_side)


def _cells(rng: random.Random, layout: str, count: int, w: int, h: int) -> List[Tuple[str, Box]]:
    """(position word, cell box) of each object, in reading order."""
    if layout == 'single':
        position = 'center' if rng.random() < 0.5 else rng.choice(['left', 'right'] if w > h else ['top', 'bottom'])
        return [(position, {'center': (0, 0, w, h), 'left': (0, 0, w // 2, h), 'right': (w // 2, 0, w, h),
                            'top': (0, 0, w, h // 2), 'bottom': (0, h // 2, w, h)}[position])]
    if layout == 'grid':
        cells = [('top left', (0, 0, w // 2, h // 2)), ('top right', (w // 2, 0, w, h // 2)),
                 ('bottom left', (0, h // 2, w // 2, h)), ('bottom right', (w // 2, h // 2, w, h))]
        if count == 3:
            del cells[rng.randrange(4)]
        return cells
    names = {('row', 2): ['left', 'right'], ('row', 3): ['left', 'center', 'right'],
             ('column', 2): ['top', 'bottom'], ('column', 3): ['top', 'center', 'bottom']}[layout, count]
    if layout == 'row':
        return [(name, (w * i // count, 0, w * (i + 1) // count, h)) for i, name in enumerate(names)]
    return [(name, (0, h * i // count, w, h * (i + 1) // count)) for i, name in enumerate(names)]


def _place(rng: random.Random, cell: Box, side: int) -> Box:
    """A square of ``side`` near the centre of ``cell`` (a little jitter, never outside)."""
    x0, y0, x1, y1 = cell
    corner = []
    for lo, hi in ((x0, x1), (y0, y1)):
        room = (hi - lo - side) / 2
        jitter = min(room, 0.07 * (hi - lo))
        corner.append(round((lo + hi) / 2 + rng.uniform(-jitter, jitter) - side / 2))
    return corner[0], corner[1], corner[0] + side, corner[1] + side


def _pick_objects(rng: random.Random, count: int, colours: Sequence[str]) -> List[Tuple[str, str]]:
    """``count`` distinct (kind, colour) pairs; kinds repeat now and then so counting is worth asking."""
    pairs: List[Tuple[str, str]] = []
    while len(pairs) < count:
        if pairs and rng.random() < 0.25:
            kind = rng.choice(pairs)[0]
        else:
            kind = rng.choice(SHAPES if rng.random() < 0.5 else ANIMALS)
        colour = rng.choice(colours)
        if (kind, colour) not in pairs:
            pairs.append((kind, colour))
    return pairs


def sample_scene(rng: random.Random, count: Optional[int] = None) -> Scene:
    """A random scene of ``count`` (default: 1-4, at random) objects."""
    if count is None:
        count = rng.choices(list(COUNT_WEIGHTS), weights=list(COUNT_WEIGHTS.values()))[0]
    if count not in COUNT_WEIGHTS:
        raise ValueError(f'a scene has 1 to 4 objects, not {count}')
    layout = {1: 'single', 4: 'grid'}.get(count) or rng.choice(['row', 'column'] + (['grid'] if count == 3 else []))
    w, h = _canvas(rng, layout, count)
    palette = rng.choice(sorted(PALETTES))
    background = Background(palette=palette, pattern=rng.choice(PATTERNS), step=rng.randint(14, 28),
                            variant=rng.randrange(3))
    longer = max(w, h)
    objects = []
    for (position, cell), (kind, colour) in zip(_cells(rng, layout, count, w, h),
                                                _pick_objects(rng, count, colours_on(palette))):
        size = rng.choice(SIZES)
        fit = min(cell[2] - cell[0], cell[3] - cell[1]) * CELL_FILL
        side = int(min(rng.uniform(*SIZE_RANGES[size]) * longer, fit))
        objects.append(SceneObject(kind=kind, colour=colour, size=size, position=position,
                                   box=_place(rng, cell, side)))
    return Scene(width=w, height=h, layout=layout, background=background, objects=tuple(objects))

