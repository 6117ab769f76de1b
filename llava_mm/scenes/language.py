"""What is said about a scene: captions, a detailed description, questions with answers.

Everything is derived from the ``Scene`` (never from pixels), in a small
closed vocabulary. Objects are named by colour and kind ("the red circle"),
which is unique within a scene; a question is only asked when its referent
is unambiguous.
"""
import random
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Sequence

from .scene import Scene, SceneObject
from .vocabulary import (ANIMALS, COLOURS, KINDS, NUMBER_WORDS, PALETTES, PLURALS, POSITION_PHRASES, SHAPES,
                         article, colours_on)

#: LLaVA-1.5's short-answer instruction (its VQAv2 training data and evaluation prompt).
VQA_INSTRUCTION = 'Answer the question using a single word or phrase.'
#: LLaVA-1.5's caption prompt (its COCO caption evaluation).
CAPTION_PROMPT = 'Provide a one-sentence caption for the provided image.'
#: Brief-description instructions in the style of LLaVA's stage-1 (LCS-558K) data.
BRIEF_INSTRUCTIONS = (
    'Give a brief description of the image.', 'Describe the image concisely.',
    'Provide a brief description of the given image.', 'Summarize the visual content of the image.',
    'Share a concise interpretation of the image provided.', 'Write a terse but informative summary of the picture.',
)
#: Detailed-description instructions in the style of LLaVA-Instruct's "detail" conversations.
DETAIL_INSTRUCTIONS = (
    'Describe the image in detail.', 'Describe the following image in detail.',
    'Provide a detailed description of the given image.', 'What do you see in this picture?',
)

QUESTION_FAMILIES = ('color', 'shape', 'animal', 'count', 'position', 'yes/no')


@dataclass(frozen=True)
class QA:
    """A question about a scene with its short answer and a full-sentence answer."""
    question: str
    answer: str          # the short answer a VQA annotator would give ('red', '2', 'yes', 'top left')
    sentence: str        # the same answer as an assistant would say it
    family: str          # one of QUESTION_FAMILIES
    answer_type: str     # VQA's 'yes/no' | 'number' | 'other'
    question_type: str   # VQA's question_type: the question's leading words ('what color is the', 'how many', ...)


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def noun_phrase(obj: SceneObject, with_size: bool = False) -> str:
    """'a red circle' / 'a large red circle'."""
    words = f'{obj.size} {obj.name}' if with_size else obj.name
    return f'{article(words)} {words}'


def listing(phrases: Sequence[str]) -> str:
    """'x', 'x and y', 'x, y and z'."""
    return phrases[0] if len(phrases) == 1 else ', '.join(phrases[:-1]) + ' and ' + phrases[-1]


def count_phrase(n: int, noun: str) -> str:
    """'one object', 'two objects', 'no objects'."""
    return f'one {noun}' if n == 1 else f'{"no" if n == 0 else NUMBER_WORDS[n]} {PLURALS.get(noun, noun + "s")}'


def there_are(n: int, noun: str) -> str:
    return f'There {"is" if n == 1 else "are"} {count_phrase(n, noun)}'


# ---------------------------------------------------------------- captions
def captions(scene: Scene) -> List[str]:
    """Five paraphrased one-sentence captions (the first is the plainest)."""
    objs = scene.objects
    plain = listing([noun_phrase(o) for o in objs])
    sized = listing([noun_phrase(o, with_size=True) for o in objs])
    placed = listing([f'{noun_phrase(o)} {POSITION_PHRASES[o.position]}' for o in objs])
    if scene.layout == 'single':
        arranged = f'a picture of {plain}'
    elif scene.layout == 'grid':
        rows = [[noun_phrase(o) for o in objs if o.position.startswith(r)] for r in ('top', 'bottom')]
        arranged = f'{listing(rows[0])} above {listing(rows[1])}'
    elif len(objs) == 2:
        arranged = f'{noun_phrase(objs[0])} {"next to" if scene.layout == "row" else "above"} {noun_phrase(objs[1])}'
    else:
        arranged = f'{plain} {"in a row" if scene.layout == "row" else "from top to bottom"}'
    counted = f'{there_are(len(objs), "object")} in the image: {plain}'
    return [capitalize(c) + '.' for c in (plain, sized, placed, arranged, counted)]


def detailed_description(scene: Scene) -> str:
    """Several sentences: what, where, how large, how the objects relate, animals and shapes."""
    objs = scene.objects
    base = PALETTES[scene.background.palette][0]
    tone = 'dark' if sum(base) < 3 * 128 else 'light'
    sentences = [f'The image shows {count_phrase(len(objs), "object")} on a {scene.background.pattern} {tone} '
                 'background.']
    for o in objs:
        where = POSITION_PHRASES[o.position]
        sentences.append(f'{capitalize(where)} there is {noun_phrase(o, with_size=True)}.')
    for a, relation, b in scene.relations()[:2]:
        sentences.append(f'The {a.name} is {"to the left of" if relation == "left of" else "above"} the {b.name}.')
    animals = sum(o.category == 'animal' for o in objs)
    shapes = len(objs) - animals
    if len(objs) == 1:
        sentences.append(f'It is {"an animal" if animals else "a shape"}.')
    elif not shapes or not animals:
        sentences.append(f'All of them are {"animals" if animals else "shapes"}.')
    else:
        first, second = (animals, 'animal'), (shapes, 'shape')
        sentences.append(f'{there_are(*first)} and {count_phrase(*second)}.')
    return ' '.join(sentences)


# --------------------------------------------------------------- questions
def _unique(objs: Sequence[SceneObject], **attrs) -> List[SceneObject]:
    return [o for o in objs if all(getattr(o, k) == v for k, v in attrs.items())]


def _counted(n: int, noun: str) -> str:
    return f'{there_are(n, noun)}.'


def candidate_questions(scene: Scene) -> Dict[str, List[QA]]:
    """Every question this module can ask about ``scene``, by family, each with its true answer."""
    objs = scene.objects
    out: Dict[str, List[QA]] = {f: [] for f in QUESTION_FAMILIES}

    def add(family, question, answer, sentence, answer_type, question_type):
        out[family].append(QA(question, answer, sentence, family, answer_type, question_type))

    for o in objs:
        where = POSITION_PHRASES[o.position]
        alone = len(_unique(objs, kind=o.kind)) == 1
        if alone:
            add('color', f'What color is the {o.kind}?', o.colour, f'The {o.kind} is {o.colour}.', 'other',
                'what color is the')
        if len(objs) > 1:
            add('color', f'What color is the {o.category} {where}?', o.colour,
                f'The {o.category} {where} is {o.colour}.', 'other', 'what color is the')
        if o.category == 'shape':
            add('shape', f'What shape is {where}?', o.kind, f'The shape {where} is {article(o.kind)} {o.kind}.',
                'other', 'what shape is')
            if len(_unique(objs, colour=o.colour)) == 1:
                add('shape', f'What shape is the {o.colour} object?', o.kind,
                    f'The {o.colour} object is {article(o.kind)} {o.kind}.', 'other', 'what shape is')
        else:
            add('animal', f'What animal is {where}?', o.kind, f'The animal {where} is {article(o.kind)} {o.kind}.',
                'other', 'what animal is')
        add('position', f'Where is the {o.name}?', o.position, f'The {o.name} is {where}.', 'other', 'where is the')
        if alone and len(objs) > 1:
            add('position', f'Where is the {o.kind}?', o.position, f'The {o.kind} is {where}.', 'other',
                'where is the')
    animals = [o for o in objs if o.category == 'animal']
    if len(animals) == 1:
        a = animals[0]
        add('animal', 'What animal is in the picture?', a.kind,
            f'There is {noun_phrase(a)} {POSITION_PHRASES[a.position]}.', 'other', 'what animal is')

    # counting: everything, by category, by kind (present or not), by colour
    add('count', 'How many objects are there?', str(len(objs)), _counted(len(objs), 'object'), 'number', 'how many')
    for category, members in (('animal', ANIMALS), ('shape', SHAPES)):
        n = sum(o.kind in members for o in objs)
        add('count', f'How many {category}s are there?', str(n), _counted(n, category), 'number', 'how many')
    for kind in KINDS:
        n = len(_unique(objs, kind=kind))
        add('count', f'How many {PLURALS[kind]} are there?', str(n), _counted(n, kind), 'number', 'how many')
    for colour in sorted({o.colour for o in objs}):
        n = len(_unique(objs, colour=colour))
        add('count', f'How many {colour} objects are there?', str(n), _counted(n, f'{colour} object'), 'number',
            'how many')

    # yes/no: presence, colour of a unique kind, relations (true and swapped)
    for kind in KINDS:
        there = _unique(objs, kind=kind)
        if there:
            o = there[0]
            add('yes/no', f'Is there {article(kind)} {kind} in the picture?', 'yes',
                f'Yes, there is {noun_phrase(o)} {POSITION_PHRASES[o.position]}.', 'yes/no', 'is there a')
        else:
            add('yes/no', f'Is there {article(kind)} {kind} in the picture?', 'no',
                f'No, there is no {kind} in the picture.', 'yes/no', 'is there a')
    allowed = colours_on(scene.background.palette)
    for o in objs:
        add('yes/no', f'Is there {noun_phrase(o)}?', 'yes', f'Yes, there is {noun_phrase(o)} '
            f'{POSITION_PHRASES[o.position]}.', 'yes/no', 'is there a')
        for colour in allowed:  # hard negatives: a kind that is there, in a colour it does not have
            if not _unique(objs, kind=o.kind, colour=colour):
                words = f'{colour} {o.kind}'
                add('yes/no', f'Is there {article(words)} {words}?', 'no', f'No, there is no {words}.', 'yes/no',
                    'is there a')
        if len(_unique(objs, kind=o.kind)) == 1:
            add('yes/no', f'Is the {o.kind} {o.colour}?', 'yes', f'Yes, the {o.kind} is {o.colour}.', 'yes/no',
                'is the')
            for colour in allowed:
                if colour != o.colour:
                    add('yes/no', f'Is the {o.kind} {colour}?', 'no', f'No, the {o.kind} is {o.colour}.', 'yes/no',
                        'is the')
    for a, relation, b in scene.relations():
        said, opposite = ('to the left of', 'to the right of') if relation == 'left of' else ('above', 'below')
        add('yes/no', f'Is the {a.name} {said} the {b.name}?', 'yes', f'Yes, the {a.name} is {said} the {b.name}.',
            'yes/no', 'is the')
        add('yes/no', f'Is the {b.name} {said} the {a.name}?', 'no', f'No, the {b.name} is {opposite} the {a.name}.',
            'yes/no', 'is the')
    return out


def sample_questions(scene: Scene, rng: random.Random, k: int) -> List[QA]:
    """``k`` different questions, spread over the families; yes and no equally likely."""
    candidates = candidate_questions(scene)
    families = [f for f in QUESTION_FAMILIES if candidates[f]]
    chosen: List[QA] = []
    asked = set()
    while len(chosen) < k:
        order = families[:]
        rng.shuffle(order)
        progressed = False
        for family in order:
            pool = [qa for qa in candidates[family] if qa.question not in asked]
            if family == 'yes/no':
                wanted = rng.choice(['yes', 'no'])
                pool = [qa for qa in pool if qa.answer == wanted] or pool
            if not pool or len(chosen) == k:
                continue
            qa = rng.choice(pool)
            chosen.append(qa)
            asked.add(qa.question)
            progressed = True
        if not progressed:
            break
    return chosen


# ----------------------------------------------------------- human answers
def alternative_answers(qa: QA) -> List[str]:
    """Other ways an annotator says the same thing, which the official scorer does NOT equate."""
    if qa.answer_type == 'number':
        return [f'{qa.answer} objects'] if qa.question == 'How many objects are there?' else []
    if qa.family == 'color':
        return [f'{qa.answer} color']
    if qa.family == 'position':
        other = {'center': 'middle'}.get(qa.answer) or (f'{qa.answer} corner' if ' ' in qa.answer
                                                         else f'{qa.answer} side')
        return [POSITION_PHRASES[qa.answer], other]
    if qa.family in ('shape', 'animal'):
        return [PLURALS[qa.answer]] if qa.answer != 'fish' else []
    return []


def surface_variants(qa: QA) -> List[str]:
    """The same answer with the case, punctuation, article or number word changed."""
    variants = [capitalize(qa.answer), qa.answer + '.', capitalize(qa.answer) + '.']
    if qa.answer_type == 'number':
        word = NUMBER_WORDS[int(qa.answer)]
        variants += [word, capitalize(word)]
    if qa.family in ('shape', 'animal'):
        variants.append(f'{article(qa.answer)} {qa.answer}')
    return variants


def wrong_answers(qa: QA) -> List[str]:
    if qa.answer_type == 'yes/no':
        return ['no' if qa.answer == 'yes' else 'yes']
    if qa.answer_type == 'number':
        return [str(n) for n in (int(qa.answer) - 1, int(qa.answer) + 1) if 0 <= n <= 4]
    if qa.family == 'color':
        return [c for c in COLOURS if c != qa.answer]
    if qa.family == 'position':
        return [p for p in POSITION_PHRASES if p != qa.answer]
    return [k for k in (SHAPES if qa.family == 'shape' else ANIMALS) if k != qa.answer]


def human_answers(qa: QA, rng: random.Random, n: int = 10) -> List[str]:
    """``n`` annotator answers: mostly the answer as is, some restyled ("Red.", "two"), some phrased
    otherwise ("on the left"), now and then a mistake. The exact answer is always the most frequent
    and given at least 4 times, so it scores 100% under the official VQA accuracy."""
    alternatives, variants, wrong = alternative_answers(qa), surface_variants(qa), wrong_answers(qa)
    answers = []
    for _ in range(n):
        r = rng.random()
        if r < 0.55:
            answers.append(qa.answer)
        elif r < 0.82:
            answers.append(rng.choice(variants))
        elif r < 0.95 and alternatives:
            answers.append(rng.choice(alternatives))
        elif r >= 0.95 and wrong:
            answers.append(rng.choice(wrong))
        else:
            answers.append(qa.answer)
    others = [i for i, a in enumerate(answers) if a != qa.answer]
    rng.shuffle(others)
    while others and (answers.count(qa.answer) < min(4, n)
                      or Counter(answers).most_common(1)[0][0] != qa.answer
                      or list(Counter(answers).values()).count(answers.count(qa.answer)) > 1):
        answers[others.pop()] = qa.answer
    return answers


# ----------------------------------------------------------- conversations
def conversation(scene: Scene, rng: random.Random) -> List[dict]:
    """A multi-turn conversation mixed like llava_v1_5_mix665k: mostly short answers to LLaVA-1.5's VQA
    instruction, one or two full-sentence answers, often the caption prompt, sometimes a detailed description.
    The first human turn starts with ``<image>\\n``."""
    in_sentences = rng.randint(1, 2)
    asked = sample_questions(scene, rng, in_sentences + rng.randint(4, 8))
    turns = [(qa.question, qa.sentence) for qa in asked[:in_sentences]]
    turns += [(f'{qa.question}\n{VQA_INSTRUCTION}', qa.answer) for qa in asked[in_sentences:]]
    if rng.random() < 0.6:
        turns.append((CAPTION_PROMPT, captions(scene)[0]))
    if rng.random() < 0.25:
        turns.append((rng.choice(DETAIL_INSTRUCTIONS), detailed_description(scene)))
    rng.shuffle(turns)
    messages = []
    for i, (question, answer) in enumerate(turns):
        messages.append({'from': 'human', 'value': ('<image>\n' if i == 0 else '') + question})
        messages.append({'from': 'gpt', 'value': answer})
    return messages
