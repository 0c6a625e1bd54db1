"""What ``--store`` writes: notebooks with progress bars in their final state, portable metrics."""
import json

import nbformat

from course_utils.tools.runner import _merged_streams, _strip_papermill, store_metrics


def test_progress_fragments_are_stored_as_their_final_state():
    outs = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in
            ["\repoch 1/2:   0%|   | 0/938", "\repoch 1/2:  50%|#  | 469/938", "\repoch 1/2: 100%|###| 938/938\n",
             "batch 300: accuracy 0.964\n"]]
    outs.append(nbformat.v4.new_output("stream", name="stderr", text="a real warning\n"))
    merged = _merged_streams(outs)
    assert [o["name"] for o in merged] == ["stdout", "stderr"]
    assert merged[0]["text"] == "epoch 1/2: 100%|###| 938/938\nbatch 300: accuracy 0.964\n"
    assert merged[1]["text"] == "a real warning\n"


def test_stored_metrics_keep_numbers_and_drop_machine_paths(tmp_path):
    doc = {"notebook": "06_mnist_cnn_pytorch", "metrics": {"test_acc": 0.9868},
           "settings": {"data_dir": "/srv/someone/datasets/mnist"}, "lessons": [{"id": "a", "holds": True}]}
    path = store_metrics(doc, tmp_path)
    assert path == tmp_path / "06_mnist_cnn_pytorch.metrics.json"
    stored = json.loads(path.read_text())
    assert stored["metrics"] == {"test_acc": 0.9868} and stored["lessons"] == doc["lessons"]
    assert stored["settings"]["data_dir"] == ".../mnist"


def test_stored_notebook_drops_papermill_traces_and_keeps_real_tags(tmp_path):
    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_code_cell("profile = 'auto'"), nbformat.v4.new_code_cell("profile = 'laptop'"),
             nbformat.v4.new_code_cell("print(1)")]
    cells[0].metadata = {"tags": ["parameters"], "papermill": {"duration": 1.0}}
    cells[1].metadata = {"tags": ["injected-parameters"]}
    cells[2].metadata = {"tags": [], "execution": {"iopub.status.idle": "now"}}
    nb.cells, nb.metadata["papermill"] = cells, {"parameters": {}}
    nbformat.write(nb, tmp_path / "executed.ipynb")
    _strip_papermill(tmp_path / "executed.ipynb", tmp_path / "stored.ipynb")
    stored = nbformat.read(tmp_path / "stored.ipynb", as_version=4)
    assert [c.source for c in stored.cells] == ["profile = 'auto'", "print(1)"]
    assert [dict(c.metadata) for c in stored.cells] == [{"tags": ["parameters"]}, {}]   # as jupytext --sync writes
    assert "papermill" not in stored.metadata

