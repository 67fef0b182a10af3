"""Every bad input, unwritable output, full disk and size this machine cannot run ends in one
line on stderr and exit status 2, never a traceback (issue #11 items 8, 9, 10)."""

import contextlib
import errno
import os
import subprocess
import sys
import uuid

import pytest

import chainrule.cli.limits as limits
from chainrule.cli import main

BIG = str(10 ** 309)  # an integer literal past float64's range


def _one_line(capsys, command: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"chainrule {command}: error: "), err
    return err


def _train(tmp_path, *extra, out="run"):
    return main(["train", "--data", "moons", "--hidden", "8", "--epochs", "2", "--quiet",
                 "--out", str(tmp_path / out), *extra])


# ---- item 8: --resume continues the saved run, it never switches silently --------------------
@pytest.fixture
def adamw_checkpoint(tmp_path, capsys):
    assert _train(tmp_path, "--optimizer", "adamw", "--lr", "0.02") == 0
    capsys.readouterr()
    return str(tmp_path / "run" / "checkpoints" / "last.safetensors")


@pytest.mark.parametrize("extra, message", [
    (["--optimizer", "sgd", "--lr", "0.5"], "--optimizer sgd: {ckpt} was trained with "
                                             "--optimizer adamw (lr 0.02); resume with "
                                             "--optimizer adamw"),
    (["--optimizer", "adam"], "--optimizer adam: {ckpt} was trained with --optimizer adamw"),
    (["--lr", "0.5"], "--lr 0.5: {ckpt} was trained with --optimizer adamw at lr 0.02; resume "
                      "with --lr 0.02"),
])
def test_resume_with_another_optimizer_or_lr_names_both(tmp_path, capsys, adamw_checkpoint,
                                                        extra, message):
    assert _train(tmp_path, "--epochs", "3", "--resume", adamw_checkpoint, *extra,
                  out="again") == 2
    assert message.format(ckpt=adamw_checkpoint) in _one_line(capsys, "train")
    assert not (tmp_path / "again" / "checkpoints").exists()  # refused before any training


def test_resume_without_optimizer_options_continues_the_checkpoints(tmp_path, capsys,
                                                                    adamw_checkpoint):
    assert _train(tmp_path, "--epochs", "3", "--resume", adamw_checkpoint, out="again") == 0
    banner = capsys.readouterr().out.splitlines()[0]
    assert "adamw lr 0.02, 3 epochs (resuming after epoch 2)" in banner
    assert _train(tmp_path, "--epochs", "4", "--resume", adamw_checkpoint, "--optimizer",
                  "adamw", "--lr", "0.02", out="again") == 0


@pytest.mark.parametrize("epochs", ["1", "2"])
def test_resume_with_epochs_already_done_says_so(tmp_path, capsys, adamw_checkpoint, epochs):
    assert _train(tmp_path, "--epochs", epochs, "--resume", adamw_checkpoint, out="again") == 2
    assert (f"--epochs {epochs}: {adamw_checkpoint} has already trained 2 epochs; give "
            "--epochs 3 or more") in _one_line(capsys, "train")


def test_resume_of_a_damaged_file(tmp_path, capsys, adamw_checkpoint):
    damaged = tmp_path / "damaged.safetensors"
    data = bytearray(open(adamw_checkpoint, "rb").read())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    assert _train(tmp_path, "--resume", str(damaged), out="again") == 2
    assert f"--resume: {damaged} is not a readable checkpoint" in _one_line(capsys, "train")


@pytest.mark.parametrize("escape", [RecursionError("maximum recursion depth exceeded"),
                                    TypeError("unhashable type: 'list'"), KeyError("$tensor")])
def test_resume_of_a_crafted_file_whose_error_escapes_load(tmp_path, capsys, monkeypatch,
                                                           adamw_checkpoint, escape):
    import chainrule.serialization

    def crafted(path, map_location=None):
        raise escape

    monkeypatch.setattr(chainrule.serialization, "load", crafted)
    assert _train(tmp_path, "--resume", adamw_checkpoint, out="again") == 2
    assert "is not a readable checkpoint" in _one_line(capsys, "train")


def test_resume_of_a_file_that_is_not_a_checkpoint(tmp_path, capsys):
    import chainrule as cr

    other = tmp_path / "weights.safetensors"
    cr.save({"w": cr.ones(2)}, other)
    assert _train(tmp_path, "--resume", str(other)) == 2
    assert "is not a training checkpoint" in _one_line(capsys, "train")


# ---- item 9: literals, paths, a full disk, sizes ----------------------------------------------
@pytest.mark.parametrize("command", ["explain", "gradcheck"])
@pytest.mark.parametrize("args, message", [
    ([f"w*{BIG}", "w=1"], "too large for float64"),
    (["w*2", "w=1e400"], "w: '1e400' is not finite"),
])
def test_numbers_past_float64(capsys, command, args, message):
    assert main([command, *args]) == 2
    assert message in _one_line(capsys, command)


def test_train_and_demo_out_that_cannot_be_created(capsys):
    assert main(["train", "--data", "xor", "--out", "/proc/x", "--quiet"]) == 2
    assert "--out: cannot write into /proc/x" in _one_line(capsys, "train")
    assert main(["demo", "--out", "/proc/x", "--epochs", "1"]) == 2
    assert "--out: cannot write into /proc/x" in _one_line(capsys, "demo")


@contextlib.contextmanager
def _tmpfs(path, options):
    """A real small tmpfs (root in a container that may mount), else skip."""
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, f"cr-{uuid.uuid4().hex[:8]}",
                           str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (no CAP_SYS_ADMIN?): {proc.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_out_on_a_read_only_file_system(tmp_path, capsys):
    with _tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
        for command, extra in (("train", ["--data", "xor", "--quiet"]),
                               ("demo", ["--epochs", "1"])):
            assert main([command, "--out", str(ro / "run"), *extra]) == 2
            assert "Read-only file system; choose another directory" in _one_line(capsys,
                                                                                  command)


def test_a_full_disk_during_train(tmp_path, capsys):
    with _tmpfs(tmp_path / "small", "size=256k") as small:
        # ~0.5 MB of weights: the first checkpoint cannot fit
        assert main(["train", "--data", "xor", "--hidden", "256,256", "--epochs", "2",
                     "--quiet", "--out", str(small / "run")]) == 2
        err = _one_line(capsys, "train")
        assert "No space left on device" in err and "free some space there" in err
        assert "choose another --out" in err
        assert not [p for p in small.rglob("*.tmp")]  # no temporary left behind


def test_a_full_disk_reported_at_fsync(tmp_path, capsys, monkeypatch):
    """Where the disk fills is where the OS says so: here fsync (delayed allocation)."""
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    assert _train(tmp_path) == 2
    err = _one_line(capsys, "train")
    assert f"No space left on device (writing into {tmp_path / 'run'}): free some space" in err


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "moons", "--hidden", "200000,200000"], "of memory, more than the"),
    (["vanishing", "--width", "200000"], "of memory, more than the"),
    (["vanishing", "--depth", "100000", "--no-plot"], "over the 5 min limit"),
])
def test_sizes_this_machine_cannot_run(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = _one_line(capsys, argv[0])
    assert message in err and ("use smaller" in err or "use a smaller" in err)
    assert list(tmp_path.iterdir()) == []  # refused before any work


def test_train_size_over_the_available_memory(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(limits, "available_memory", lambda: 16 * 1024 ** 3)
    assert main(["train", "--data", "moons", "--hidden", "100000000", "--out",
                 str(tmp_path)]) == 2
    assert "more than the 16.0 GB this machine has available" in _one_line(capsys, "train")


def test_an_unexpected_error_is_one_line_too(capsys, monkeypatch):
    import chainrule.cli.explain as explain

    def broken(args):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(explain, "run", broken)
    assert main(["explain", "w", "w=1"]) == 2
    assert "internal error (ZeroDivisionError: float division by zero); please report it" in \
        _one_line(capsys, "explain")


# ---- item 10: explain's outputs ------------------------------------------------------------
def test_explain_division_by_zero_reports_inf_in_the_trace_without_warnings():
    entry = "import sys; from chainrule.cli import main; sys.exit(main())"
    proc = subprocess.run([sys.executable, "-W", "default", "-c", entry, "explain", "w/0",
                           "w=1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    assert "L = w / 0 = inf" in proc.stdout
    assert "note: L, dL/dw are not finite (inf or nan)" in proc.stdout


@pytest.mark.parametrize("option", ["--html", "--markdown", "--graph"])
def test_explain_output_options_are_checked_before_any_work(tmp_path, capsys, option):
    assert main(["explain", "w*2", "w=1", option, ""]) == 2
    assert f"{option}: the file name is empty" in _one_line(capsys, "explain")
    missing = tmp_path / "no" / "dir" / "x.html"
    assert main(["explain", "w*2", "w=1", option, str(missing)]) == 2
    assert f"{option}: the directory {missing.parent} does not exist" in _one_line(capsys,
                                                                                  "explain")
    assert not (tmp_path / "no").exists()


def test_explain_graph_refuses_unknown_formats(tmp_path, capsys):
    assert main(["explain", "w*2", "w=1", "--graph", str(tmp_path / "g.xyz")]) == 2
    assert "--graph: unknown format '.xyz'" in _one_line(capsys, "explain")
    assert list(tmp_path.iterdir()) == []


def test_out_of_memory_past_the_estimate_is_one_line(capsys, monkeypatch):
    import chainrule.cli.explain as explain

    def allocate(args):
        raise MemoryError("Unable to allocate 160. GiB for an array with shape (200000, 200000)")

    monkeypatch.setattr(explain, "run", allocate)
    assert main(["explain", "w", "w=1"]) == 2
    assert "out of memory (Unable to allocate 160. GiB" in _one_line(capsys, "explain")
