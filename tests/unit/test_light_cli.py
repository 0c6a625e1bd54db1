"""Commands that do not train import neither PyTorch nor TensorFlow; notebooks still load PyTorch first."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = re.compile(r"\|\s*(torch|torchvision|tensorflow|keras)(\.|\s*$)")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _heavy_imports(args, tmp_path):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "course_utils", *args], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return sorted({m.group(1) for line in proc.stderr.splitlines() if (m := HEAVY.search(line))})


@pytest.mark.parametrize("args", [["--help"], ["data", "list"], ["data", "--help"], ["results", "--help"],
                                  ["run", "--help"]])
def test_commands_that_do_not_train_import_no_framework(args, tmp_path):
    assert _heavy_imports(args, tmp_path) == []


def test_results_command_imports_no_framework(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    args = ["results", "--metrics-dir", str(metrics), "--dest", str(tmp_path / "results.md"), "--readme", ""]
    assert _heavy_imports(args, tmp_path) == []
    assert (tmp_path / "results.md").exists()


def test_import_in_a_kernel_loads_torch_before_tensorflow(tmp_path):
    code = ("import sys, IPython, course_utils\n"
            "mods = list(sys.modules)\n"
            "assert 'torch' in mods, 'course_utils did not load torch inside a kernel'\n"
            "assert 'tensorflow' not in mods or mods.index('torch') < mods.index('tensorflow')\n"
            "print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


def test_setup_notebook_loads_torch_outside_a_kernel(tmp_path):
    code = ("import sys, course_utils\n"
            "assert 'torch' not in sys.modules\n"
            "course_utils.setup_notebook('00_setup', profile='smoke', output_dir='out', verbose=False)\n"
            "assert 'torch' in sys.modules\n"
            "print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]
