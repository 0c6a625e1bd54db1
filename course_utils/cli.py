"""Command line: ``python -m course_utils run | doctor | data ...`` (see README)."""
from __future__ import annotations

import argparse
import json
import sys

import yaml


def _doctor(args) -> int:
    from .doctor import doctor_report

    print(doctor_report())
    return 0


def _run(args) -> int:
    from .runner import run_notebooks

    params = {name: yaml.safe_load(value) for name, value in (args.param or [])}
    rows = run_notebooks(args.notebooks or None, profile=args.profile, data_source=args.data_source,
                         output_dir=args.output_dir, params=params, store=args.store,
                         data_root=args.data_root, timeout=args.timeout, log_output=args.log_output)
    failed = [r["notebook"] for r in rows if r["status"] != "ok"]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _data(args) -> int:
    from . import manifest
    from .fetch import cached_dataset, fetch, verify
    from .scan import scan_folder

    if args.action == "list":
        for name, m in manifest.load_all().items():
            cached = "cached" if (m.kind == "dataset" and cached_dataset(name)) else ""
            print(f"{name:28s} {m.kind:8s} {m.access:9s} {cached:7s} {m.title}")
        return 0
    if args.action == "scan":
        rep = scan_folder(args.name)
        print(rep.to_json() if args.json else rep.summary())
        return 0
    if not args.name:
        print(f"'data {args.action}' needs a NAME", file=sys.stderr)
        return 2
    if args.action == "fetch":
        res = fetch(args.name)
        print(f"{args.name}: {res.source} -> {res.path}")
    elif args.action == "verify":
        rows = verify(args.name)
        print(json.dumps(rows, indent=1))
        return 0 if all(r["ok"] for r in rows) else 1
    elif args.action == "path":
        m = manifest.get(args.name)
        from .fetch import _downloads

        path = cached_dataset(args.name) if m.kind == "dataset" else _downloads(args.name) / m.files[0].name
        if not path or not path.exists():
            print(f"{args.name} is not in the cache; run `python -m course_utils data fetch {args.name}`",
                  file=sys.stderr)
            return 1
        print(path)
    return 0


def _badges(args) -> int:
    from .badges import fix_notebooks
    from .runner import NOTEBOOK_DIR

    for path in fix_notebooks(NOTEBOOK_DIR):
        print(f"updated {path.name}")
    return 0


def _results(args) -> int:
    from .results_page import update_readme, write_results_page

    print(write_results_page(args.metrics_dir, args.dest))
    if args.readme:
        update_readme(args.metrics_dir, args.readme)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute notebooks with papermill and collect metrics")
    r.add_argument("notebooks", nargs="*", help="stems or prefixes (default: every notebook in _toc.yml)")
    r.add_argument("--profile", default="auto", choices=["auto", "smoke", "laptop", "full"])
    r.add_argument("--data-source", default="auto", choices=["auto", "real", "synthetic"])
    r.add_argument("--output-dir", default="outputs")
    r.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="papermill parameter (VALUE parsed as YAML: 3, 0.5, true, null, [1, 2])")
    r.add_argument("--data-root", help="folder of datasets (sets $COURSE_DATA_ROOT for the kernels)")
    r.add_argument("--store", action="store_true", help="write executed notebooks back into notebooks/ and their metrics into book/metrics/")
    r.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    r.add_argument("--log-output", action="store_true", help="stream cell output to the terminal")
    r.set_defaults(func=_run)
    d = sub.add_parser("doctor", help="versions, GPUs per framework, cache and mirror status")
    d.set_defaults(func=_doctor)
    rp = sub.add_parser("results", help="write book/results.md and README's table from a folder of metrics files")
    rp.add_argument("--metrics-dir", default="book/metrics",
                    help="folder of <notebook>.metrics.json (default: those behind the stored outputs)")
    rp.add_argument("--dest", default="book/results.md")
    rp.add_argument("--readme", default="README.md", help="README whose results table to refresh ('' to skip)")
    rp.set_defaults(func=_results)
    b = sub.add_parser("badges", help="rewrite Colab badges and install lines from config.REPO_URL")
    b.set_defaults(func=_badges)
    da = sub.add_parser("data", help="list | fetch NAME | verify NAME | path NAME | scan DIR [--json]")
    da.add_argument("action", choices=["list", "fetch", "verify", "path", "scan"])
    da.add_argument("name", nargs="?")
    da.add_argument("--json", action="store_true")
    da.set_defaults(func=_data)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (KeyError, FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
