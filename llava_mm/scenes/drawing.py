"""Drawing scenes with Pillow primitives: shapes, cartoon animals and patterned backgrounds.

Each object is drawn inside its square box in unit coordinates (``u, v`` in
0..1), entirely in its named colour apart from small features (eyes, nose,
beak) and darker accents (ears, wing, shell pattern), with a dark outline so
it stays visible on any background. Scenes are drawn at ``SUPERSAMPLE`` times
their size and shrunk, which smooths the edges the primitives leave jagged.
"""
import math
from typing import Callable, Dict, List, Sequence, Tuple

from PIL import Image, ImageDraw

from .scene import Background, Scene
from .vocabulary import COLOURS, PALETTES, RGB

SUPERSAMPLE = 2
Point = Tuple[float, float]

#: A point (u, v) of each kind's drawing that shows the object's own colour (its body): what tests sample.
COLOUR_POINTS: Dict[str, Point] = {
    'circle': (0.5, 0.5), 'square': (0.5, 0.5), 'triangle': (0.5, 0.65), 'star': (0.5, 0.5),
    'heart': (0.5, 0.5), 'diamond': (0.5, 0.5), 'cat': (0.5, 0.85), 'dog': (0.5, 0.88),
    'bird': (0.45, 0.78), 'fish': (0.45, 0.5), 'turtle': (0.3, 0.45),
}

EYE_WHITE, PUPIL, PINK, BEAK = (250, 250, 250), (10, 10, 10), (235, 120, 140), (240, 170, 30)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))


def _is_dark(rgb: RGB) -> bool:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 70


class Pen:
    """Draws in a box's unit coordinates with one object's colours."""

    def __init__(self, draw: ImageDraw.ImageDraw, box: Sequence[float], rgb: RGB) -> None:
        self.draw, self.rgb = draw, rgb
        self.x0, self.y0 = box[0], box[1]
        self.side = box[2] - box[0]
        self.outline = (90, 90, 90) if _is_dark(rgb) else _mix(rgb, (0, 0, 0), 0.55)
        # ears, wing, shell pattern: a shade of the same colour, light enough that white stays white
        self.accent = (_mix(rgb, (255, 255, 255), 0.3) if _is_dark(rgb)
                       else _mix(rgb, (0, 0, 0), 0.15 if min(rgb) > 200 else 0.3))
        self.width = max(2, round(self.side * 0.03))
        self.thin = max(1, round(self.side * 0.012))  # outline of small features (eyes, tongue)

    def p(self, u: float, v: float) -> Point:
        return self.x0 + u * self.side, self.y0 + v * self.side

    def rect(self, u0: float, v0: float, u1: float, v1: float) -> List[Point]:
        return [self.p(u0, v0), self.p(u1, v1)]

    def ellipse(self, u0, v0, u1, v1, fill=None, outline=True, thin=False) -> None:
        width = (self.thin if thin else self.width) if outline else 0
        self.draw.ellipse(self.rect(u0, v0, u1, v1), fill=fill or self.rgb,
                          outline=self.outline if outline else None, width=width)

    def polygon(self, points: Sequence[Point], fill=None, outline=True) -> None:
        self.draw.polygon([self.p(u, v) for u, v in points], fill=fill or self.rgb,
                          outline=self.outline if outline else None, width=self.width if outline else 0)

    def line(self, points: Sequence[Point], fill=None, width: float = 0.03) -> None:
        self.draw.line([self.p(u, v) for u, v in points], fill=fill or self.outline,
                       width=max(1, round(self.side * width)))

    def eye(self, u: float, v: float, r: float) -> None:
        self.ellipse(u - r, v - r, u + r, v + r, fill=EYE_WHITE, thin=True)
        self.ellipse(u - r / 2, v - r / 2, u + r / 2, v + r / 2, fill=PUPIL, outline=False)


# ------------------------------------------------------------------ shapes
def _star_points(n: int = 5, outer: float = 0.5, inner: float = 0.2) -> List[Point]:
    return [(0.5 + (outer if k % 2 == 0 else inner) * math.sin(math.pi * k / n),
             0.53 - (outer if k % 2 == 0 else inner) * math.cos(math.pi * k / n)) for k in range(2 * n)]


def _circle(pen: Pen) -> None:
    pen.ellipse(0.03, 0.03, 0.97, 0.97)


def _square(pen: Pen) -> None:
    pen.polygon([(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)])


def _triangle(pen: Pen) -> None:
    pen.polygon([(0.5, 0.04), (0.97, 0.92), (0.03, 0.92)])


def _star(pen: Pen) -> None:
    pen.polygon(_star_points())


def _diamond(pen: Pen) -> None:
    pen.polygon([(0.5, 0.02), (0.88, 0.5), (0.5, 0.98), (0.12, 0.5)])


def _heart(pen: Pen) -> None:
    lobes = [(0.04, 0.1, 0.52, 0.58), (0.48, 0.1, 0.96, 0.58)]
    tip = [(0.07, 0.44), (0.5, 0.94), (0.93, 0.44)]
    grow = pen.width / pen.side
    for u0, v0, u1, v1 in lobes:  # the outline: the same parts drawn larger, underneath
        pen.ellipse(u0 - grow, v0 - grow, u1 + grow, v1 + grow, fill=pen.outline, outline=False)
    pen.polygon([(0.07 - grow, 0.44), (0.5, 0.94 + 1.5 * grow), (0.93 + grow, 0.44)], fill=pen.outline,
                outline=False)
    for lobe in lobes:
        pen.ellipse(*lobe, outline=False)
    pen.polygon(tip, outline=False)


# ----------------------------------------------------------------- animals
def _cat(pen: Pen) -> None:
    """Front view: pointed ears on a round head, whiskers, a curled tail."""
    pen.draw.arc(pen.rect(0.6, 0.42, 0.98, 0.86), start=-100, end=80, fill=pen.outline,
                 width=round(pen.side * 0.1))
    pen.draw.arc(pen.rect(0.615, 0.435, 0.965, 0.845), start=-98, end=78, fill=pen.rgb, width=round(pen.side * 0.06))
    pen.ellipse(0.2, 0.5, 0.8, 1.0)
    pen.polygon([(0.2, 0.32), (0.25, 0.0), (0.46, 0.16)])
    pen.polygon([(0.8, 0.32), (0.75, 0.0), (0.54, 0.16)])
    pen.polygon([(0.25, 0.28), (0.27, 0.09), (0.39, 0.18)], fill=PINK, outline=False)
    pen.polygon([(0.75, 0.28), (0.73, 0.09), (0.61, 0.18)], fill=PINK, outline=False)
    pen.ellipse(0.2, 0.1, 0.8, 0.62)
    pen.eye(0.38, 0.33, 0.065)
    pen.eye(0.62, 0.33, 0.065)
    pen.polygon([(0.46, 0.44), (0.54, 0.44), (0.5, 0.49)], fill=PINK, outline=False)
    for side in (-1, 1):
        for dv in (0.0, 0.05):
            pen.line([(0.5 + side * 0.08, 0.48 + dv), (0.5 + side * 0.34, 0.45 + dv * 1.6)], width=0.015)


def _dog(pen: Pen) -> None:
    """Front view: floppy ears hanging beside the head, a pale muzzle, a tongue."""
    pen.ellipse(0.17, 0.52, 0.83, 1.0)
    pen.ellipse(0.2, 0.08, 0.8, 0.64)
    pen.ellipse(0.04, 0.12, 0.3, 0.56, fill=pen.accent)
    pen.ellipse(0.7, 0.12, 0.96, 0.56, fill=pen.accent)
    pen.ellipse(0.35, 0.36, 0.65, 0.6, fill=_mix(pen.rgb, (255, 255, 255), 0.5))
    pen.ellipse(0.44, 0.37, 0.56, 0.45, fill=PUPIL, outline=False)
    pen.ellipse(0.45, 0.52, 0.55, 0.66, fill=PINK, thin=True)
    pen.eye(0.37, 0.28, 0.06)
    pen.eye(0.63, 0.28, 0.06)


def _bird(pen: Pen) -> None:
    """Side view facing right: tail, round body, wing, head, beak, thin legs."""
    pen.line([(0.4, 0.82), (0.37, 0.98)], width=0.03)
    pen.line([(0.55, 0.82), (0.57, 0.98)], width=0.03)
    pen.polygon([(0.0, 0.3), (0.3, 0.5), (0.02, 0.66)], fill=pen.accent)
    pen.ellipse(0.12, 0.3, 0.78, 0.86)
    pen.ellipse(0.25, 0.46, 0.6, 0.72, fill=pen.accent)
    beak = PUPIL if pen.rgb in (COLOURS['yellow'], COLOURS['orange'], COLOURS['brown']) else BEAK
    pen.polygon([(0.86, 0.22), (1.0, 0.3), (0.86, 0.38)], fill=beak)
    pen.ellipse(0.54, 0.1, 0.9, 0.46)
    pen.eye(0.73, 0.24, 0.05)


def _fish(pen: Pen) -> None:
    """Side view facing right: forked tail, top fin, an oval body with two stripes."""
    pen.polygon([(0.0, 0.2), (0.3, 0.5), (0.0, 0.8), (0.08, 0.5)])
    pen.polygon([(0.42, 0.3), (0.56, 0.1), (0.72, 0.3)], fill=pen.accent)
    pen.ellipse(0.16, 0.22, 0.98, 0.78)
    for u in (0.58, 0.68):
        pen.draw.arc(pen.rect(u - 0.12, 0.3, u + 0.02, 0.7), start=-60, end=60, fill=pen.accent,
                     width=max(1, round(pen.side * 0.03)))
    pen.eye(0.82, 0.42, 0.055)
    pen.line([(0.93, 0.58), (0.97, 0.56)], width=0.02)


def _turtle(pen: Pen) -> None:
    """Side view facing right: a domed shell with a pattern, head, legs, tail."""
    for u in (0.2, 0.62):
        pen.ellipse(u, 0.58, u + 0.16, 0.84)
    pen.polygon([(0.1, 0.62), (0.0, 0.7), (0.13, 0.7)])
    pen.ellipse(0.74, 0.36, 1.0, 0.6)
    pen.draw.chord(pen.rect(0.06, 0.16, 0.86, 0.98), start=180, end=360, fill=pen.rgb, outline=pen.outline,
                   width=pen.width)
    pen.polygon([(0.38, 0.3), (0.54, 0.3), (0.6, 0.44), (0.46, 0.54), (0.32, 0.44)], fill=pen.accent,
                outline=False)
    pen.polygon([(0.15, 0.5), (0.26, 0.38), (0.28, 0.52)], fill=pen.accent, outline=False)
    pen.polygon([(0.66, 0.38), (0.77, 0.5), (0.64, 0.52)], fill=pen.accent, outline=False)
    pen.ellipse(0.05, 0.55, 0.87, 0.63, fill=pen.accent)
    pen.ellipse(0.88, 0.42, 0.93, 0.47, fill=PUPIL, outline=False)


DRAWERS: Dict[str, Callable[[Pen], None]] = {
    'circle': _circle, 'square': _square, 'triangle': _triangle, 'star': _star, 'heart': _heart,
    'diamond': _diamond, 'cat': _cat, 'dog': _dog, 'bird': _bird, 'fish': _fish, 'turtle': _turtle,
}


def draw_object(draw: ImageDraw.ImageDraw, kind: str, colour: str, box: Sequence[float]) -> None:
    """Draw one ``colour`` ``kind`` (a shape or an animal) filling the square ``box``."""
    if kind not in DRAWERS:
        raise ValueError(f'unknown kind {kind!r}; known: {", ".join(DRAWERS)}')
    if colour not in COLOURS:
        raise ValueError(f'unknown colour {colour!r}; known: {", ".join(COLOURS)}')
    DRAWERS[kind](Pen(draw, box, COLOURS[colour]))


# ------------------------------------------------------------ backgrounds
def draw_background(draw: ImageDraw.ImageDraw, background: Background, width: int, height: int,
                    scale: int = 1) -> None:
    base, tint = PALETTES[background.palette]
    draw.rectangle([0, 0, width, height], fill=base)
    step = background.step * scale
    if background.pattern == 'striped':
        stripe = max(2, step // 3)
        if background.variant == 0:
            for y in range(0, height, step):
                draw.rectangle([0, y, width, y + stripe - 1], fill=tint)
        elif background.variant == 1:
            for x in range(0, width, step):
                draw.rectangle([x, 0, x + stripe - 1, height], fill=tint)
        else:
            for x in range(-height, width, step):
                draw.line([(x, 0), (x + height, height)], fill=tint, width=stripe)
    elif background.pattern == 'checkered':
        for row, y in enumerate(range(0, height, step)):
            for col, x in enumerate(range(0, width, step)):
                if (row + col) % 2:
                    draw.rectangle([x, y, x + step - 1, y + step - 1], fill=tint)
    elif background.pattern == 'dotted':
        r = max(2, step // 5)
        for row, y in enumerate(range(step // 2, height, step)):
            for x in range(step // 2 + (row % 2) * step // 2, width, step):
                draw.ellipse([x - r, y - r, x + r, y + r], fill=tint)
    elif background.pattern != 'plain':
        raise ValueError(f'unknown background pattern {background.pattern!r}')


def render_scene(scene: Scene, scale: int = 1) -> Image.Image:
    """The RGB picture of ``scene``, ``scale`` times its size (larger only for display: the
    drawing is the same, with finer edges)."""
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f'scale must be a positive integer, got {scale!r}')
    s = SUPERSAMPLE * scale
    img = Image.new('RGB', (scene.width * s, scene.height * s))
    draw = ImageDraw.Draw(img)
    draw_background(draw, scene.background, scene.width * s, scene.height * s, scale=s)
    for obj in scene.objects:
        draw_object(draw, obj.kind, obj.colour, [c * s for c in obj.box])
    return img.reduce(SUPERSAMPLE)  # the mean of each block: smooth edges
