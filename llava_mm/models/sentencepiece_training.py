"""Train a LLaMA-style SentencePiece tokenizer: what a model trained from scratch here (the tiny scenes model)
ships in place of LLaMA's ``tokenizer.model``, with LLaMA's trainer options and special ids
(``<unk>`` 0, ``<s>`` 1, ``</s>`` 2), so it goes through the same ``▁`` / dummy-prefix paths as real LLaVA."""
import io
import json
from pathlib import Path
from typing import Sequence, Union


def llama_sentencepiece_model(corpus: Sequence[str], vocab_size: int) -> bytes:
    """A serialized SentencePiece BPE model trained on ``corpus`` (byte fallback, split digits, dummy prefix,
    identity normalization, as LLaMA's). Deterministic for a corpus."""
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(corpus) * 4), model_writer=buffer, vocab_size=vocab_size, model_type='bpe',
        byte_fallback=True, split_digits=True, add_dummy_prefix=True, normalization_rule_name='identity',
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, split_by_unicode_script=True, max_sentencepiece_length=16,
        num_threads=1, minloglevel=2)
    return buffer.getvalue()


def write_llama_tokenizer(out_dir: Union[str, Path], corpus: Sequence[str], vocab_size: int) -> Path:
    """``tokenizer.model`` + ``tokenizer_config.json`` as liuhaotian/llava-v1.5-7b ships them."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'tokenizer.model').write_bytes(llama_sentencepiece_model(corpus, vocab_size))
    config = {
        'tokenizer_class': 'LlamaTokenizer', 'legacy': False, 'add_bos_token': True, 'add_eos_token': False,
        'bos_token': '<s>', 'eos_token': '</s>', 'unk_token': '<unk>', 'pad_token': None,
        'model_max_length': 2048, 'padding_side': 'right', 'clean_up_tokenization_spaces': False,
        'sp_model_kwargs': {},
    }
    (out_dir / 'tokenizer_config.json').write_text(json.dumps(config, indent=2))
    return out_dir
