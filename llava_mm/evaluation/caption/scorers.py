"""BLEU and CIDEr-D equal to pycocoevalcap's, computed with numpy.

pycocoevalcap's ``Bleu`` and ``Cider`` count the n-grams of every sentence in
Python dictionaries, once per scorer, and evaluate CIDEr-D with numpy scalars
inside Python loops; on a 5000-image split they take several seconds, far more
than tokenization.  Here every n-gram gets an integer id (built order by order
with ``np.unique``), and the clipped counts, document frequencies, tf-idf
vectors, cosine similarities and length penalties become array operations.

The formulas are pycocoevalcap's, quirks included: BLEU uses the ``closest``
reference length per image and the 1e-9 / 1e-15 smoothing constants; CIDEr-D
uses the idf of the evaluated references, clips hypothesis weights by the
reference weights, and its Gaussian length penalty measures a sentence's
length in *bigrams*.  BLEU counts are integers, so BLEU is bit-identical;
CIDEr-D only sums in a different order (differences ~1e-15).
``tests/test_evaluation/test_caption_scorers.py`` checks corpus and per-image
scores against pycocoevalcap to 1e-9.
"""
from __future__ import annotations

import math
from typing import Dict, Hashable, List, Optional, Tuple

import numpy as np

__all__ = ['FastBleu', 'FastCider', 'NGramTable', 'bleu_cider']


def _check_inputs(gts: Dict, res: Dict) -> None:
    assert gts.keys() == res.keys(), 'gts and res must hold the same image ids'
    for key in gts:
        assert isinstance(res[key], list) and len(res[key]) == 1, f'image {key!r} needs exactly one hypothesis'
        assert isinstance(gts[key], list) and len(gts[key]) >= 1, f'image {key!r} needs references'


def _segment_starts(sorted_groups: np.ndarray) -> np.ndarray:
    """Start indices of the runs of equal values in a sorted array."""
    if sorted_groups.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])


class NGramTable:
    """Per-sentence counts of 1..n-grams of ``gts`` references and ``res`` hypotheses.

    Sentences are numbered references first (image by image, in ``gts`` order),
    then one hypothesis per image.  For each order k (0-based) ``entries[k]``
    holds three aligned arrays sorted by (sentence, n-gram id): sentence index,
    n-gram id and count.
    """

    def __init__(self, gts: Dict[Hashable, List[str]], res: Dict[Hashable, List[str]], n: int = 4):
        _check_inputs(gts, res)
        self.n = n
        keys = list(gts)
        self.num_images = len(keys)
        refs_per_image = [len(gts[k]) for k in keys]
        self.num_refs = np.array(refs_per_image, dtype=np.int64)
        self.ref_image = np.repeat(np.arange(self.num_images), self.num_refs)
        sentences = [ref for k in keys for ref in gts[k]] + [res[k][0] for k in keys]
        self.num_ref_sentences = len(sentences) - self.num_images

        vocab: Dict[str, int] = {}
        word_ids: List[int] = []
        lengths = np.empty(len(sentences), dtype=np.int64)
        for i, sentence in enumerate(sentences):
            words = sentence.split()
            lengths[i] = len(words)
            word_ids.extend([vocab.setdefault(w, len(vocab)) for w in words])
        self.lengths = lengths
        words_arr = np.array(word_ids, dtype=np.int64)
        sentence_of_word = np.repeat(np.arange(len(sentences)), lengths)
        position = np.arange(words_arr.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        words_left = np.repeat(lengths, lengths) - position  # words from here to the sentence end

        self.entries: List[Tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.num_grams: List[int] = []
        gram_ids = words_arr  # id of the k-gram starting at each word (valid where words_left > k)
        num_ids = len(vocab)
        for k in range(n):
            if k > 0:
                valid_next = words_left[:-k] > k if k < words_arr.size else np.zeros(0, dtype=bool)
                pair = np.full(words_arr.size, -1, dtype=np.int64)
                idx = np.flatnonzero(valid_next)
                pair[idx] = gram_ids[idx] * (len(vocab) + 1) + words_arr[idx + k]
                valid = pair >= 0
                uniq, inverse = np.unique(pair[valid], return_inverse=True)
                gram_ids = np.full(words_arr.size, -1, dtype=np.int64)
                gram_ids[valid] = inverse
                num_ids = uniq.size
            valid = words_left > k
            combined = sentence_of_word[valid] * max(num_ids, 1) + gram_ids[valid]
            uniq, counts = np.unique(combined, return_counts=True)
            self.entries.append((uniq // max(num_ids, 1), uniq % max(num_ids, 1), counts))
            self.num_grams.append(num_ids)

    def is_ref(self, sentence: np.ndarray) -> np.ndarray:
        return sentence < self.num_ref_sentences

    def image_of(self, sentence: np.ndarray) -> np.ndarray:
        """Image index of each sentence index (reference or hypothesis)."""
        out = np.empty(sentence.shape, dtype=np.int64)
        ref = sentence < self.num_ref_sentences
        out[ref] = self.ref_image[sentence[ref]]
        out[~ref] = sentence[~ref] - self.num_ref_sentences
        return out

    def split(self, k: int):
        """((ref sentence, image, gram, count), (image, gram, count)) of order k."""
        sentence, gram, count = self.entries[k]
        ref = self.is_ref(sentence)
        ref_sent = sentence[ref]
        refs = (ref_sent, self.ref_image[ref_sent], gram[ref], count[ref])
        hyps = (sentence[~ref] - self.num_ref_sentences, gram[~ref], count[~ref])
        return refs, hyps


def _lookup(keys_sorted: np.ndarray, values: np.ndarray, queries: np.ndarray, missing):
    """values[keys_sorted == query] for each query, ``missing`` where absent."""
    out = np.full(queries.shape, missing, dtype=values.dtype)
    if keys_sorted.size == 0 or queries.size == 0:
        return out, np.zeros(queries.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(keys_sorted, queries), keys_sorted.size - 1)
    found = keys_sorted[pos] == queries
    out[found] = values[pos[found]]
    return out, found


class FastBleu:
    """BLEU-1..n with pycocoevalcap's ``closest`` effective reference length."""

    def __init__(self, n: int = 4):
        self.n = n

    def method(self) -> str:
        return 'Bleu'

    def compute_score(self, gts: Dict[Hashable, List[str]], res: Dict[Hashable, List[str]],
                      verbose: int = 0, table: Optional[NGramTable] = None) -> Tuple[List[float], List[List[float]]]:
        table = table or NGramTable(gts, res, self.n)
        n, images = self.n, table.num_images
        small, tiny = 1e-9, 1e-15
        test_len = table.lengths[table.num_ref_sentences:]
        ref_lens = table.lengths[:table.num_ref_sentences]
        # closest reference length, ties to the shorter: min over (|l - t|, l)
        if images:
            key = np.abs(ref_lens - test_len[table.ref_image]) * (ref_lens.max() + 1) + ref_lens
            ref_len = np.minimum.reduceat(key, _segment_starts(table.ref_image)) % (ref_lens.max() + 1)
        else:
            ref_len = np.zeros(0, dtype=np.int64)
        correct = np.zeros((n, images), dtype=np.int64)
        for k in range(n):
            (_, ref_img, ref_gram, ref_count), (hyp_img, hyp_gram, hyp_count) = table.split(k)
            width = max(table.num_grams[k], 1)
            ref_key = ref_img * width + ref_gram
            order = np.argsort(ref_key, kind='stable')
            ref_key, ref_count = ref_key[order], ref_count[order]
            starts = _segment_starts(ref_key)
            max_key = ref_key[starts]
            max_count = np.maximum.reduceat(ref_count, starts) if starts.size else ref_count[:0]
            clip, _ = _lookup(max_key, max_count, hyp_img * width + hyp_gram, 0)
            correct[k] = np.bincount(hyp_img, weights=np.minimum(clip, hyp_count), minlength=images)
        guess = np.maximum(0, test_len[None, :] - np.arange(n)[:, None])

        per_image: List[List[float]] = []
        bleu = np.ones(images)
        for k in range(n):
            bleu = bleu * ((correct[k].astype(np.float64) + tiny) / (guess[k].astype(np.float64) + small))
            per_image.append(list(bleu ** (1.0 / (k + 1))))
        ratio = (test_len + tiny) / (ref_len + small)
        short = np.flatnonzero(ratio < 1)
        for i in short.tolist():
            factor = math.exp(1 - 1 / ratio[i])
            for k in range(n):
                per_image[k][i] *= factor
        per_image = [[float(x) for x in row] for row in per_image]

        total_test, total_ref = int(test_len.sum()), int(ref_len.sum())
        scores, value = [], 1.0
        for k in range(n):
            value *= float(int(correct[k].sum()) + tiny) / (int(guess[k].sum()) + small)
            scores.append(value ** (1.0 / (k + 1)))
        ratio_all = (total_test + tiny) / (total_ref + small)
        if ratio_all < 1:
            scores = [s * math.exp(1 - 1 / ratio_all) for s in scores]
        return scores, per_image


class FastCider:
    """CIDEr-D (pycocoevalcap ``Cider``): tf-idf cosine with clipping and a length penalty.

    The idf comes from the references of the images being scored, as in
    pycocoevalcap, so scores depend on the evaluated set.
    """

    def __init__(self, n: int = 4, sigma: float = 6.0):
        self.n = n
        self.sigma = sigma

    def method(self) -> str:
        return 'CIDEr'

    def compute_score(self, gts: Dict[Hashable, List[str]], res: Dict[Hashable, List[str]],
                      table: Optional[NGramTable] = None) -> Tuple[float, np.ndarray]:
        table = table or NGramTable(gts, res, self.n)
        n, images = self.n, table.num_images
        if images == 0:
            return float(np.mean(np.zeros(0))), np.zeros(0)
        num_refs = table.num_ref_sentences
        ref_len = np.log(float(images))
        # pycocoevalcap's sentence "length" in the penalty is its number of bigrams
        bigrams = np.maximum(table.lengths - 1, 0) if n > 1 else np.zeros_like(table.lengths)
        delta = (bigrams[num_refs:][table.ref_image] - bigrams[:num_refs]).astype(np.float64)
        penalty = np.e ** (-(delta ** 2) / (2 * self.sigma ** 2))
        ref_val = np.zeros((n, num_refs))
        ref_norm = np.zeros((n, num_refs))
        hyp_norm = np.zeros((n, images))
        for k in range(n):
            (ref_sent, ref_img, ref_gram, ref_count), (hyp_img, hyp_gram, hyp_count) = table.split(k)
            width = max(table.num_grams[k], 1)
            # document frequency: number of images whose references contain the n-gram
            doc_freq = np.bincount(np.unique(ref_img * width + ref_gram) % width, minlength=width)
            idf = np.log(np.maximum(1.0, doc_freq.astype(np.float64)))
            ref_w = ref_count * (ref_len - idf[ref_gram])
            hyp_w = hyp_count * (ref_len - idf[hyp_gram])
            ref_norm[k] = np.sqrt(np.bincount(ref_sent, weights=ref_w ** 2, minlength=num_refs))
            hyp_norm[k] = np.sqrt(np.bincount(hyp_img, weights=hyp_w ** 2, minlength=images))
            hyp_key = hyp_img * width + hyp_gram  # sorted: entries are ordered by (sentence, gram)
            matched_w, found = _lookup(hyp_key, hyp_w, ref_img * width + ref_gram, 0.0)
            contrib = np.minimum(matched_w[found], ref_w[found]) * ref_w[found]
            ref_val[k] = np.bincount(ref_sent[found], weights=contrib, minlength=num_refs)
        denominator = hyp_norm[:, table.ref_image] * ref_norm
        nonzero = denominator != 0
        ref_val[nonzero] /= denominator[nonzero]
        ref_val *= penalty[None, :]
        per_order = np.stack([np.bincount(table.ref_image, weights=ref_val[k], minlength=images) for k in range(n)])
        scores = per_order.mean(axis=0) / table.num_refs * 10.0
        return float(np.mean(scores)), scores


def bleu_cider(gts: Dict[Hashable, List[str]], res: Dict[Hashable, List[str]],
               n: int = 4) -> Dict[str, float]:
    """``Bleu_1``..``Bleu_n`` and ``CIDEr`` sharing one n-gram table."""
    table = NGramTable(gts, res, n)
    bleu, _ = FastBleu(n).compute_score(gts, res, table=table)
    cider, _ = FastCider(n).compute_score(gts, res, table=table)
    out = {f'Bleu_{k + 1}': float(score) for k, score in enumerate(bleu)}
    out['CIDEr'] = cider
    return out
