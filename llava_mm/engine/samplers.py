"""LLaVA's length-grouped sampler (``group_by_modality_length``), split so any process count sees one order.

LLaVA shuffles, groups samples of similar length into the same batch (less
padding), and never mixes image and text-only samples in a batch. Here the
grouping is done per *global* batch (``global_batch_size`` samples, the same
whatever the number of processes), which is then cut into micro-batches of
``batch_size``: process ``r`` of ``W`` takes micro-batches ``r, r + W, ...``
of every global batch, one per gradient-accumulation step. So 1 process
accumulating 4 micro-batches and 4 processes with 1 each see the same
samples in the same micro-batches, and train to the same weights.
"""
import math
from typing import Iterator, List, Optional, Sequence

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from llava_mm.registry import DATA_SAMPLERS


def _length_grouped(indices: List[int], lengths: Sequence[int], group: int, pool: int,
                    generator: torch.Generator) -> List[List[int]]:
    """Shuffle ``indices``, sort each run of ``pool`` longest first and cut it into groups of ``group``."""
    order = [indices[i] for i in torch.randperm(len(indices), generator=generator).tolist()]
    groups = []
    for start in range(0, len(order), pool):
        ranked = sorted(order[start:start + pool], key=lambda i: abs(lengths[i]), reverse=True)
        groups += [ranked[i:i + group] for i in range(0, len(ranked), group)]
    return groups


def modality_length_grouped_indices(lengths: Sequence[int], group: int, generator: torch.Generator,
                                    pool: Optional[int] = None) -> List[int]:
    """One epoch's order: groups of ``group`` samples of one modality and similar length, groups shuffled.

    ``lengths`` are LLaVA's modality lengths: positive for samples with an
    image, negative for text-only ones. Samples are ranked by length within
    runs of ``pool`` shuffled samples (default ``group``, as LLaVA does; a
    larger pool, transformers' ``mega_batch_mult``, pads less). The two
    incomplete groups are merged into a last group, as LLaVA does.
    """
    pool = pool or group
    image = [i for i, n in enumerate(lengths) if n > 0]
    text = [i for i, n in enumerate(lengths) if n <= 0]
    groups, leftovers = [], []
    for indices in (image, text):
        if not indices:
            continue
        grouped = _length_grouped(indices, lengths, group, pool, generator)
        if len(grouped[-1]) < group:
            leftovers += grouped.pop()
        groups += grouped
    groups = [groups[i] for i in torch.randperm(len(groups), generator=generator).tolist()]
    if leftovers:
        groups.append(sorted(leftovers, key=lambda i: abs(lengths[i]), reverse=True))
    return [i for g in groups for i in g]


@DATA_SAMPLERS.register_module()
class LengthGroupedSampler(Sampler):
    """Modality- and length-grouped, seeded, distributed sampler.

    Args:
        dataset: a dataset with ``modality_lengths`` (``LlavaInstructDataset``);
            without them every sample counts as one length (plain shuffling).
        batch_size: the per-process micro-batch size (the dataloader's).
        global_batch_size: samples per optimizer step over all processes and
            accumulation steps; a multiple of ``batch_size * world_size``.
        group_by_modality: group image and text-only samples apart (LLaVA's
            ``group_by_modality_length``); else shuffle without grouping.
        mega_batch_mult: rank lengths over this many global batches at a time
            (transformers' ``mega_batch_mult``): 1 is LLaVA's grouping, more
            pads less, as when one process trains without accumulation.
        seed: shuffling seed (synchronised across processes when ``None``).
    """

    def __init__(self, dataset, batch_size: int, global_batch_size: Optional[int] = None,
                 group_by_modality: bool = True, mega_batch_mult: int = 1, seed: Optional[int] = None) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.batch_size = batch_size
        self.global_batch_size = global_batch_size or batch_size * self.world_size
        if self.global_batch_size % (batch_size * self.world_size):
            raise ValueError(f'global_batch_size={self.global_batch_size} is not a multiple of batch_size '
                             f'({batch_size}) x processes ({self.world_size})')
        self.group_by_modality = group_by_modality
        if mega_batch_mult < 1:
            raise ValueError(f'mega_batch_mult must be at least 1, got {mega_batch_mult}')
        self.mega_batch_mult = mega_batch_mult
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.start = 0  # micro-batches of this process already consumed this epoch (resume)
        self.num_steps = math.ceil(len(dataset) / self.global_batch_size)

    @property
    def accumulative_counts(self) -> int:
        """Micro-batches each process accumulates per optimizer step."""
        return self.global_batch_size // (self.batch_size * self.world_size)

    def _epoch_order(self) -> List[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        lengths = list(getattr(self.dataset, 'modality_lengths', None) or [1] * len(self.dataset))
        if self.group_by_modality:
            order = modality_length_grouped_indices(lengths, self.global_batch_size, generator,
                                                    pool=self.global_batch_size * self.mega_batch_mult)
        else:
            order = torch.randperm(len(lengths), generator=generator).tolist()
        total = self.num_steps * self.global_batch_size
        return (order * math.ceil(total / len(order)))[:total]  # pad the last step by repeating, like mmengine

    def __iter__(self) -> Iterator[int]:
        order = self._epoch_order()
        mine: List[int] = []
        per_step = self.global_batch_size // self.batch_size
        for step in range(self.num_steps):
            chunk = order[step * self.global_batch_size:(step + 1) * self.global_batch_size]
            for micro in range(self.rank, per_step, self.world_size):
                mine += chunk[micro * self.batch_size:(micro + 1) * self.batch_size]
        start, self.start = self.start * self.batch_size, 0
        return iter(mine[start:])

    def __len__(self) -> int:
        return self.num_steps * self.global_batch_size // self.world_size  # a full epoch, also when resuming

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def skip(self, num_batches: int) -> None:
        """Start the next iteration ``num_batches`` micro-batches in (exact resume mid-epoch)."""
        self.start = num_batches
