# What every test set shares: a deterministic, unshuffled loader (the dataset and its
# pipeline are filled in by each dataset file and the top-level config).
test_dataloader = dict(
    batch_size=8,
    num_workers=4,  # tools/test.py lowers it to the CPUs available (shared by the ranks of a node)
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)
test_cfg = dict()
