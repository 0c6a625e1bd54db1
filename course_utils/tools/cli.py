"""Command line: ``python -m course_utils run | doctor | data | exercises ...`` (see README)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml


def _doctor(args) -> int:
    from course_utils.tools.doctor import doctor_report

    print(doctor_report())
    return 0


def _run(args) -> int:
    from course_utils.tools.runner import run_notebooks

    params = {name: yaml.safe_load(value) for name, value in (args.param or [])}
    rows = run_notebooks(args.notebooks or None, profile=args.profile, data_source=args.data_source,
                         output_dir=args.output_dir, params=params, store=args.store,
                         data_root=args.data_root, timeout=args.timeout, log_output=args.log_output,
                         tiny=args.tiny)
    failed = [r["notebook"] for r in rows if r["status"] != "ok"]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _data(args) -> int:
    from course_utils.data import manifest
    from course_utils.data.fetch import cached_dataset, fetch, learner_dataset, verify
    from course_utils.data.scan import scan_any

    if args.action == "list":
        for name, m in manifest.load_all().items():
            cached = "cached" if (m.kind == "dataset" and cached_dataset(name)) else ""
            print(f"{name:28s} {m.kind:8s} {m.access:9s} {cached:7s} {m.title}")
        return 0
    if args.action == "scan":
        if not args.name:
            print("'data scan' needs a folder", file=sys.stderr)
            return 2
        reports = scan_any(args.name)
        if args.json:
            print(json.dumps({split or "all": r.to_dict() for split, r in reports.items()}, indent=1)
                  if len(reports) > 1 else next(iter(reports.values())).to_json())
        else:
            if len(reports) > 1:
                print(f"{args.name}: split layout ({', '.join(s + '/' for s in reports)}), each split scanned:")
            for r in reports.values():
                print(r.summary())
        return 0
    if not args.name:
        print(f"'data {args.action}' needs a NAME", file=sys.stderr)
        return 2
    if args.action == "fetch":
        from course_utils.data.datasets import unavailable_message
        from course_utils.data.fetch import DataUnavailable

        try:
            res = fetch(args.name)
        except DataUnavailable as err:
            print(f"error: {args.name} could not be fetched.\n{unavailable_message(args.name, str(err))}",
                  file=sys.stderr)
            return 1
        print(f"{args.name}: {res.source} -> {res.path}")
    elif args.action == "verify":
        rows = verify(args.name)
        print(json.dumps(rows, indent=1))
        return 0 if all(r["ok"] for r in rows) else 1
    elif args.action == "path":
        m = manifest.get(args.name)
        from course_utils.data.fetch import _downloads

        path = ((cached_dataset(args.name) or learner_dataset(args.name)) if m.kind == "dataset"
                else _downloads(args.name) / m.files[0].name)
        if not path or not path.exists():
            print(f"{args.name} is not in the cache; run `python -m course_utils data fetch {args.name}`",
                  file=sys.stderr)
            return 1
        print(path)
    return 0


def _badges(args) -> int:
    from course_utils.tools.badges import fix_notebooks
    from course_utils.tools.runner import NOTEBOOK_DIR

    for path in fix_notebooks(NOTEBOOK_DIR):
        print(f"updated {path.name}")
    return 0


def _results(args) -> int:
    from course_utils.errors import CourseError
    from course_utils.setup.config import REPO_ROOT
    from course_utils.tools.results_page import update_readme, write_results_page

    dest, readme = args.dest, args.readme
    if dest is None or readme is None:
        # Defaults only inside the course's own repository: never a learner's ./book/ or README.
        inside = REPO_ROOT is not None and (Path.cwd().resolve() == REPO_ROOT
                                            or REPO_ROOT in Path.cwd().resolve().parents)
        if dest is None:
            if not inside:
                raise CourseError(f"`results` writes the results page only where told: {Path.cwd()} is not "
                                  f"the course repository.", setting="--dest",
                                  fix="pass --dest PATH (for example --dest my-results.md).")
            dest = REPO_ROOT / "book" / "results.md"
        if readme is None:
            readme = REPO_ROOT / "README.md" if inside else ""
    print(write_results_page(args.metrics_dir, dest))
    if readme:
        update_readme(args.metrics_dir, readme)
    return 0


def _book(args) -> int:
    from course_utils.tools.book import book_tree_from_run

    dest, from_run, stored = book_tree_from_run(args.from_run, args.dest)
    print(f"book sources for the run in {args.from_run}: {len(from_run)} notebook(s) from the run, "
          f"{len(stored)} with stored outputs", file=sys.stderr)
    print(dest)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__)
    p.add_argument("--debug", action="store_true", help="show the full traceback of any failure")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute notebooks with papermill and collect metrics")
    r.add_argument("notebooks", nargs="*", help="stems or prefixes (default: every notebook in _toc.yml)")
    r.add_argument("--profile", default="auto", choices=["auto", "smoke", "laptop", "full"])
    r.add_argument("--tiny", action="store_true",
                   help="the profile's code paths and model choices with data, epochs and image sizes cut to "
                        "seconds; stand-ins (random weights, synthetic data) are flagged in the metrics")
    r.add_argument("--data-source", default="auto", choices=["auto", "real", "synthetic"])
    r.add_argument("--output-dir", default="outputs")
    r.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="papermill parameter (VALUE parsed as YAML: 3, 0.5, true, null, [1, 2])")
    r.add_argument("--data-root", help="folder of datasets (sets $COURSE_DATA_ROOT for the kernels)")
    r.add_argument("--store", action="store_true",
                   help="write executed notebooks back into notebooks/ and their metrics into book/metrics/")
    r.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    r.add_argument("--log-output", action="store_true", help="stream cell output to the terminal")
    r.set_defaults(func=_run)
    d = sub.add_parser("doctor", help="versions, GPUs per framework, cache and mirror status")
    d.set_defaults(func=_doctor)
    rp = sub.add_parser("results", help="write book/results.md and README's table from a folder of metrics files")
    rp.add_argument("--metrics-dir", default="book/metrics",
                    help="folder of <notebook>.metrics.json (default: those behind the stored outputs)")
    rp.add_argument("--dest", default=None,
                    help="file to write (default: book/results.md, only when run inside the course repository)")
    rp.add_argument("--readme", default=None,
                    help="README whose results table to refresh (default: the course repository's; '' to skip)")
    rp.set_defaults(func=_results)
    b = sub.add_parser("badges", help="rewrite Colab badges and install lines from config.REPO_URL")
    b.set_defaults(func=_badges)
    bk = sub.add_parser("book", help="write the book's sources with a run's executed notebooks into a new folder "
                                     "(then: jupyter-book build FOLDER); prints the folder")
    bk.add_argument("--from-run", required=True, metavar="OUT", help="the --output-dir of a `run`")
    bk.add_argument("--dest", help="a new or empty folder (default: a new temporary folder)")
    bk.set_defaults(func=_book)
    da = sub.add_parser("data", help="list | fetch NAME | verify NAME | path NAME | scan DIR [--json]")
    da.add_argument("action", choices=["list", "fetch", "verify", "path", "scan"])
    da.add_argument("name", nargs="?")
    da.add_argument("--json", action="store_true")
    da.set_defaults(func=_data)
    from course_utils.exercises.cli import add_subparser as add_exercises  # light: no framework import

    add_exercises(sub)
    return p


def main(argv=None) -> int:
    from course_utils.errors import CourseError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line
    args = build_parser().parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    try:
        return args.func(args)
    except (CourseError, KeyError, FileNotFoundError, FileExistsError, ValueError, RuntimeError, OSError) as err:
        if args.debug:
            raise
        # Expected failures: one paragraph that names the setting and what to do, no traceback.
        text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"error: {text}\n(run with --debug for the full traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
