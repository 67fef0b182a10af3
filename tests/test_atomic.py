"""The one atomic writer: every file chainrule writes gets the umask's mode, survives a failed
write, and interrupted writes leave no temporaries behind for long (issue 10, issue 11 item 6)."""

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import chainrule as cr
from chainrule import atomic
from chainrule.atomic import atomic_link, atomic_write, remove_stale_temporaries
from chainrule.cli import main


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield 0o640
    os.umask(old)


def _modes(directory: Path) -> dict[str, int]:
    return {str(p.relative_to(directory)): stat.S_IMODE(p.stat().st_mode)
            for p in directory.rglob("*") if p.is_file()}


def test_atomic_write_takes_the_mode_a_plain_open_would(tmp_path, umask_027):
    atomic_write(tmp_path / "bytes", b"x")
    atomic_write(tmp_path / "text", "é")
    atomic_write(tmp_path / "fn", lambda f: f.write(b"y"))
    with open(tmp_path / "plain", "wb") as f:
        f.write(b"z")
    assert _modes(tmp_path) == dict.fromkeys(["bytes", "text", "fn", "plain"], umask_027)
    assert (tmp_path / "text").read_text("utf-8") == "é"


def test_plots_checkpoints_and_cli_outputs_get_the_umask_mode(tmp_path, umask_027):
    pytest.importorskip("matplotlib", reason="plots need matplotlib (the plot extra)")
    pytest.importorskip("graphviz", reason="graph files need graphviz (the graph extra)")
    from chainrule.inspect.flow import new_figure, save_figure

    save_figure(new_figure((2, 2)), tmp_path / "plot.png")  # was 0600
    cr.save({"w": cr.ones(2)}, tmp_path / "w.safetensors")
    assert main(["train", "--data", "moons", "--hidden", "4", "--epochs", "1", "--seed", "0",
                 "--out", str(tmp_path / "run")]) == 0
    assert main(["explain", "x*y", "x=2", "y=3", "--html", str(tmp_path / "e.html"),
                 "--markdown", str(tmp_path / "e.md"), "--graph", str(tmp_path / "g.dot")]) == 0
    modes = _modes(tmp_path)
    assert {"plot.png", "w.safetensors", "run/history.json", "run/loss.png",
            "run/checkpoints/last.safetensors", "e.html", "e.md", "g.dot"} <= set(modes)
    assert set(modes.values()) == {umask_027}, modes


def test_no_parent_directories_are_created(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "missing" / "x.txt", b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_writer_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f"
    atomic_write(path, b"old")

    def half_then_fail(f):
        f.write(b"new, half")
        raise OSError("disk full (simulated)")

    with pytest.raises(OSError, match="simulated"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f"]


def test_atomic_link_names_the_same_complete_file(tmp_path):
    (tmp_path / "a").write_bytes(b"one")
    (tmp_path / "b").write_bytes(b"two")
    atomic_link(tmp_path / "a", tmp_path / "last")
    assert (tmp_path / "last").samefile(tmp_path / "a")
    atomic_link(tmp_path / "b", tmp_path / "last")
    assert (tmp_path / "last").read_bytes() == b"two"
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "last"]


# ---- interrupted writes -----------------------------------------------------------------------
_KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from chainrule.atomic import atomic_write

    def stall(f):
        f.write(b"x" * 100_000)
        f.flush()
        print("writing", flush=True)
        time.sleep(60)

    atomic_write(sys.argv[1], stall)
""")


def _killed_mid_write(path: Path) -> Path:
    """Run a writer in another process and kill -9 it halfway; return the temporary it left."""
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    [left] = [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert left.stat().st_size == 100_000
    return left


def test_the_next_save_removes_what_a_killed_save_left(tmp_path):
    left = _killed_mid_write(tmp_path / "ckpt.safetensors")
    foreign = [tmp_path / ".ckpt.safetensors.abc123.tmp", tmp_path / ".x.tmp",
               tmp_path / "notes.chainrule-1-00000000-00000000.tmp",  # not hidden: not ours
               tmp_path / f".y.chainrule-{10**30}-{atomic._HOST}-0123abcd.tmp"]  # no such pid
    for p in foreign:
        p.write_bytes(b"someone else's")
    atomic_write(tmp_path / "other.txt", b"x")  # any write into the directory cleans up
    assert not left.exists()
    assert all(p.exists() for p in foreign)


def test_a_running_writers_temporary_is_kept(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mine = tmp_path / f".a.chainrule-{os.getpid()}-{atomic._HOST}-0123abcd.tmp"
        theirs = tmp_path / f".b.chainrule-{sleeper.pid}-{atomic._HOST}-0123abcd.tmp"
        other_host = tmp_path / f".c.chainrule-{sleeper.pid + 1}-ffffffff-0123abcd.tmp"
        for p in (mine, theirs, other_host):
            p.write_bytes(b"in progress")
        assert remove_stale_temporaries(tmp_path) == []
        # a day without a write: its writer is gone, whatever the pid says
        day_ago = time.time() - atomic.STALE_AFTER_SECONDS - 60
        os.utime(other_host, (day_ago, day_ago))
        assert remove_stale_temporaries(tmp_path) == [other_host]
        assert mine.exists() and theirs.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert remove_stale_temporaries(tmp_path) == [theirs]


def test_fit_cleans_its_checkpoint_directory(tmp_path):
    from chainrule.data import DataLoader, TensorDataset

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    left = _killed_mid_write(ckpt / "epoch-002.safetensors")
    model = cr.nn.Linear(2, 1)
    data = TensorDataset(cr.ones(4, 2), cr.ones(4, 1))
    cr.training.fit(model, cr.nn.MSELoss(), cr.optim.SGD(model.parameters(), lr=0.1),
                    DataLoader(data, 2), epochs=1, checkpoint_dir=ckpt, progress=False)
    assert not left.exists()
    assert sorted(os.listdir(ckpt)) == ["epoch-001.safetensors", "last.safetensors"]


_CONCURRENT_SAVER = textwrap.dedent("""
    import sys
    import chainrule as cr

    for i in range(40):
        cr.save({"i": i, "w": cr.ones(20_000) * i}, f"{sys.argv[1]}/{sys.argv[2]}-{i % 3}")
        cr.save({"i": i}, f"{sys.argv[1]}/shared")
""")


def test_two_processes_saving_into_one_directory(tmp_path):
    """Each save cleans the directory; neither may remove the other's temporary in flight."""
    procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT_SAVER, str(tmp_path), name],
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert sorted(os.listdir(tmp_path)) == ["a-0", "a-1", "a-2", "b-0", "b-1", "b-2", "shared"]
    assert cr.load(tmp_path / "a-0")["i"] == 39 and cr.load(tmp_path / "shared")["i"] == 39
