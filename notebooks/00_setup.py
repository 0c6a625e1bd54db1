# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Setting up: your machine, the profiles and the data
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/00_setup.ipynb)
#
# **You will be able to**
# - check which versions of PyTorch and TensorFlow/Keras you have, and which GPUs each of them sees;
# - choose a *profile* (`smoke`, `laptop`, `full`) and override any of its settings;
# - see where datasets are cached, how mirrors work, and pre-fetch everything before a class.
#
# Every notebook in the course starts the way this one does: a cell tagged `parameters`
# (so papermill and instructors can set them from outside), then **one** call,
# `course_utils.setup_notebook(...)`, and it ends by writing `outputs/<notebook>.metrics.json`.

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto"
data_source = "auto"      # "auto" | "real" | "synthetic"
data_dir = None           # not used here: every other notebook takes a folder you already have
output_dir = "outputs"
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
# This notebook's own knob: True downloads (or copies from a mirror) every dataset now.
prefetch = None

# %% [markdown]
# ## 1. The setup call
#
# `setup_notebook` detects GPUs for **both** frameworks (CUDA, Apple's MPS, or the CPU), turns on
# TensorFlow's memory growth (so TensorFlow does not reserve the whole GPU and starve PyTorch),
# seeds Python, NumPy, PyTorch, TensorFlow and Keras, sets plot defaults, resolves the profile
# and prints what it decided.
#
# Import `course_utils` **before** TensorFlow. PyTorch's GPU wheels ship Triton, which bundles
# its own copy of LLVM; if TensorFlow (which also exports LLVM symbols) is loaded first, loading
# Triton afterwards crashes the kernel. `import course_utils` loads PyTorch first, which is safe.

# %%
import course_utils

run = course_utils.setup_notebook("00_setup", profile=profile, data_source=data_source, data_dir=data_dir,
                                  output_dir=output_dir, seed=seed, tiny=tiny, prefetch=prefetch)
cfg = run.cfg

# %% [markdown]
# ## 2. Versions and accelerators
#
# The same report as `python -m course_utils doctor` in a terminal. On Colab with a GPU runtime
# you should see one CUDA device for both frameworks; on a laptop, `cpu` (or `mps` on Apple silicon
# for PyTorch; TensorFlow needs the separate `tensorflow-metal` plug-in there).

# %%
from course_utils.tools.doctor import doctor_report

print(doctor_report())

# %% [markdown]
# ## 3. Profiles
#
# One table in `course_utils/setup/profiles.py` holds every setting of every notebook. `profile="auto"`
# means: the environment variable `COURSE_PROFILE` if it is set, else `full` when a GPU is found,
# else `laptop`.
#
# | profile | meant for | promise |
# |---|---|---|
# | `smoke` | continuous integration | tiny data, 1–2 epochs, small images: each notebook under a minute on 2 CPU cores |
# | `laptop` | learning on your own machine | real data, each notebook within 15 minutes on 2 CPU cores and 8 GB of memory |
# | `full` | a GPU (Colab, a lab machine) | the original tutorials' settings: image sizes, epochs, splits |
#
# Any setting can be overridden: give the knob a value in the `parameters` cell, or from a terminal
# `python -m course_utils run 06 --profile laptop -p epochs 2`.
#
# `tiny = True` keeps a profile's code paths and model choices (backbones, datasets) but cuts the
# work to seconds: one epoch, and data counts, image sizes and batch sizes no larger than `smoke`'s.
# It exists to test the `full` profile on a machine without a GPU
# (`python -m course_utils run 10 --profile full --tiny`). Where real weights or data cannot be had
# it uses *stand-ins* (random weights, a synthetic dataset), announced in a loud banner and listed
# under `stand_ins` in the metrics file. Its numbers mean nothing; it only shows the code runs.

# %%
from course_utils.setup import profiles

table = profiles.table_frame()
table.loc[["01_knn_cifar10", "06_mnist_cnn_pytorch", "09_cats_vs_dogs_augmentation"]]

# %% [markdown]
# ## 4. Where the data lives
#
# Every dataset and weights file the course uses is described by a manifest in `data_manifest/`:
# homepage, licence, citation, files with their size and checksum, the layout after extraction
# and known traps (bad files, several images per patient). A notebook asks for a dataset by name
# and the data layer looks, in order:
#
# 1. `data_dir=` — a folder you already have, in the dataset's usual layout (always wins);
# 2. `$COURSE_DATA_ROOT/<name>` — a folder of datasets an instructor shares;
# 3. the cache `$COURSE_DATA_HOME` (default `$COURSE_HOME/data` if `COURSE_HOME` is set, else
#    `~/.cache/cnn-course`), where verified copies live;
# 4. the mirrors in `$COURSE_DATA_MIRROR`, in order — folders or URLs holding the files under their
#    manifest names, separated like `PATH` (`:` on Linux and macOS, `;` on Windows), so a folder
#    name may contain spaces (a class can share one USB stick or web server instead of 30 downloads);
# 5. the origin on the internet, with a progress bar and a checksum check.
#
# A file whose checksum does not match, or an archive that is damaged, is never kept: the next source
# is tried, and the error lists every source with its reason if none works. Archives are unpacked
# into a temporary folder and renamed into place, so an interrupted download never leaves half a
# dataset. Datasets that need a Kaggle account print how to get them; a folder of yours is used as
# it is and never moved, changed or deleted. If nothing works, `data_source="auto"` falls back to a
# **synthetic stand-in** in the same layout, with a loud banner, and the metrics file says
# `synthetic`; `data_source="real"` stops with an error instead. The banner says why no real copy
# could be had (for example "name resolution failed": no network), how to get a Kaggle dataset,
# and the two ways out: `COURSE_DATA_MIRROR` or `data_dir=`.
#
# **On Colab, keep the cache and the outputs on Google Drive.** A runtime that resets forgets
# its disk: the downloaded data, and the models in `outputs/` that notebook 12 loads from 09 and
# 11. One line after the install cell of each notebook keeps both in `MyDrive/cnn-course`:
#
# ```python
# import course_utils; course_utils.use_drive()
# ```
#
# It mounts Drive (Colab asks once per runtime) and sets `COURSE_HOME`: the cache becomes
# `COURSE_HOME/data`, and every notebook whose `output_dir` is left at `"outputs"` writes to
# `COURSE_HOME/outputs`, so 12 finds the models 09 and 11 saved there. On your own machine,
# `export COURSE_HOME=/some/folder` does the same.

# %%
import pandas as pd

from course_utils.data import manifest
from course_utils.tools.doctor import mirror_status

status = pd.DataFrame(mirror_status()).set_index("name")
status["title"] = [manifest.get(n).title for n in status.index]
display(status)

# %% [markdown]
# ## 5. Pre-fetching (optional)
#
# Before a class, set `prefetch = True` in the parameters cell (or run
# `python -m course_utils data fetch NAME` in a terminal) to fetch every dataset that can be
# downloaded without an account. Kaggle datasets print their instructions instead.

# %%
from course_utils.data.fetch import fetch

fetched = {}
if cfg.prefetch:
    for name in manifest.load_all():
        try:
            fetched[name] = fetch(name).source
        except Exception as err:
            fetched[name] = f"not fetched: {str(err).splitlines()[0]}"
        print(f"{name:28s} {fetched[name]}")
else:
    print("prefetch is off (set prefetch = True in the parameters cell to fetch everything now)")

# %% [markdown]
# ## 6. Scanning a folder of images
#
# Every image loader in the course, Keras and PyTorch alike, goes through one scanner first. It
# lists classes and counts and reports bad files with a reason — empty, truncated, not an image,
# hidden files, `__MACOSX` debris — and skips them. It never deletes or changes your files (older
# tutorials `os.remove` "corrupted" images from the learner's own folder: don't). Grayscale, CMYK
# and RGBA images are not bad: they are converted to RGB when loaded.
#
# Here it scans the synthetic stand-in of the 5-class flowers dataset, with one empty file added
# in a scratch copy.

# %%
import shutil
import tempfile
from pathlib import Path

from course_utils.data.datasets import synthetic_dataset
from course_utils.data.scan import scan_folder

scratch = Path(tempfile.mkdtemp()) / "flowers"
shutil.copytree(synthetic_dataset("flowers5", seed=seed, size=5), scratch)
(scratch / "daisy" / "empty.jpg").write_bytes(b"")
(scratch / "rose" / "notes.txt").write_text("not an image")
report = scan_folder(scratch)
print(report.summary())
bad_names = sorted(Path(b.path).name for b in report.bad)
run.lesson("scanner_skips_bad_files", "The scanner reports the empty file and the non-image as bad, and leaves them "
           "in place", bad_names == ["empty.jpg", "notes.txt"] and (scratch / "daisy" / "empty.jpg").exists()
           and (scratch / "rose" / "notes.txt").exists(),
           f"bad files reported: {', '.join(bad_names) or 'none'}; both still on disk: "
           f"{(scratch / 'daisy' / 'empty.jpg').exists() and (scratch / 'rose' / 'notes.txt').exists()}")

# %% [markdown]
# ## What this run showed
#
# Each notebook ends by listing its lessons, checked on its own run (✓ held, ✗ did not hold here);
# the same list is written to the metrics file under `lessons`.

# %%
run.show_lessons()

# %%
run.save_metrics({
    "n_torch_gpus": run.machine["torch"]["count"],
    "n_tf_gpus": run.machine["tensorflow"]["count"],
    "datasets_in_manifest": len(manifest.load_all()),
    "scan_bad_files_found": len(report.bad),
    "prefetched": fetched,
})
