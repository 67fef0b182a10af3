"""training.fit and ``chainrule train`` under mpiexec."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .launch import check, command, run

CHAINRULE = str(Path(sys.executable).parent / "chainrule")


@pytest.mark.parametrize("n", [2, 3])
def test_fit_on_ranks_equals_one_process_on_the_joint_batch(n, tmp_path):
    check(run(n, "fit_ddp.py", str(tmp_path)), n)


def _train(n: int, out: Path, epochs: int, *extra: str) -> subprocess.CompletedProcess:
    argv = [CHAINRULE, "train", "--data", "moons", "--hidden", "8", "--epochs", str(epochs),
            "--out", str(out), *extra]
    return subprocess.run(command(n, *argv) if n > 1 else argv, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow  # three jobs, ~10 s
def test_chainrule_train_on_two_ranks_resumes_on_three_and_on_one(tmp_path):
    first = _train(2, tmp_path / "a", 2)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("chainrule train: moons") == 1  # rank 0 alone prints
    assert "batch 32 per rank, 2 ranks" in first.stdout
    assert first.stdout.count("epoch 2/2") == 1
    last = tmp_path / "a" / "checkpoints" / "last.safetensors"
    assert last.is_file()
    for n, out in ((3, "b"), (1, "c")):
        resumed = _train(n, tmp_path / out, 3, "--resume", str(last))
        assert resumed.returncode == 0, resumed.stderr
        history = json.loads((tmp_path / out / "history.json").read_text())["history"]
        assert len(history["loss"]) == 3
        assert history["loss"][:2] == json.loads(
            (tmp_path / "a" / "history.json").read_text())["history"]["loss"]


def test_chainrule_train_error_on_every_rank_exits_2_with_one_line(tmp_path):
    result = _train(2, tmp_path / "a", 2, "--lr", "nope")
    assert result.returncode == 2
    assert result.stderr.strip() == "chainrule train: error: --lr: expected a number, got 'nope'"


def test_chainrule_train_error_after_joining_ends_the_job(tmp_path):
    first = _train(2, tmp_path / "a", 1)
    assert first.returncode == 0, first.stderr
    result = _train(2, tmp_path / "b", 2, "--hidden", "4", "--resume",
                    str(tmp_path / "a" / "checkpoints" / "last.safetensors"))
    assert result.returncode != 0
    assert "chainrule train: error: --resume: cannot resume from" in result.stderr
