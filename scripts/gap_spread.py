"""How far apart do two runs of one recipe land? 09's batch-normalized GAP model, once per seed
(quoted in 09_cats_vs_dogs_augmentation, section 4).

Each run builds 09's split and trains the GAP model with the helper section 4 of 09 calls
(``course_utils.keras_.recipes.train_cats_dogs_gap``, at the profile's settings); only the seed
differs, and with it every random draw: initial weights, augmentation, shuffling. It prints one
line per seed (the best epoch, its validation accuracy and the test accuracy of its weights) and
writes all runs to ``--output`` as JSON.

    python scripts/gap_spread.py --profile laptop --seeds 42 43 44 --output gap_spread.json

The data comes from ``--data-dir`` or, like the notebooks, from ``$COURSE_DATA_ROOT``. Each
laptop run takes about five minutes on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NOTEBOOK = "09_cats_vs_dogs_augmentation"


def one_run(split, cfg: dict, seed: int) -> dict:
    from course_utils.keras_.recipes import train_cats_dogs_gap
    from course_utils.setup.env import seed_everything

    seed_everything(seed, deterministic=bool(cfg.get("deterministic", True)))
    t = time.perf_counter()
    model, res, test_ds = train_cats_dogs_gap(split, cfg["gap_image_size"], cfg["batch_size"], cfg["gap_epochs"],
                                              cfg["gap_learning_rate"], widths=cfg["gap_widths"],
                                              stem_stride=cfg["gap_stem_stride"], seed=seed, verbose=0)
    return {"seed": seed, "best_epoch": res.best_epoch,
            "val_acc": res.history["val_accuracy"][res.best_epoch - 1],
            "test_acc": float(model.evaluate(test_ds, verbose=0, return_dict=True)["accuracy"]),
            "train_s": round(time.perf_counter() - t, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="laptop", choices=["smoke", "laptop", "full"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    ap.add_argument("--data-dir", default=None, help="Kaggle-style cats-vs-dogs folder (default: the data layer's)")
    ap.add_argument("--output", default="gap_spread.json")
    args = ap.parse_args(argv)

    from course_utils.setup.env import load_frameworks_in_safe_order

    load_frameworks_in_safe_order()
    from course_utils.data.splits import load_split
    from course_utils.setup.profiles import settings_for

    cfg = settings_for(NOTEBOOK, args.profile, {})
    split, info = load_split(cfg["n_train"], cfg["n_val"], cfg["n_test"], args.data_dir, "real", args.seeds[0])
    print(f"{NOTEBOOK}, profile {args.profile}: {split.totals()} images from {info.title}; GAP model at "
          f"{cfg['gap_image_size']} px, {cfg['gap_epochs']} epochs", flush=True)
    runs = []
    for seed in args.seeds:
        runs.append(one_run(split, cfg, seed))
        r = runs[-1]
        print(f"seed {seed}: best epoch {r['best_epoch']}, validation {r['val_acc']:.3f}, test {r['test_acc']:.3f} "
              f"({r['train_s']:.0f} s)", flush=True)
    tests = [r["test_acc"] for r in runs]
    print(f"test accuracy over {len(runs)} seeds: {min(tests):.3f} to {max(tests):.3f}, "
          f"mean {sum(tests) / len(tests):.3f}")
    Path(args.output).write_text(json.dumps({"notebook": NOTEBOOK, "profile": args.profile, "settings": cfg,
                                             "counts": split.totals(), "runs": runs}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
