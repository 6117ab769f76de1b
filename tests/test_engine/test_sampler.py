"""LengthGroupedSampler: LLaVA's modality/length grouping, and one order whatever the number of processes."""
import pytest
import torch

from llava_mm.engine import LengthGroupedSampler


class Lengths:
    """A dataset stand-in with LLaVA's modality lengths (negative = text-only)."""

    def __init__(self, lengths):
        self.modality_lengths = list(lengths)

    def __len__(self):
        return len(self.modality_lengths)


def dataset(n=61, seed=0):
    g = torch.Generator().manual_seed(seed)
    sizes = torch.randint(20, 400, (n, ), generator=g).tolist()
    return Lengths([s if i % 3 else -s for i, s in enumerate(sizes)])


def micro_batches(sampler):
    order = list(sampler)
    return [order[i:i + sampler.batch_size] for i in range(0, len(order), sampler.batch_size)]


def sampler_for(data, rank, world, batch=2, global_batch=8, seed=3, monkeypatch=None, mega_batch_mult=1):
    monkeypatch.setattr('llava_mm.engine.samplers.get_dist_info', lambda: (rank, world))
    return LengthGroupedSampler(data, batch_size=batch, global_batch_size=global_batch, seed=seed,
                                mega_batch_mult=mega_batch_mult)


def test_batches_hold_one_modality_except_the_last_step(monkeypatch):
    data = dataset()
    sampler = sampler_for(data, 0, 1, batch=8, global_batch=8, monkeypatch=monkeypatch)
    batches = micro_batches(sampler)
    mixed = [b for b in batches if len({data.modality_lengths[i] > 0 for i in b}) > 1]
    assert len(mixed) <= 1 and (not mixed or mixed[0] is batches[-1])
    first = batches[0]
    assert [abs(data.modality_lengths[i]) for i in first] == sorted(
        (abs(data.modality_lengths[i]) for i in first), reverse=True)  # longest first within a group
    assert sorted(set(i for b in batches for i in b)) == list(range(len(data)))  # every sample, epoch padded


@pytest.mark.parametrize('world', [2, 4])
def test_processes_split_each_global_batch_as_accumulation_would(world, monkeypatch):
    """Process r of W takes micro-batches r, r + W, ... of each global batch: together the same samples in the
    same micro-batches as 1 process accumulating them."""
    data = dataset()
    single = micro_batches(sampler_for(data, 0, 1, monkeypatch=monkeypatch))
    per_rank = [micro_batches(sampler_for(data, r, world, monkeypatch=monkeypatch)) for r in range(world)]
    per_step = 8 // 2
    steps = len(single) // per_step
    for step in range(steps):
        expected = single[step * per_step:(step + 1) * per_step]
        accumulation = per_step // world
        got = [per_rank[m % world][step * accumulation + m // world] for m in range(per_step)]
        assert got == expected


def test_epochs_reshuffle_and_skip_resumes_mid_epoch(monkeypatch):
    data = dataset()
    sampler = sampler_for(data, 0, 1, monkeypatch=monkeypatch)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    assert first != second and set(first) == set(second) == set(range(len(data)))
    sampler.skip(3)
    assert list(sampler) == second[3 * 2:]
    assert list(sampler) == second  # the skip applies once


def test_global_batch_must_divide(monkeypatch):
    with pytest.raises(ValueError, match='global_batch_size=6 is not a multiple of batch_size \\(2\\) x processes'):
        sampler_for(dataset(), 0, 2, batch=2, global_batch=6, monkeypatch=monkeypatch)


def padded_tokens(data, batches):
    return sum(len(b) * max(abs(data.modality_lengths[i]) for i in b) for b in batches)


def test_mega_batches_pad_less_and_keep_one_order_for_any_process_count(monkeypatch):
    """mega_batch_mult ranks lengths over several global batches: the same samples each epoch, fewer padded
    tokens than LLaVA's per-batch grouping, and still the same micro-batches for 1 process or 2."""
    data = dataset(n=400)

    def sampler(rank, world, mult):
        return sampler_for(data, rank, world, batch=4, monkeypatch=monkeypatch, mega_batch_mult=mult)

    llava, pooled = micro_batches(sampler(0, 1, 1)), micro_batches(sampler(0, 1, 10))
    assert sorted(i for b in pooled for i in b) == list(range(len(data)))
    assert padded_tokens(data, pooled) < 0.85 * padded_tokens(data, llava)
    assert pooled != sorted(pooled, key=lambda b: -abs(data.modality_lengths[b[0]]))  # batches still shuffled
    two = [micro_batches(sampler(r, 2, 10)) for r in range(2)]
    assert [two[m % 2][m // 2] for m in range(len(pooled))] == pooled
    with pytest.raises(ValueError, match='mega_batch_mult must be at least 1, got 0'):
        sampler(0, 1, 0)
