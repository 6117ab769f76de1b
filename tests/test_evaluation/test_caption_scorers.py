"""The vectorized BLEU / CIDEr-D equal pycocoevalcap's Bleu / Cider to 1e-9."""
import random

import numpy as np
import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from llava_mm.evaluation.caption.scorers import FastBleu, FastCider, bleu_cider

WORDS = ('a an the man woman dog cat two on of with in near red blue big sitting standing riding '
         'street beach table pizza horse bus -lrb- -rrb- 2 1/2 n\'t \'s').split()


def _tokenized_set(seed, images, min_len=0, max_len=14):
    rng = random.Random(seed)

    def sentence():
        return ' '.join(rng.choice(WORDS) for _ in range(rng.randint(min_len, max_len)))

    gts = {i: [sentence() for _ in range(rng.randint(1, 6))] for i in range(images)}
    res = {i: [sentence()] for i in range(images)}
    return gts, res


CASES = {
    'typical': _tokenized_set(0, 300, min_len=6),
    'short and empty sentences': _tokenized_set(1, 300, min_len=0, max_len=4),
    'one image': ({'x': ['a dog on a bench', 'a dog']}, {'x': ['a dog on a dog']}),
    'hypothesis copies a reference': ({1: ['a b c d e', 'x y'], 2: ['q r s']}, {1: ['a b c d e'], 2: ['q r s']}),
    'nothing in common': ({1: ['a b c'], 2: ['d e f']}, {1: ['x y z'], 2: ['']}),
    'repeated words': ({1: ['dog dog dog dog', 'dog'], 2: ['cat']}, {1: ['dog dog dog dog dog dog'], 2: ['cat cat']}),
}


@pytest.mark.parametrize('case', list(CASES))
def test_bleu_equals_pycocoevalcap(case):
    gts, res = CASES[case]
    expected, expected_per_image = Bleu(4).compute_score(gts, res, verbose=0)
    got, got_per_image = FastBleu(4).compute_score(gts, res)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got_per_image, expected_per_image, rtol=0, atol=1e-9)


@pytest.mark.parametrize('case', list(CASES))
def test_cider_equals_pycocoevalcap(case):
    gts, res = CASES[case]
    expected, expected_per_image = Cider().compute_score(gts, res)
    got, got_per_image = FastCider().compute_score(gts, res)
    assert abs(got - expected) <= 1e-9
    np.testing.assert_allclose(got_per_image, expected_per_image, rtol=0, atol=1e-9)


def test_shared_table_gives_the_same_numbers():
    gts, res = CASES['typical']
    scores = bleu_cider(gts, res)
    assert list(scores) == ['Bleu_1', 'Bleu_2', 'Bleu_3', 'Bleu_4', 'CIDEr']
    assert scores['CIDEr'] == pytest.approx(Cider().compute_score(gts, res)[0], abs=1e-9)
    assert scores['Bleu_4'] == pytest.approx(Bleu(4).compute_score(gts, res, verbose=0)[0][3], abs=1e-9)


def test_inputs_are_checked_like_pycocoevalcap():
    with pytest.raises(AssertionError):
        FastCider().compute_score({1: ['a']}, {1: ['a', 'b']})
    with pytest.raises(AssertionError):
        FastBleu().compute_score({1: ['a']}, {2: ['a']})
