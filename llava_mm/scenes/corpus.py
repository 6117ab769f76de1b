"""All the text the scene data can contain, and the tokenizer trained on it."""
import random
from pathlib import Path
from typing import List, Union

from llava_mm.models.prompt import VICUNA_SYSTEM
from llava_mm.models.sentencepiece_training import write_llama_tokenizer

from .language import (BRIEF_INSTRUCTIONS, CAPTION_PROMPT, DETAIL_INSTRUCTIONS, VQA_INSTRUCTION, alternative_answers,
                       surface_variants, candidate_questions, captions, capitalize, conversation,
                       detailed_description)
from .scene import sample_scene
from .writers import make_scene
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


#: The tiny scenes model's vocabulary size.
SCENE_VOCAB_SIZE = 800


def rendered_conversations(num: int = 400, seed: int = 7) -> List[str]:
    """Conversations as the model reads them (system prompt, ``USER:`` / ``ASSISTANT:``), of scenes drawn with
    a seed no data set uses, so that BPE merges follow the frequencies the model will see."""
    lines = []
    for i in range(num):
        messages = conversation(make_scene(seed, i), random.Random(f'{seed}:{i}:tok'))
        lines.append(VICUNA_SYSTEM + ' ' + ' '.join(('USER: ' if m['from'] == 'human' else 'ASSISTANT: ')
                                                    + m['value'].replace('<image>\n', '') for m in messages))
    return lines


def write_scene_tokenizer(out_dir: Union[str, Path], vocab_size: int = SCENE_VOCAB_SIZE) -> Path:
    """The tiny scenes model's LLaMA-style SentencePiece tokenizer (``tokenizer.model`` +
    ``tokenizer_config.json``): the same files for every run."""
    return write_llama_tokenizer(out_dir, scene_corpus() + rendered_conversations(), vocab_size)
