"""``torch.distributed.elastic``: what torchrun programs import from it (``errors.record``)."""
