"""``chainrule train``: a tiny run writes plots, history and a checkpoint; bad input exits 2."""

import json
import subprocess
import sys

import pytest

from chainrule.cli import main
from chainrule.serialization import load

PNG = b"\x89PNG\r\n\x1a\n"


def _train(tmp_path, *extra):
    return main(["train", "--data", "moons", "--hidden", "8,8", "--epochs", "2",
                 "--batch-size", "32", "--seed", "0", "--out", str(tmp_path / "run"), *extra])


def test_tiny_run_writes_plots_history_and_checkpoint(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="matplotlib (the plot extra) is missing")
    assert _train(tmp_path, "--lr", "0.01") == 0
    out = capsys.readouterr().out
    run = tmp_path / "run"
    for name in ("loss.png", "accuracy.png"):
        assert (run / name).read_bytes()[:8] == PNG
    ckpt = load(run / "checkpoints" / "last.safetensors")
    assert ckpt["epoch"] == 2
    assert set(ckpt["model"]) == {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight",
                                  "4.bias"}
    assert ckpt["model"]["0.weight"].shape == (8, 2) and ckpt["model"]["4.weight"].shape == (2, 8)
    history = json.loads((run / "history.json").read_text())
    assert len(history["history"]["loss"]) == 2 and "accuracy" in history["test"]
    assert "epoch 2/2" in out and "final: train loss" in out and "test accuracy" in out


def test_regression_uses_mse_and_plots_only_the_loss(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="matplotlib (the plot extra) is missing")
    code = main(["train", "--data", "regression", "--hidden", "16", "--activation", "tanh",
                 "--optimizer", "sgd", "--epochs", "3", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    assert (tmp_path / "loss.png").exists() and not (tmp_path / "accuracy.png").exists()
    history = json.loads((tmp_path / "history.json").read_text())
    assert set(history["test"]) == {"loss"}
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("chainrule train: regression (regression")
    assert not any(line.startswith("epoch ") for line in lines)  # --quiet
    assert lines[-2].startswith("final: train loss")


def test_resume_continues_to_the_total_epochs(tmp_path, capsys):
    assert _train(tmp_path, "--quiet") == 0
    last = tmp_path / "run" / "checkpoints" / "last.safetensors"
    assert main(["train", "--data", "moons", "--hidden", "8,8", "--epochs", "3", "--seed", "0",
                 "--out", str(tmp_path / "run"), "--resume", str(last), "--quiet"]) == 0
    assert load(last)["epoch"] == 3
    assert len(load(last)["history"]["loss"]) == 3


def test_resume_with_no_epochs_left_is_one_line_naming_both_numbers(tmp_path, capsys):
    assert _train(tmp_path, "--quiet") == 0
    capsys.readouterr()
    last = tmp_path / "run" / "checkpoints" / "last.safetensors"
    code = main(["train", "--data", "moons", "--hidden", "8,8", "--epochs", "2",
                 "--out", str(tmp_path / "run"), "--resume", str(last), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "--epochs 2:" in err and "has already trained 2 epochs; give --epochs 3" in err


@pytest.mark.parametrize("args, message", [
    (["--hidden", "8,x"], "--hidden: expected comma-separated positive integers"),
    (["--epochs", "0"], "--epochs: must be >= 1"),
    (["--batch-size", "many"], "--batch-size: expected an integer"),
    (["--activation", "swish"], "--activation: unknown activation 'swish'; choose one of relu"),
    (["--optimizer", "lbfgs"], "--optimizer: unknown optimizer 'lbfgs'"),
    (["--lr", "-1"], "--lr: must be a positive number"),
    (["--data", "nope"], "--data: unknown dataset 'nope'; choose one of regression"),
    (["--data", "moons", "--resume", "missing.safetensors"], "--resume: no such checkpoint"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, args, message):
    argv = ["train", "--data", "moons", "--out", str(tmp_path / "run"), "--quiet", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert err.startswith("chainrule train: error: ")


def test_missing_data_and_out_are_usage_errors(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path)]) == 2
    assert "--data is required" in capsys.readouterr().err
    assert main(["train", "--data", "xor"]) == 2
    assert "--out DIR is required" in capsys.readouterr().err


def test_resume_into_another_architecture_is_a_usage_error(tmp_path, capsys):
    assert _train(tmp_path, "--quiet") == 0
    capsys.readouterr()
    last = tmp_path / "run" / "checkpoints" / "last.safetensors"
    code = main(["train", "--data", "moons", "--hidden", "16", "--epochs", "3",
                 "--out", str(tmp_path / "run"), "--resume", str(last), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "--resume: cannot resume from" in err and "last.safetensors" in err


def test_a_real_process_reports_errors_without_a_traceback(tmp_path):
    entry = "import sys; from chainrule.cli import main; sys.exit(main())"
    proc = subprocess.run([sys.executable, "-c", entry, "train", "--data", "moons",
                           "--epochs", "zero", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == "chainrule train: error: --epochs: expected an integer, got 'zero'\n"
