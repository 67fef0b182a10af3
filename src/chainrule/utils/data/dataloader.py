"""PyTorch's ``torch.utils.data.dataloader`` path; the code is ``chainrule.data.loader``."""

from ...data.loader import DataLoader, default_collate, default_convert

__all__ = ["DataLoader", "default_collate", "default_convert"]
