"""Keep every notebook's "Open in Colab" badge and Colab install line pointing at
:data:`course_utils.setup.config.REPO_URL` (``python -m course_utils badges``).

The URL is configured once, in ``config.py``; Markdown cannot call Python, so this rewrites the
two lines in each notebook's ``.py`` and ``.ipynb`` from it, and the tests check they match.
"""
from __future__ import annotations

import re
from pathlib import Path

from course_utils.setup.config import REPO_URL, colab_badge

BADGE_RX = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
INSTALL_RX = re.compile(r'%pip install -q "course-utils\[torch,tf\] @ git\+[^"]*"')


def install_line() -> str:
    return f'%pip install -q "course-utils[torch,tf] @ git+{REPO_URL}"'


def fix_text(text: str, stem: str) -> str:
    text = BADGE_RX.sub(lambda _: colab_badge(stem), text)
    return INSTALL_RX.sub(lambda _: install_line(), text)


def fix_notebooks(folder: Path) -> list[Path]:
    """Rewrite badge and install lines in every notebook of ``folder``; returns changed files."""
    changed = []
    for path in sorted(folder.glob("[0-9][0-9]_*.py")) + sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        text = path.read_text()
        new = fix_text(text, path.stem)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed
