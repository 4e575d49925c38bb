"""``torch.distributed.elastic.multiprocessing``: only :mod:`.errors` is provided."""
