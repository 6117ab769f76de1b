"""Fixtures for tests, benchmarks and the demo: tiny models, tokenizers trained on the spot, toy data.

Nothing in the product imports this package; it exists so that the real code
paths can run offline on small, seeded, locally made artifacts.
"""
from .tiny_models import make_tiny_model_dir, randomize_, tiny_model_config, tiny_test_pipeline
from .tokenizers import CORPUS, train_bpe_tokenizer, train_sentencepiece_tokenizer

__all__ = ['CORPUS', 'make_tiny_model_dir', 'randomize_', 'tiny_model_config', 'tiny_test_pipeline',
           'train_bpe_tokenizer', 'train_sentencepiece_tokenizer']
