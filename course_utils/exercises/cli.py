"""``python -m course_utils exercises list | check ID FILE | solution ID | grade NOTEBOOK.ipynb``.

Listing imports only the registry (no PyTorch, no TensorFlow); checkers import what they need.
"""
from __future__ import annotations

import json
import sys


def add_subparser(sub) -> None:
    """Add the ``exercises`` command to the course's argparse sub-parsers."""
    e = sub.add_parser("exercises", help="list | check ID FILE | solution ID | grade NOTEBOOK.ipynb")
    esub = e.add_subparsers(dest="action", required=True)
    lst = esub.add_parser("list", help="the registered exercises")
    lst.add_argument("--json", action="store_true")
    chk = esub.add_parser("check", help="exit 0 right, 1 wrong, 2 not attempted or unusable file")
    chk.add_argument("id")
    chk.add_argument("file", help="a .py file defining the function")
    sol = esub.add_parser("solution", help="where the reference lives, and its source")
    sol.add_argument("id")
    gr = esub.add_parser("grade", help="check every exercise of a submitted notebook")
    gr.add_argument("notebook", help="a .ipynb file (its name starts with the notebook number)")
    gr.add_argument("--notebook-number", default=None, help="NN, when the file name does not start with it")
    gr.add_argument("--json", action="store_true")
    e.set_defaults(func=run)


def run(args) -> int:
    from .registry import EXERCISES, get

    if args.action == "list":
        if args.json:
            print(json.dumps([ex.to_dict() for ex in EXERCISES], indent=1))
        else:
            for ex in EXERCISES:
                print(f"{ex.id:24s} {ex.signature:70s} {ex.summary}")
        return 0
    if args.action == "solution":
        from .api import solution_source

        print(solution_source(args.id))
        return 0
    if args.action == "check":
        from .api import check_file

        get(args.id)                      # an unknown id: KeyError, exit 2 with the message
        result = check_file(args.id, args.file)
        stream = sys.stdout if result.exit_code == 0 else sys.stderr
        print(f"{result.exercise}: {result.status}: {result.message}", file=stream)
        return result.exit_code
    if args.action == "grade":
        from .api import grade

        results = grade(args.notebook, args.notebook_number)
        if args.json:
            print(json.dumps([r.to_dict() for r in results], indent=1))
        else:
            width = max([len(r.exercise) for r in results] + [8])
            print(f"{'exercise':{width}s}  {'result':13s}  message")
            for r in results:
                lines = r.message.splitlines() or [""]
                print(f"{r.exercise:{width}s}  {r.status:13s}  {lines[0]}")
                for line in lines[1:]:
                    print(f"{'':{width}s}  {'':13s}  {line}")
            right = sum(r.status == "right" for r in results)
            print(f"{right} of {len(results)} right")
        return 0
    return 2
