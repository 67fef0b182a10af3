"""Optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, LAMB) and learning-rate schedules.

``opt = chainrule.optim.Adam(model.parameters(), lr=1e-3); opt.zero_grad(); loss.backward();
opt.step()``
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lamb import LAMB
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LAMB", "lr_scheduler"]


def __getattr__(name: str):
    # A PyTorch name chainrule lacks says so ("does not implement torch.optim.X yet").
    from .._torch_names import missing_attribute

    raise missing_attribute("optim", name)
