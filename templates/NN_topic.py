# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # NN · Title of the notebook
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/NN_topic.ipynb)
#
# **You will be able to**
# - first learning outcome, phrased as something the learner can do;
# - second learning outcome.
#
# **Data.** Which dataset, through the data layer (`run.get_data`). **Runs in** about N s (`smoke`),
# N min (`laptop`, 2 CPU cores). The outputs stored in this notebook come from a `laptop` run on
# ... (say which data and machine).

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto" (see 00_setup)
data_source = "auto"      # "auto" | "real" | "synthetic"
data_dir = None           # a folder you already have, in the dataset's usual layout
output_dir = "outputs"    # metrics, models and figures go here
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
# This notebook's own knobs: None takes the value from the profile table.
epochs = None

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("NN_topic", profile=profile, data_source=data_source, data_dir=data_dir,
                                  output_dir=output_dir, seed=seed, tiny=tiny, epochs=epochs)
cfg = run.cfg

# %% [markdown]
# ## 1. A short section title
#
# Prose first: what we are about to do and why. Short cells, one idea each.

# %%
# data = run.get_data("dataset_name", data_dir=data_dir)
# Each lesson is a check this run computes, recorded where its numbers are known:
# run.lesson("beats_baseline", "The network beats the majority baseline", test_acc > baseline,
#            f"test {test_acc:.3f} vs baseline {baseline:.3f}")

# %% [markdown]
# ## Summary
#
# What the learner saw; numbers come from this run's printed output ("see above"), or as
# thresholds ("at least 98%"), never typed in from an earlier run.
#
# ## What this run showed

# %%
run.show_lessons()

# %%
run.save_metrics({
    # "metric_name": value,  -- the keys listed in course_utils.setup.contract.METRIC_KEYS
})
