"""The tiny scenes model's tokenizer: LLaMA-style SentencePiece, trained on every text the scenes can produce.

Not imported by ``llava_mm.scenes`` itself (it needs transformers; drawing scenes does not):
``from llava_mm.scenes.tokenizer import write_scene_tokenizer``.
"""
import random
from pathlib import Path
from typing import List, Union

from llava_mm.models.prompt import VICUNA_SYSTEM
from llava_mm.models.sentencepiece_training import write_llama_tokenizer
from .corpus import scene_corpus
from .language import conversation
from .writers import make_scene


#: The tiny scenes model's vocabulary size.
SCENE_VOCAB_SIZE = 800


def rendered_conversations(num: int = 400, seed: int = 7) -> List[str]:
    """Conversations as the model reads them (system prompt, ``USER:`` / ``ASSISTANT:``), of scenes drawn with
    a seed no data set uses, so that BPE merges follow the frequencies the model will see. The ``</s>`` after
    each reply is left out: the model gets it as its special id, never as text to split into pieces."""
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
