"""The one results renderer: the runner's table, the results page and README's table agree."""
import json

from course_utils.tools.results_table import format_value, render_sections, render_table

DOC = {"notebook": "06_mnist_cnn_pytorch", "profile": "laptop",
       "data": {"mnist": {"dataset": "mnist", "source": "cache", "synthetic": False,
                          "counts": {"train": 60000, "test": 10000}}},
       "metrics": {"test_acc": 0.98765, "epochs": 2, "cm": [[1, 2], [3, 4]], "nested": {"a": 1}},
       "lessons": [{"id": "acc", "claim": "Params are (F*F*C + 1)*K", "holds": True, "evidence": "a | b"},
                   {"id": "gap", "claim": "No gap", "holds": False, "evidence": "0.02"}],
       "timings": {"total_s": 401.2},
       "environment": {"machine": {"cpu_count": 2, "torch": {"names": []}}}}


def test_format_value_keeps_small_numbers_visible():
    assert format_value(3.424e-10) == "3.424e-10"
    assert format_value(0.98765) == "0.9877" and format_value(0.0) == "0" and format_value(7) == "7"
    assert format_value(list(range(40))).endswith("...") and len(format_value(list(range(40)))) == 40


def test_sections_show_provenance_metrics_and_lessons_escaped():
    text = render_sections([{"notebook": "06_mnist_cnn_pytorch", "status": "ok", "doc": DOC, "wall_s": None}])
    assert "## 06_mnist_cnn_pytorch" in text
    assert "**wall time** 401 s" in text and "**machine** CPU, 2 cores" in text
    assert "mnist (cache: train 60000, test 10000)" in text
    assert "| `test_acc` | 0.9877 |" in text and "`nested`" not in text
    assert r"- ✓ Params are (F\*F\*C + 1)\*K (a \| b)" in text and "- ✗ No gap (0.02)" in text


def test_table_and_headline_table_use_the_same_numbers():
    entries = [{"notebook": "06_mnist_cnn_pytorch", "status": "ok", "doc": DOC, "wall_s": 412.0},
               {"notebook": "07_x", "status": "FAILED", "doc": None, "wall_s": 3.0}]
    full = render_table(entries)
    head = render_table(entries, headline={"06_mnist_cnn_pytorch": ["test_acc"]})
    assert "test_acc=0.9877" in full and "epochs=2" in full and "1/2 ✗" in full and "412 s" in full
    assert "test_acc=0.9877" in head and "epochs=2" not in head
    assert "| 07_x | FAILED |" in full


def test_runner_table_and_results_page_render_through_the_same_module(tmp_path, monkeypatch):
    from course_utils.tools import results_page
    from course_utils.tools.runner import results_markdown

    (tmp_path / "06_mnist_cnn_pytorch.metrics.json").write_text(json.dumps(DOC))
    monkeypatch.setattr("course_utils.tools.runner.toc_notebooks", lambda toc=None: ["06_mnist_cnn_pytorch"])
    page = results_page.write_results_page(tmp_path, tmp_path / "results.md")
    runner = results_markdown([{"notebook": "06_mnist_cnn_pytorch", "status": "ok", "metrics_doc": DOC,
                                "wall_s": 412.0}])
    assert "0.9877" in page and "0.9877" in runner
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{results_page.README_START}\nold\n{results_page.README_END}\nrest\n")
    results_page.update_readme(tmp_path, readme)
    text = readme.read_text()
    assert "old" not in text and "test_acc=0.9877" in text and text.startswith("intro") and text.endswith("rest\n")
