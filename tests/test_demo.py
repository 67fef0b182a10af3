"""The demo: both networks agree, the checks pass, the files are written; and its CLI."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the demo's figures need matplotlib (chainrule[plot])")

from chainrule import demo  # noqa: E402
from chainrule.cli import main  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def run(tmp_path, **kwargs):
    options = dict(epochs=40, seed=0, progress=False, log=None)
    options.update(kwargs)
    return demo.run_demo(tmp_path / "run", **options)


def test_engine_and_textbook_agree_and_files_are_written(tmp_path):
    r = run(tmp_path)
    assert r.engine_losses.shape == r.scratch_losses.shape == (40,)
    assert r.engine_losses[0] == pytest.approx(r.scratch_losses[0], rel=1e-14)  # same weights
    assert r.max_loss_diff < 1e-12
    assert r.max_grad_diff < 1e-12
    assert r.agree
    assert r.engine_losses[-1] < r.engine_losses[0] / 10
    assert r.gradient_check_error < demo.GRADIENT_CHECK_PASS
    assert 80 <= r.gradient_check_points <= 100
    assert r.engine_gradcheck
    assert set(r.grad_norms) == {"layer 1 (1→64)", "layer 2 (64→32)", "layer 3 (32→1)"}
    for name, values in r.grad_norms.items():
        np.testing.assert_allclose(values, r.scratch_grad_norms[name], rtol=1e-9)
    names = sorted(p.name for p in r.files)
    assert names == ["fit.png", "grad_norms.png", "loss.png", "report.html"]
    for p in r.files:
        assert p.parent == tmp_path / "run"
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG
    page = (tmp_path / "run" / "report.html").read_text()
    for needle in ("<img src='fit.png'", "<img src='loss.png'", "<img src='grad_norms.png'",
                   "max |loss difference| over all epochs", "dL/dw</code> = -24"):
        assert needle in page
    assert not list((tmp_path / "run").glob(".*.tmp"))  # atomic writes left no temp file


def test_the_engine_without_nn_agrees_too(tmp_path, monkeypatch):
    def no_nn(self, weights, biases):
        raise ImportError("pretend chainrule.nn is missing")

    monkeypatch.setattr(demo._EngineNet, "_build_nn", no_nn)
    r = run(tmp_path, epochs=10)
    assert r.engine_kind == "Tensors + hand-written SGD"
    assert r.max_loss_diff < 1e-12 and r.agree


def test_default_epochs_fit_well(tmp_path):
    r = demo.run_demo(tmp_path / "run", seed=0, progress=False, log=None)
    assert r.epochs == demo.DEFAULT_EPOCHS
    assert r.engine_losses[-1] < 2 * demo.NOISE ** 2  # near the noise floor
    truth = r.grid.reshape(-1) ** 2
    assert np.max(np.abs(r.engine_fit.reshape(-1) - truth)) < 0.3
    assert r.agree


def test_data_and_seed():
    x, y = demo.make_data(0)
    assert x.shape == y.shape == (100, 1) and x.dtype == y.dtype == np.float64
    assert x.min() >= -2 and x.max() <= 2
    np.testing.assert_array_equal(demo.make_data(0)[0], x)
    assert not np.array_equal(demo.make_data(1)[0], x)
    assert np.std(y - x ** 2) == pytest.approx(demo.NOISE, rel=0.3)


def test_bad_arguments(tmp_path):
    with pytest.raises(demo.DemoError, match="epochs must be a positive integer"):
        demo.run_demo(tmp_path, epochs=0, log=None)
    with pytest.raises(demo.DemoError, match="seed must be a non-negative integer"):
        demo.run_demo(tmp_path, seed=-1, log=None)
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(demo.DemoError, match="is not a directory"):
        demo.run_demo(afile, epochs=1, log=None, progress=False)


def test_cli_demo(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["demo", "--out", str(out), "--epochs", "20", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert "20 epochs, seed 1" in text
    assert "epoch 20/20" in text  # the plain progress lines (stdout is not a terminal)
    assert "the two networks agree" in text and "yes" in text
    assert str(out / "report.html") in text
    assert (out / "report.html").exists()


@pytest.mark.parametrize("argv,message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--seed", "-3"], "--seed must be >= 0"),
])
def test_cli_demo_bad_options(argv, message, capsys, tmp_path):
    assert main(["demo", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_default_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = demo._run_dir(None)
    second = demo._run_dir(None)
    assert first.parent.name == "runs" and first.name.startswith("demo-")
    assert first != second and second.is_dir()
