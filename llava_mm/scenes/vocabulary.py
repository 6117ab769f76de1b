"""The closed world of the scenes: colours, objects, sizes, positions and backgrounds.

Every word a caption, question or answer can use comes from here, so a tiny
tokenizer trained on ``scene_corpus()`` covers all of them. Colours are far
apart in CIELAB (ΔE ≥ 40 between any two) and each background only admits
colours that stand out from it (ΔE ≥ ``MIN_CONTRAST``), so a colour name is
never a guess even after the image is shrunk to a few dozen pixels.
"""
from functools import lru_cache
from typing import Dict, Tuple

RGB = Tuple[int, int, int]

COLOURS: Dict[str, RGB] = {
    'red': (220, 30, 30), 'green': (30, 160, 50), 'blue': (25, 85, 235), 'yellow': (250, 220, 20),
    'purple': (150, 40, 170), 'orange': (250, 140, 10), 'white': (250, 250, 250), 'black': (15, 15, 15),
    'brown': (125, 75, 35), 'gray': (128, 128, 128),
}
SHAPES = ('circle', 'square', 'triangle', 'star', 'heart', 'diamond')
ANIMALS = ('cat', 'dog', 'bird', 'fish', 'turtle')
KINDS = SHAPES + ANIMALS
PLURALS = {kind: kind if kind == 'fish' else kind + 's' for kind in KINDS}
SIZES = ('small', 'large')
#: Object extent as a fraction of the image's longer side (the side of the padded square the model sees);
#: a large one shrinks to fit its cell (never below 0.3: a third of a row, less the gaps).
SIZE_RANGES = {'small': (0.2, 0.24), 'large': (0.32, 0.45)}
NUMBER_WORDS = ('zero', 'one', 'two', 'three', 'four')

#: Where an object is; the phrase says it in a sentence ("the cat on the left").
POSITION_PHRASES = {
    'left': 'on the left', 'right': 'on the right', 'top': 'at the top', 'bottom': 'at the bottom',
    'center': 'in the center', 'top left': 'at the top left', 'top right': 'at the top right',
    'bottom left': 'at the bottom left', 'bottom right': 'at the bottom right',
}

#: Background palettes: a base colour and a slightly different tint for its pattern.
PALETTES: Dict[str, Tuple[RGB, RGB]] = {
    'sky': ((200, 225, 245), (185, 212, 236)), 'cream': ((245, 238, 215), (232, 222, 196)),
    'mint': ((212, 238, 214), (196, 226, 200)), 'lavender': ((230, 222, 245), (216, 206, 236)),
    'peach': ((250, 226, 206), (240, 212, 190)), 'slate': ((70, 80, 100), (84, 94, 114)),
    'navy': ((30, 38, 70), (44, 52, 86)), 'forest': ((40, 70, 50), (52, 84, 62)),
}
PATTERNS = ('plain', 'striped', 'checkered', 'dotted')
#: Least CIELAB distance between an object's colour and every colour of its background.
MIN_CONTRAST = 35.0


def _lab(rgb: RGB) -> Tuple[float, float, float]:
    def linear(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    r, g, b = (linear(v) for v in rgb)
    x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047)
    y = f(0.2126 * r + 0.7152 * g + 0.0722 * b)
    z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    return 116 * y - 16, 500 * (x - y), 200 * (y - z)


def colour_distance(a: RGB, b: RGB) -> float:
    """CIELAB ΔE76 between two sRGB colours (about 2.3 is just noticeable)."""
    return sum((p - q) ** 2 for p, q in zip(_lab(a), _lab(b))) ** 0.5


@lru_cache(maxsize=None)
def colours_on(palette: str) -> Tuple[str, ...]:
    """The colour names that contrast enough with every colour of ``palette``."""
    return tuple(name for name, rgb in COLOURS.items()
                 if min(colour_distance(rgb, bg) for bg in PALETTES[palette]) >= MIN_CONTRAST)


def article(word: str) -> str:
    return 'an' if word[0] in 'aeiou' else 'a'
