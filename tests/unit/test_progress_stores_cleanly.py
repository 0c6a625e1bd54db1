"""Progress lines keep only their final state in an executed notebook (no \\r fragments, no widget repr)."""
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


def _execute(cells, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def _texts(cell):
    out = []
    for o in cell.outputs:
        out.append(o.get("text") if o.output_type == "stream" else o.get("data", {}).get("text/plain", ""))
    return out


@pytest.mark.slow
def test_torch_and_keras_progress_store_one_final_line(tmp_path):
    nb = _execute([
        "import course_utils\n"
        "from course_utils.torch_.train import progress_bar\n"
        "bar = progress_bar(range(200), desc='loop')\n"
        "bar.min_interval = 0\n"
        "for i in bar:\n"
        "    bar.set_postfix(step=i)",
        "import numpy as np, keras, tensorflow as tf\n"
        "from course_utils.keras_.train import fit\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation='softmax')])\n"
        "x = np.random.rand(64, 4).astype('float32'); y = (x[:, 0] > 0.5).astype('int32')\n"
        "r = fit(m, tf.data.Dataset.from_tensor_slices((x, y)).batch(8), None, epochs=2, patience=None,\n"
        "        monitor='loss')",
    ], tmp_path)
    loop = _texts(nb.cells[0])
    assert len(loop) == 1 and "200/200" in loop[0] and "\r" not in loop[0], loop
    keras_out = _texts(nb.cells[1])
    progress = [t for t in keras_out if "fit" in t and "/" in t]
    assert len(progress) == 1 and "16/16" in progress[0] and "done (2 epochs)" in progress[0], keras_out
    assert not any("\r" in t for t in keras_out)
