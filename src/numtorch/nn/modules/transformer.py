"""Attention layers: ``MultiheadAttention`` and the Transformer encoder."""
