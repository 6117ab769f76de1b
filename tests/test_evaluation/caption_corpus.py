"""Realistic, deterministic caption corpora for the caption-metric tests.

Hand-written captions cover the tokenizer's special cases one by one; the
seeded generator mixes COCO-like grammar with the same phenomena (capitals,
punctuation, contractions, quotes, numbers, hyphens, abbreviations, unicode)
so every run sees the same few thousand varied lines.
"""
import random
from typing import Dict, List, Tuple

HAND_WRITTEN = [
    'A man riding a wave on top of a surfboard.',
    'a dog sitting on a bench next to a tree',
    'Two people are standing in front of a building, talking.',
    'A man (in a red shirt) is riding a horse.',
    'The colour of the "Bus" isn\'t RED, it\'s blue...',
    "I cannot believe it's not butter; we're gonna need a bigger boat",
    "He said 'hello' and left -- quickly.",
    'St. Mary\'s Church in the U.S. at 3:30 p.m. on Mr. Smith\'s lawn.',
    'It costs $1,000.50 or 50% & more [maybe] {really}',
    'Visit www.google.com or http://example.com/a/b?x=1 today!',
    'A cat/dog on a 1/2 sofa * star',
    'Two people ... walking.  Multiple   spaces here',
    "don't won't can't shouldn't I'm you're we'll they'd I've ain't y'all",
    'The dog\'s ball.The cat.',
    'He works for the U.S. The company is big.',
    'A sign reads "No Parking" in front of the Co. Ltd. office',
    'a 1 1/2 inch pipe and 3/4 cup, 5-1/2 feet',
    'call 555-123-4567 or (555) 123-4567 now',
    'a well-known, state-of-the-art X-ray T-shirt e-mail',
    '“Curly quotes” and ‘single ones’ — with an em dash – and an en dash…',
    'A café in Zürich serves crème brûlée to a naïve tourist.',
    '€50 £20 ¥100 ¢5 $5 for 5° and ½ a pizza',
    '<b>bold</b> and < 5 > 3',
    "the 80's and '90s and O'Neil's rock'n'roll",
    '12:30pm 3.5mm 1.5 .5 1,000,000 -5 +5 3x4 2nd 21st',
    ':) a smiley :-( and ^_^ faces',
    '',
    '   ',
    'A',
    '.',
    'Mt. Fuji behind Lake Kawaguchi, Japan.',
    'a plan B. The end',
    'Fig. 3 shows no. 5 of the approx. 10 items',
    'A man wearing a #1 jersey tweets @friend about c++ and C#',
    'Ελλάδα ΟΔΟΣ and Москва signs; 東京 tower',
    'a dog\twith a\u00a0ball and\u3000a frisbee',
    'tabs\tand\nnewlines inside a caption',
    "a kid's toys and the kids' room",
    'A black-and-white photo of a 19th-century steam train.',
    'Hot-dog stand... mustard?! Ketchup!!',
    'an "open" sign, a closed [door], {braces} and (parens)',
    'THE DOG IS RUNNING ON THE BEACH',
    'A person holding an umbrella in the rain .',
    'A person holding an umbrella in the rain . ',
    'emoji 😀 are dropped',
]

_SUBJECTS = ['a man', 'a woman', 'two dogs', 'a cat', 'a young boy', 'an old lady', 'three people',
             'a group of kids', 'the surfer', 'a brown horse', 'two zebras', 'a giraffe', 'a little girl',
             "a man's dog", 'the players', 'a black-and-white cat', 'a 5-year-old boy', 'an elephant',
             'the chef', 'a police officer', 'a skateboarder', 'Mr. Smith', 'a U.S. soldier']
_VERBS = ['riding', 'holding', 'sitting on', 'standing next to', 'eating', 'looking at', 'playing with',
          'walking along', 'jumping over', 'lying on', 'carrying', 'throwing', "isn't touching",
          "can't reach", 'cannot see', 'is gonna catch', 'waiting for']
_OBJECTS = ['a surfboard', 'a red bus', 'a wooden bench', 'the beach', 'a frisbee', 'a large pizza',
            'a tennis racket', 'an umbrella', 'a kite', 'the street', 'a laptop', 'a plate of food',
            "the dog's toy", 'a half-eaten sandwich', 'a stop sign', 'a 2-story house', 'St. Mark\'s square',
            'a "Welcome" sign', 'a double-decker bus', 'the T-shirt', 'two slices of pizza']
_PLACES = ['in a park', 'on a sunny day', 'near the water', 'at night', 'in the snow', 'on a city street',
           'in a kitchen', 'at 5 p.m.', 'in the U.S.', 'by the sea', 'in the rain', 'at the zoo',
           'next to a building', 'under a tree', '(outdoors)', '[indoors]', 'in New York, N.Y.']
_TAILS = ['.', '.', '.', '', '', ' .', '!', '?', '...', '…', ';', ' !', '!!', '.  ']
_NUMBERS = ['2', 'two', '10', '1,000', '3.5', '1/2', '12:30', '1990s', '2nd', '100%', '$20']


def _capitalize(text: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.6 and text:
        return text[0].upper() + text[1:]
    if style < 0.65:
        return text.upper()
    if style < 0.7:
        return text.title()
    return text


def generated_caption(rng: random.Random) -> str:
    """One COCO-like caption with varied punctuation, case and special tokens."""
    parts = [rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS)]
    if rng.random() < 0.6:
        parts.append(rng.choice(_PLACES))
    if rng.random() < 0.2:
        parts.insert(rng.randrange(1, len(parts)), rng.choice(_NUMBERS))
    if rng.random() < 0.25:
        parts[rng.randrange(len(parts))] += ','
    if rng.random() < 0.15:
        parts.append(rng.choice(['and', 'while', 'with']) + ' ' + rng.choice(_OBJECTS))
    if rng.random() < 0.1:
        i = rng.randrange(len(parts))
        parts[i] = rng.choice(['"', '“', "'", '(']) + parts[i] + rng.choice(['"', '”', "'", ')'])
    sep = '  ' if rng.random() < 0.05 else ' '
    return _capitalize(sep.join(parts), rng) + rng.choice(_TAILS)


def caption_corpus(n: int, seed: int = 0) -> List[str]:
    """Hand-written captions followed by ``n`` generated ones."""
    rng = random.Random(seed)
    return HAND_WRITTEN + [generated_caption(rng) for _ in range(n)]


def caption_dataset(n_images: int, seed: int = 0) -> Tuple[Dict, List[Dict]]:
    """A COCO-captions ground truth (3-6 references per image) and one prediction per image."""
    rng = random.Random(seed)
    lines = caption_corpus(n_images * 6, seed)
    rng.shuffle(lines)
    images, annotations, predictions, k = [], [], [], 0
    for image_id in range(1, n_images + 1):
        images.append({'id': image_id, 'file_name': f'{image_id:012d}.jpg'})
        for _ in range(rng.randint(3, 6)):
            annotations.append({'image_id': image_id, 'id': len(annotations) + 1, 'caption': lines[k]})
            k += 1
        predictions.append({'image_id': image_id, 'pred_caption': lines[k]})
        k += 1
    return {'images': images, 'annotations': annotations}, predictions
