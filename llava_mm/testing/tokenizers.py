"""Tokenizers trained on the spot, in the two shapes real LLaVA checkpoints come in.

* ``train_bpe_tokenizer``: a byte-level BPE (``tokenizer.json``), as llava-hf exports carry.
* ``train_sentencepiece_tokenizer``: a LLaMA-style SentencePiece model saved as
  ``tokenizer.model`` + ``tokenizer_config.json`` (``LlamaTokenizer``,
  ``legacy: false``), the only tokenizer liuhaotian/* checkpoints and the v1
  delta ship. Its ``▁`` (dummy prefix, byte fallback, split digits) is what
  makes prompt and label tokenization differ from a byte-level BPE.

Both use LLaMA's special ids: ``<unk>`` = 0, ``<s>`` = 1, ``</s>`` = 2.
"""
import tempfile
from pathlib import Path
from typing import Sequence, Union

from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from llava_mm.models.sentencepiece_training import llama_sentencepiece_model, write_llama_tokenizer

#: A small corpus so the tokenizers know the words of prompts, captions and answers.
CORPUS = [
    'A chat between a curious user and an artificial intelligence assistant.',
    "The assistant gives helpful, detailed, and polite answers to the user's questions.",
    'USER: ASSISTANT: Provide a one-sentence caption for the provided image.',
    'Answer the question using a single word or phrase.',
    "Answer with the option's letter from the given choices directly.",
    'A cat and a dog are sitting on a blanket in the living room.',
    'Two cats sleep on a red couch next to a window.',
    'A brown dog runs across the green grass with a ball.',
    'What animal is in the picture? How many dogs are there? What color is the cat?',
    'Is there a person in the image? yes no one two three four five six seven eight nine ten',
    'A man riding a skateboard down a street. A woman holding an umbrella in the rain.',
    'A plate of food with broccoli, rice and meat on a wooden table.',
    'The quick brown fox jumps over the lazy dog. 0 1 2 3 4 5 6 7 8 9 10 100',
    'Where is the bus? It is parked next to the building near the trees.',
]


def train_bpe_tokenizer(vocab_size: int = 600, extra_tokens: Sequence[str] = (),
                        corpus: Sequence[str] = CORPUS) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer with LLaMA's special tokens, trained on ``corpus``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=['<unk>', '<s>', '</s>'],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(corpus) * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token='<s>', eos_token='</s>',
                                        unk_token='<unk>', pad_token='<unk>')
    if extra_tokens:
        tokenizer.add_tokens(list(extra_tokens), special_tokens=True)
    return tokenizer


def sentencepiece_model(vocab_size: int = 600, corpus: Sequence[str] = CORPUS) -> bytes:
    """A serialized LLaMA-style SentencePiece BPE model (LLaMA's trainer options, small vocabulary)."""
    return llama_sentencepiece_model(corpus, vocab_size)


def write_sentencepiece_tokenizer(out_dir: Union[str, Path], vocab_size: int = 600,
                                  corpus: Sequence[str] = CORPUS) -> Path:
    """``tokenizer.model`` + ``tokenizer_config.json`` as liuhaotian/llava-v1.5-7b ships them."""
    return write_llama_tokenizer(out_dir, corpus, vocab_size)


def train_sentencepiece_tokenizer(vocab_size: int = 600, extra_tokens: Sequence[str] = (),
                                  corpus: Sequence[str] = CORPUS) -> PreTrainedTokenizerBase:
    """The LLaMA-style SentencePiece tokenizer, loaded the way llava_mm loads real checkpoints."""
    from llava_mm.models.language_model import build_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = build_tokenizer(str(write_sentencepiece_tokenizer(tmp, vocab_size, corpus)))
    if extra_tokens:
        tokenizer.add_tokens(list(extra_tokens), special_tokens=True)
    return tokenizer
