"""All the text the scene data can contain, for training a tokenizer that covers it."""
import random
from typing import List


from .language import (BRIEF_INSTRUCTIONS, CAPTION_PROMPT, DETAIL_INSTRUCTIONS, VQA_INSTRUCTION, alternative_answers,
                       surface_variants, candidate_questions, captions, capitalize, detailed_description)
from .scene import sample_scene
from .vocabulary import COLOURS, KINDS, NUMBER_WORDS, PATTERNS, PLURALS, POSITION_PHRASES, SIZES


def scene_corpus(num_scenes: int = 300, seed: int = 0) -> List[str]:
    """Lines of text: the fixed prompts, every vocabulary word (as is and capitalized), and
    the captions, descriptions, questions and answers (all their variants) of ``num_scenes``
    sampled scenes. Every word a generated file can hold is in it, whatever the seed."""
    words = (list(COLOURS) + list(KINDS) + list(PLURALS.values()) + list(NUMBER_WORDS) + list(SIZES)
             + list(PATTERNS) + list(POSITION_PHRASES) + [str(n) for n in range(len(NUMBER_WORDS))])
    lines = [VQA_INSTRUCTION, CAPTION_PROMPT, *BRIEF_INSTRUCTIONS, *DETAIL_INSTRUCTIONS, '<image>',
             ' '.join(words), ' '.join(capitalize(w) for w in words), *POSITION_PHRASES.values()]
    rng = random.Random(f'{seed}:corpus')
    for _ in range(num_scenes):
        scene = sample_scene(rng)
        lines += captions(scene)
        lines.append(detailed_description(scene))
        for family in candidate_questions(scene).values():
            for qa in family:
                lines += [qa.question, qa.sentence, qa.answer, *surface_variants(qa), *alternative_answers(qa)]
    return list(dict.fromkeys(lines))

