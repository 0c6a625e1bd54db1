"""Checks on the outputs stored in notebooks/*.ipynb (what GitHub and the book show).

- no TensorFlow/absl/CUDA log lines, no tqdm "IProgress not found" warning, no absolute path of the
  machine that ran them (in the notebooks or the metrics files), no bare True/False cell result,
  progress bars in their final state;
- every stored notebook has its metrics file in ``book/metrics/``; every lesson in it holds, and the
  "What this run showed" and metrics lines the notebook printed are those of the file;
- ``book/results.md`` and README's table are what ``python -m course_utils results`` makes of them.

Stored outputs made before notebooks checked their lessons (no "What this run showed" output) are
skipped, saying so: ``make outputs`` re-stores them. The self-tests at the end plant each problem
in a small notebook and check that the checks catch it, so none of them can pass vacuously.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import nbformat
import pytest

from course_utils.setup.env import NATIVE_NOISE
from course_utils.tools.results_table import format_value

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
METRICS_DIR = ROOT / "book" / "metrics"
LESSONS_HEADER = "What this run showed ("

NOISE = [re.escape(p) for p in NATIVE_NOISE] + [
    r"IProgress not found", r"^[EWI]\d{4} \d\d:\d\d:\d\d", r"absl::InitializeLog", r"cuInit",
    # a library's warning in a stored run is noise to a learner: fix its cause (or say why it shows)
    r"\b(?:User|Future|Deprecation|Runtime)Warning: ",
]
ABSOLUTE_PATH = re.compile(r"(?<![\w.~$/-])/(?:work|home|root|tmp|Users|mnt|var/folders|private)/")


def output_texts(nb) -> list[tuple[int, str, str]]:
    """(cell index, kind, text) of every stored output: stream name, 'text/plain', 'error'..."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                found.append((i, out.get("name", "stream"), out.get("text", "")))
            elif kind in ("execute_result", "display_data"):
                for mime in ("text/plain", "text/html", "text/markdown"):
                    if mime in out.get("data", {}):
                        found.append((i, mime, out["data"][mime]))
            elif kind == "error":
                found.append((i, "error", "\n".join(out.get("traceback", []))))
    return found


def predates_lessons(nb) -> bool:
    return not any(LESSONS_HEADER in text for _, _, text in output_texts(nb))


def noise_problems(nb) -> list[str]:
    """Log noise, machine paths and progress-bar fragments in the stored outputs."""
    problems = []
    for i, kind, text in output_texts(nb):
        for line in text.splitlines():
            if any(re.search(p, line) for p in NOISE):
                problems.append(f"cell {i} ({kind}): log noise: {line[:120]}")
            if ABSOLUTE_PATH.search(line):
                problems.append(f"cell {i} ({kind}): absolute path: {line[:120]}")
        if kind == "text/plain" and text.strip() in ("True", "False", "None"):
            problems.append(f"cell {i}: a bare {text.strip()} stored as the cell's result says nothing to a reader")
        if kind in ("stdout", "stderr") and "\r" in text:
            problems.append(f"cell {i} ({kind}): progress bar stored as carriage-return fragments")
    for i, cell in enumerate(nb.cells):
        streams = [o.get("name") for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
        if any(a == b for a, b in pairwise(streams)) and len(streams) > 10:
            problems.append(f"cell {i}: {len(streams)} stream fragments (store the final state)")
    return problems


def printed_lessons(nb) -> tuple[str, list[dict]]:
    """The header line and the lessons printed by ``run.show_lessons()``."""
    for _, _, text in output_texts(nb):
        if LESSONS_HEADER not in text:
            continue
        lines = text[text.index(LESSONS_HEADER):].splitlines()
        lessons = []
        for line in lines[1:]:
            if line.startswith(("  ✓ ", "  ✗ ")):
                lessons.append({"holds": line[2] == "✓", "claim": line[4:]})
            elif line.startswith("      evidence: ") and lessons:
                lessons[-1]["evidence"] = line[len("      evidence: "):]
        return lines[0], lessons
    return "", []


def printed_metrics(nb) -> dict[str, str]:
    """``key -> printed value`` from the lines ``run.save_metrics`` printed."""
    for _, _, text in output_texts(nb):
        if "Metrics written to " not in text:
            continue
        block = text[text.index("Metrics written to "):].splitlines()[1:]
        values = {}
        for line in block:
            m = re.match(r"^  (\S+) +(.*)$", line)
            if not m:
                break
            values[m.group(1)] = m.group(2).rstrip()
        return values
    return {}


#: Lessons whose stored laptop run shows ✗, each with the reason. The ✗ stays visible in the
#: notebook and on the results page; this list only keeps a known ✗ from failing the suite, and an
#: entry whose lesson holds again fails it (remove the entry then). Every other lesson must hold.
NOT_HOLDING_YET: dict[tuple[str, str], str] = {
    ("07_monkeypox_classifier", "cache_prefetch_pays"):
        "the stored run timed the light network's epoch at 0.16 s plain vs 0.12 s with cache + prefetch (1.41x, "
        "short of 1.5x); an earlier stored run of the notebook measured 0.30 s vs 0.13 s (2.27x). Epochs of a "
        "tenth of a second are too short to time reliably on a shared 2-core machine",
    ("12_class_activation_maps", "keras_gradcam_points"):
        "Grad-CAM of 11's fine-tuned MobileNet 0.25 (the only Keras ImageNet weights offline) points inside the "
        "box on 0.710 of 200 composites at conv_pw_5_relu, the stage end that pointed best on validation "
        "composites (0.665; 0.585 and 0.500 at the later two), against the centre guess's 0.56; the model, 0.93 "
        "on real test photos and on the same photos cut out, classifies 0.585 of the composites right and calls "
        "86% of them cat, and its Flatten head ties it to 160 px, so it cannot see the canvas at its own size "
        "as 09's GAP model does",
    ("12_class_activation_maps", "torch_gradcam_beats_contrast"):
        "on composites of one photo pasted onto a flat colour, a model-free contrast map at the same 7x7 grid "
        "points inside the box exactly as often as Grad-CAM of the ImageNet network (0.885 each; 21 images "
        "either way, sign test p = 0.56): the busy region is always the answer, so the set cannot show class "
        "evidence. On the notebook's harder set (a cat and a dog per canvas) the same network's maps do beat "
        "the contrast map (0.590 vs 0.445, p = 0.002), so the method shows class evidence where a set can show it",
}


def lesson_problems(nb, doc: dict | None) -> list[str]:
    """Stored lessons that do not hold, or printed lessons/metrics that differ from the file."""
    if doc is None:
        return ["no metrics file in book/metrics/ for these stored outputs"]
    problems = []
    header, shown = printed_lessons(nb)
    stored = doc.get("lessons") or []
    if not stored:
        problems.append("the metrics file records no lessons")
    stem = doc.get("notebook", "")
    for le in stored:
        known = NOT_HOLDING_YET.get((stem, le["id"]))
        if not le.get("holds") and not known:
            problems.append(f"lesson {le['id']!r} does not hold: {le['claim']} ({le['evidence']})")
        if le.get("holds") and known:
            problems.append(f"lesson {le['id']!r} holds now: remove it from NOT_HOLDING_YET")
    if f"({doc.get('profile')} profile" not in header:
        problems.append(f"lessons printed for another profile: {header!r} vs {doc.get('profile')!r}")
    if [(le["holds"], le["claim"], le.get("evidence")) for le in shown] != \
            [(le["holds"], le["claim"], le["evidence"]) for le in stored]:
        problems.append(f"printed lessons {shown} differ from the metrics file's {stored}")
    printed = printed_metrics(nb)
    if not printed:
        problems.append("no metrics output stored")
    for key, text in printed.items():
        if key not in doc.get("metrics", {}):
            problems.append(f"printed metric {key!r} is not in the metrics file")
        elif format_value(doc["metrics"][key]) != text:
            problems.append(f"{key}: printed {text!r}, metrics file {format_value(doc['metrics'][key])!r}")
    return problems


def _load(path: Path):
    return nbformat.read(path, as_version=4)


def _stored_doc(stem: str) -> dict | None:
    path = METRICS_DIR / f"{stem}.metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def _skip_if_predates(nb, path: Path, what: str):
    if predates_lessons(nb):
        n = len(noise_problems(nb))
        pytest.skip(f"{path.name}: stored outputs predate lessons (no 'What this run showed' output; "
                    f"{n} noise/path problems in them); re-store with `make outputs NB={path.name[:2]}` "
                    f"to check {what}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_outputs_are_clean(path):
    nb = _load(path)
    _skip_if_predates(nb, path, "its outputs")
    problems = noise_problems(nb)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_lessons_hold_and_match_metrics_file(path):
    nb = _load(path)
    _skip_if_predates(nb, path, "its lessons and metrics")
    problems = lesson_problems(nb, _stored_doc(path.stem))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", sorted(METRICS_DIR.glob("*.json")), ids=lambda p: p.name)
def test_stored_metrics_name_no_path_of_the_machine_that_ran_them(path):
    """The metrics files are published beside the notebooks: provenance is written as the notebooks
    print paths ($COURSE_DATA_ROOT/..., $COURSE_DATA_MIRROR/..., ~/...)."""
    found = [line.strip()[:120] for line in path.read_text().splitlines() if ABSOLUTE_PATH.search(line)]
    assert not found, "\n".join(found)


def test_results_page_and_readme_are_generated_from_stored_metrics(tmp_path):
    from course_utils.tools.results_page import (
        README_END,
        README_START,
        update_readme,
        write_results_page,
    )

    if not list(METRICS_DIR.glob("*.metrics.json")):
        pytest.skip("no stored metrics in book/metrics/ yet (`make outputs` writes them)")
    expected_page = write_results_page(METRICS_DIR, tmp_path / "results.md")
    assert (ROOT / "book" / "results.md").read_text() == expected_page, \
        "book/results.md is stale: run `python -m course_utils results`"
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text())
    update_readme(METRICS_DIR, readme)
    def section(text):
        return text[text.index(README_START):text.index(README_END)]

    assert section((ROOT / "README.md").read_text()) == section(readme.read_text()), \
        "README's results table is stale: run `python -m course_utils results`"


# -- the checks themselves can fail ----------------------------------------------------------------
def _notebook_with(*outputs, lessons_text: str | None = None):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = [nbformat.v4.new_output("stream", name=name, text=text) for name, text in outputs]
    nb.cells = [cell]
    if lessons_text is not None:
        c2 = nbformat.v4.new_code_cell("run.show_lessons()")
        c2.outputs = [nbformat.v4.new_output("stream", name="stdout", text=lessons_text)]
        nb.cells.append(c2)
    return nb


@pytest.mark.parametrize("name, text", [
    ("stderr", "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"),
    ("stderr", "E0000 00:00:1795449090.544417   26784 cuda_platform.cc:52] failed call to cuInit: UNKNOWN\n"),
    ("stderr", "W0000 00:00:1.0 1 op.cc:1] NodeDef mentions attribute use_unbounded_threadpool which is not\n"),
    ("stderr", "/x/.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found.\n"),
    ("stderr", ".../keras/src/models/functional.py:259: UserWarning: The structure of `inputs` doesn't match\n"),
    ("stderr", ".../sklearn/linear_model/_logistic.py:1: FutureWarning: The default value for l1_ratios will change\n"),
    ("stdout", "CIFAR-10: data_dir -> /work/shared/data/cifar10_small\n"),
    ("stdout", "Metrics written to /home/ann/outputs/01.metrics.json\n"),
    ("stdout", "scratch: /tmp/tmp0j9d298f/flowers: 25 images\n"),
    ("stdout", "\repoch 1/2:   0%|   | 0/938\repoch 1/2:  9%|   | 82/938\n"),
])
def test_noise_check_catches_each_problem(name, text):
    assert noise_problems(_notebook_with((name, text)))


def test_noise_check_catches_a_bare_boolean_result():
    nb = _notebook_with()
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "True"}, execution_count=1)]
    assert any("bare True" in p for p in noise_problems(nb))
    nb.cells[0].outputs[0]["data"]["text/plain"] = "0.75"
    assert noise_problems(nb) == []


def test_noise_check_passes_clean_relative_paths():
    text = ("CIFAR-10: data_dir -> $COURSE_DATA_ROOT/cifar10_small\n"
            "outputs -> ../build/laptop | ~/.cache/cnn-course/mnist/data\n"
            "epoch 1/2: 100%|##########| 938/938 [01:40<00:00]\n")
    nb = _notebook_with(("stdout", text))
    assert noise_problems(nb) == []


def _doc(holds=True, value=0.98765, profile="laptop"):
    return {"profile": profile, "metrics": {"test_acc": value, "epochs": 2},
            "lessons": [{"id": "acc", "claim": "It learns", "holds": holds, "evidence": "test 0.988"}]}


_SHOWN = "What this run showed (laptop profile):\n  ✓ It learns\n      evidence: test 0.988\n"
_METRICS = "Metrics written to 06.metrics.json in .../laptop\n  test_acc                         0.9877\n" \
           "  epochs                           2\n"


def test_lesson_check_accepts_a_consistent_notebook():
    nb = _notebook_with(("stdout", _METRICS), lessons_text=_SHOWN)
    assert lesson_problems(nb, _doc()) == []


@pytest.mark.parametrize("doc, shown, metrics, problem", [
    (None, _SHOWN, _METRICS, "no metrics file"),
    (_doc(holds=False), _SHOWN.replace("✓", "✗"), _METRICS, "does not hold"),
    (_doc(), _SHOWN.replace("0.988", "0.990"), _METRICS, "differ from the metrics file"),
    (_doc(value=0.97), _SHOWN, _METRICS, "test_acc: printed"),
    (_doc(profile="smoke"), _SHOWN, _METRICS, "another profile"),
    (_doc(), _SHOWN, "", "no metrics output"),
])
def test_lesson_check_catches_each_mismatch(doc, shown, metrics, problem):
    nb = _notebook_with(("stdout", metrics), lessons_text=shown)
    assert any(problem in p for p in lesson_problems(nb, doc))


def test_a_notebook_without_lessons_output_counts_as_predating():
    assert predates_lessons(_notebook_with(("stdout", _METRICS)))
    assert not predates_lessons(_notebook_with(("stdout", _METRICS), lessons_text=_SHOWN))


# ---- the stored notebooks and the book -----------------------------------------------------------
def _stem_params():
    from course_utils.tools.runner import toc_notebooks

    return toc_notebooks(ROOT / "_toc.yml")


@pytest.mark.parametrize("stem", _stem_params())
def test_notebook_is_stored_with_outputs_of_a_laptop_run(stem):
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    executed = [c for c in nb.cells if c.cell_type == "code" and c.get("outputs")]
    assert executed, f"{stem} has no stored outputs: run `make outputs NB={stem}`"
    setup_idx = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "setup_notebook(" in c.source)
    text = "".join(o.get("text", "") for o in nb.cells[setup_idx].get("outputs", []))
    assert "profile laptop" in text, f"{stem}: stored outputs should come from the laptop profile"
    assert (METRICS_DIR / f"{stem}.metrics.json").exists(), f"{stem}: book/metrics/{stem}.metrics.json is missing"


@pytest.mark.slow
def test_book_builds_without_warnings(tmp_path):
    jb = Path(sys.executable).parent / "jupyter-book"
    if not jb.exists():
        jb = shutil.which("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(tmp_path), "--warningiserror",
                           "--nitpick", "--keep-going"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    html = tmp_path / "_build" / "html"
    for stem in ("00_setup", "06_mnist_cnn_pytorch", "12_class_activation_maps"):
        assert (html / "notebooks" / f"{stem}.html").exists(), stem
