"""The textbook network: forward and backward passes written out by hand in NumPy.

    from chainrule.scratch import NeuralNetwork
    net = NeuralNetwork([2, 8, 1], activation="tanh", output="sigmoid", loss="bce", seed=0)

Independent of the autograd engine (NumPy only), so the two can check each other.
"""

from .activations import ACTIVATIONS, OUTPUT_ACTIVATIONS, Activation, OutputActivation
from .losses import LOSSES, Loss
from .network import NeuralNetwork

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OUTPUT_ACTIVATIONS",
    "Activation",
    "Loss",
    "NeuralNetwork",
    "OutputActivation",
]
