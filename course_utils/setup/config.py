"""Paths and names configured in one place (taught in 00_setup).

Everything a learner might want to move (the data cache, the mirrors) is read from an
environment variable with a sensible per-user default, so notebooks never hard-code paths.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

#: The repository every "Open in Colab" badge points to. Change it here, and only here, in a fork.
REPO_URL = "https://github.com/cnn-course/cnn-image-classification"
REPO_BRANCH = "main"

#: The repository checkout this package was imported from (None when installed from a wheel).
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # course_utils/
_REPO_ROOT = PACKAGE_DIR.parent
REPO_ROOT: Path | None = _REPO_ROOT if (_REPO_ROOT / "pyproject.toml").exists() else None


def manifest_dir() -> Path:
    """Folder of dataset manifests: the repo's ``data_manifest/`` or the copy inside the wheel."""
    if REPO_ROOT is not None and (REPO_ROOT / "data_manifest").is_dir():
        return REPO_ROOT / "data_manifest"
    return PACKAGE_DIR / "data_manifest"


def course_home() -> Path | None:
    """``$COURSE_HOME``: one folder holding both the data cache (``data/``) and the notebooks'
    outputs (``outputs/``), e.g. on Google Drive so they survive a Colab runtime reset
    (:func:`use_drive`). None when unset."""
    env = os.environ.get("COURSE_HOME")
    return Path(env).expanduser().resolve() if env else None


def data_home() -> Path:
    """The data cache: ``$COURSE_DATA_HOME``, else ``$COURSE_HOME/data``, else
    ``~/.cache/cnn-course`` (XDG-style)."""
    env = os.environ.get("COURSE_DATA_HOME")
    if env:
        return Path(env).expanduser().resolve()
    if course_home() is not None:
        return course_home() / "data"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "cnn-course").resolve()


def _site_packages() -> list[str]:
    import site
    import sysconfig

    return sorted({sysconfig.get_paths()["purelib"], *site.getsitepackages()}, key=len, reverse=True)


def display_path(path) -> str:
    """A path as printed in a notebook: short and free of this machine's layout.

    Inside a mirror folder it is written ``$COURSE_DATA_MIRROR/...``; inside a data root
    ``$COURSE_DATA_ROOT/...``; inside an installed package ``<site-packages>/...``; inside the
    working folder or the repository, relative (to the repository root when outside the working
    folder); inside the home folder ``~/...``; inside a cache outside it ``$COURSE_DATA_HOME/...``; anywhere else
    ``.../<name>``. Stored notebooks therefore never show where the
    machine that ran them kept its files.
    """
    if "://" in str(path):
        return str(path)
    p = Path(path).expanduser().resolve()
    # a mirror first: it may lie inside a data root, and "mirror" says more about where a file came from
    anchors = [(Path(m), "$COURSE_DATA_MIRROR") for m in mirrors() if "://" not in m]
    anchors += [(root, "$COURSE_DATA_ROOT") for root in data_roots()]
    # a file shipped in an installed package: where the environment lives is nobody's business
    anchors += [(Path(site).resolve(), "<site-packages>") for site in _site_packages()]
    anchors += [(Path.cwd().resolve(), "."), (REPO_ROOT, "."), (Path.home().resolve(), "~"),
                (data_home(), "$COURSE_DATA_HOME")]
    for base, label in anchors:
        if base is None:
            continue
        try:
            rel = p.relative_to(base)
        except ValueError:
            continue
        if str(rel) == ".":
            if label == "~":
                return label
            continue  # the cache or a data root itself: its own name says more than the variable
        return str(rel) if label == "." else f"{label}/{rel}"
    return f".../{p.name}"


def _split_paths(value: str | None) -> list[str]:
    """Split a list of folders or URLs on ``os.pathsep`` (``:`` on Linux and macOS, ``;`` on
    Windows), like ``PATH``. Spaces belong to the folder name. On POSIX the ``:`` inside a URL
    (``https://host:8080/x``) is put back together."""
    if not value:
        return []
    pieces = value.split(os.pathsep)
    parts: list[str] = []
    i = 0
    while i < len(pieces):
        p = pieces[i]
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", p) and i + 1 < len(pieces) and pieces[i + 1].startswith("//"):
            p = p + ":" + pieces[i + 1]
            i += 1
            if i + 1 < len(pieces) and re.match(r"\d+(/|$)", pieces[i + 1]):  # a port number
                p = p + ":" + pieces[i + 1]
                i += 1
        i += 1
        if p.strip():
            parts.append(p.strip())
    return parts


def mirrors() -> list[str]:
    """Mirrors tried in order before the origin: ``$COURSE_DATA_MIRROR``, folders or base URLs
    separated by ``os.pathsep`` (``:`` on Linux and macOS, ``;`` on Windows)."""
    out = []
    for m in _split_paths(os.environ.get("COURSE_DATA_MIRROR")):
        out.append(m if "://" in m else str(Path(m).expanduser().resolve()))
    return out


def data_roots() -> list[Path]:
    """Folders of already-downloaded datasets, one sub-folder per dataset (``$COURSE_DATA_ROOT``).

    A dataset is found there under any of its manifest's ``local_names``. This is how an
    instructor points every notebook at a shared drive without passing ``data_dir`` to each.
    """
    return [Path(p).expanduser().resolve() for p in _split_paths(os.environ.get("COURSE_DATA_ROOT"))]


def absolutize_env() -> None:
    """Rewrite relative folders in the ``COURSE_*`` path variables as absolute ones.

    The runner calls this before starting kernels: a kernel runs in ``notebooks/``, so a
    relative ``COURSE_DATA_MIRROR=../shared/data/mirror`` given in the repository root would
    otherwise point somewhere else inside the notebook.
    """
    if os.environ.get("COURSE_DATA_MIRROR"):
        os.environ["COURSE_DATA_MIRROR"] = os.pathsep.join(mirrors())
    if os.environ.get("COURSE_DATA_ROOT"):
        os.environ["COURSE_DATA_ROOT"] = os.pathsep.join(str(p) for p in data_roots())
    for var in ("COURSE_DATA_HOME", "COURSE_OUTPUT_DIR", "COURSE_HOME"):
        if os.environ.get(var):
            os.environ[var] = str(Path(os.environ[var]).expanduser().resolve())


def default_output_dir() -> str | None:
    """Where a notebook left at ``output_dir="outputs"`` writes: ``$COURSE_OUTPUT_DIR``, else
    ``$COURSE_HOME/outputs``, else None (the notebook's own ``outputs/``). Every notebook resolves
    it the same way, so 12 finds the models 09 and 11 saved."""
    if os.environ.get("COURSE_OUTPUT_DIR"):
        return os.environ["COURSE_OUTPUT_DIR"]
    home = course_home()
    return str(home / "outputs") if home is not None else None


DRIVE_DEFAULT = "/content/drive/MyDrive/cnn-course"


def use_drive(folder: str = DRIVE_DEFAULT, mount: bool = True) -> Path:
    """Keep the data cache and the outputs in ``folder`` (default: ``MyDrive/cnn-course`` on
    Google Drive), so neither vanishes when a Colab runtime resets. Taught in 00_setup.

    Call it before ``setup_notebook`` in each notebook (or set ``COURSE_HOME`` yourself): it
    mounts Drive on Colab when ``folder`` is under ``/content/drive`` and not yet mounted, creates
    ``folder`` and sets ``$COURSE_HOME``; the cache becomes ``folder/data`` and every notebook whose
    ``output_dir`` is left at ``"outputs"`` writes to ``folder/outputs`` -- where 12 looks for the
    models 09 and 11 saved. An explicit ``COURSE_DATA_HOME`` or ``COURSE_OUTPUT_DIR`` still wins.
    Nothing is copied or moved.
    """
    path = Path(folder).expanduser()
    drive_root = Path("/content/drive")
    if mount and str(path).startswith(str(drive_root)) and not (drive_root / "MyDrive").is_dir():
        try:
            from google.colab import drive  # only on Colab
        except ImportError as err:
            raise RuntimeError(f"{folder} is on Google Drive, which can be mounted only on Colab; "
                               "pass a local folder to use_drive(...) instead.") from err
        drive.mount(str(drive_root))
    path.mkdir(parents=True, exist_ok=True)
    os.environ["COURSE_HOME"] = str(path.resolve())
    print(f"COURSE_HOME={os.environ['COURSE_HOME']}: data cache -> {data_home()}, "
          f"outputs -> {default_output_dir()}")
    return path.resolve()


def colab_url(notebook_stem: str) -> str:
    """The Colab link for a notebook, built from :data:`REPO_URL`."""
    path = REPO_URL.replace("https://github.com/", "")
    return f"https://colab.research.google.com/github/{path}/blob/{REPO_BRANCH}/notebooks/{notebook_stem}.ipynb"


def colab_badge(notebook_stem: str) -> str:
    """Markdown for the "Open in Colab" badge of a notebook."""
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook_stem)})")
