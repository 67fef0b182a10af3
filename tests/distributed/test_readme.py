"""The README's data-parallel script runs as written under mpiexec -n 2."""

import re
import subprocess
import sys
from pathlib import Path

from .launch import ROOT, command


def test_readme_data_parallel_script_runs_on_two_ranks(tmp_path):
    section = (ROOT / "README.md").read_text().split("## Data-parallel training on MPI")[1]
    (script,) = re.findall(r"```py\n(.*?)```", section.split("\n## ")[0], re.S)
    (tmp_path / "train.py").write_text(script)
    result = subprocess.run(command(2, sys.executable, "train.py"), cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert Path(tmp_path / "model.safetensors").is_file()
