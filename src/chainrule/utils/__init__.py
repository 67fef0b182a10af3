"""Utilities: data loading (``cr.utils.data``) and gradient checkpointing."""
