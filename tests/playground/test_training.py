"""The playground's data sets, network and sessions, without the server."""

import time

import numpy as np
import pytest

from chainrule.playground import datasets
from chainrule.playground.sessions import Session
from chainrule.playground.training import Trainer
from chainrule.playground.validation import parse_config


@pytest.mark.parametrize("params", [
    {"dataset": "circle"}, {"dataset": "xor"}, {"dataset": "gauss", "noise": 50},
    {"dataset": "spiral", "classes": 4, "points": 203},
    {"problem": "regression", "dataset": "plane"},
    {"problem": "regression", "dataset": "multigauss"}])
def test_data_sets_lie_in_the_plane_with_their_targets(params):
    config = parse_config(params)
    xy, target = datasets.generate(config, seed=3)
    assert xy.shape == (config.points, 2)
    if config.problem == "classification":
        counts = np.bincount(target)
        assert len(counts) == config.classes and counts.min() > 0.3 * config.points / config.classes
    else:
        assert np.abs(target).max() <= 1 and np.abs(target).max() > 0.3
    assert np.abs(xy).max() < 12
    again, _ = datasets.generate(config, seed=3)
    np.testing.assert_array_equal(xy, again)


def test_circle_labels_are_inside_versus_outside():
    xy, target = datasets.generate(parse_config({}), seed=0)
    r = np.hypot(xy[:, 0], xy[:, 1])
    assert np.all(r[target == 1] < 2.5) and np.all(r[target == 0] > 3.5)


def test_split_and_features():
    train, test = datasets.split(500, 30, seed=1)
    assert len(train) == 150 and len(test) == 350
    assert set(train) | set(test) == set(range(500))
    X = datasets.features(np.array([[1.0, 2.0]]), ("x1", "x2sq", "x1x2", "sinx1"))
    np.testing.assert_allclose(X, [[1.0, 4.0, 2.0, np.sin(1.0)]], rtol=1e-6)


def test_the_network_learns_the_circle():
    trainer = Trainer(parse_config({"features": ["x1", "x2", "x1sq", "x2sq"]}))
    first = trainer.test_loss
    for _ in range(60):
        trainer.run_epoch()
    assert trainer.test_loss < 0.1 < first
    assert trainer.verdict()["kind"] == "healthy"


def test_eight_sigmoid_layers_get_the_vanishing_verdict():
    trainer = Trainer(parse_config({"activation": "sigmoid", "hidden": [4] * 8}))
    assert trainer.verdict()["kind"] == "none"
    for _ in range(3):
        trainer.run_epoch()
    verdict = trainer.verdict()
    assert verdict["kind"] == "vanishing"
    assert "layer 1's gradient norm is" in verdict["message"] and "sigmoid" in verdict["message"]
    norms = trainer.frame()["grad_norms"]["values"][-1]
    assert norms[0] < 1e-3 * norms[-1]


def test_l2_adds_half_the_squared_weights():
    trainer = Trainer(parse_config({"regularization": "l2", "reg_rate": 0.5}))
    expected = 0.5 * 0.5 * sum(float((m.weight.detach().numpy() ** 2).sum())
                               for m in trainer.linears)
    assert trainer.penalty().item() == pytest.approx(expected, rel=1e-5)


def test_the_training_thread_keeps_to_the_frame_cap():
    session = Session("s", parse_config({"points": 100}), max_fps=10)
    session.play()
    time.sleep(1.0)
    session.pause()
    assert 3 <= session.trainer.epoch <= 12
    epoch = session.trainer.epoch
    time.sleep(0.2)
    assert session.trainer.epoch == epoch and not session.playing


def test_a_playing_session_nobody_watches_or_asks_about_stops_itself():
    session = Session("s", parse_config({"points": 100}), ttl=0.3)
    session.play()
    deadline = time.monotonic() + 10
    while session.playing:
        assert time.monotonic() < deadline, "the abandoned session kept training"
        time.sleep(0.05)
    epoch = session.trainer.epoch
    time.sleep(0.2)
    assert session.trainer.epoch == epoch
