"""A network whose last layer gets no gradient reports inf/nan ratios, never a crash (a plain
ReLU network of depth 500 used to end `chainrule vanishing` with ZeroDivisionError)."""

import math

from chainrule.inspect.vanishing import Experiment, Run


def test_ratios_of_a_network_without_gradient_are_nan_and_inf():
    dead = Run(activation="relu", residual=False, norm=None, grad_norms=[0.0, 0.0],
               signal_norms=[2.0, 0.0], spectral_norms=[1.0, 1.0])
    assert math.isnan(dead.ratio)
    assert dead.signal_ratio == math.inf
    report = Experiment(2, 4, [dead], []).report()
    assert "nan" in report
