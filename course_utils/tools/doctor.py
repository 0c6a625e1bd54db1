"""``python -m course_utils doctor`` and the first half of 00_setup: what this machine has."""
from __future__ import annotations

from pathlib import Path

from course_utils.data import manifest
from course_utils.setup.config import data_home, data_roots, display_path, mirrors
from course_utils.setup.env import describe_machine, library_versions


def mirror_status() -> list[dict]:
    """For each manifest: is it cached, in a mirror folder, or only at its origin?"""
    from course_utils.data.fetch import _downloads, cached_dataset

    rows = []
    for name, m in manifest.load_all().items():
        in_cache = bool(cached_dataset(name)) if m.kind == "dataset" else all(
            (_downloads(name) / f.name).exists() for f in m.files)
        in_mirror = [mi for mi in mirrors() if "://" not in mi and all(
            (Path(mi) / f.mirror_path).exists() or (Path(mi) / f.name).exists() for f in m.files)]
        in_root = [display_path(r / ln) for r in data_roots() for ln in m.local_names if (r / ln).is_dir()]
        rows.append({"name": name, "kind": m.kind, "access": m.access, "cached": in_cache,
                     "mirror": display_path(in_mirror[0]) if in_mirror else "",
                     "data_root": in_root[0] if in_root else ""})
    return rows


def doctor_report() -> str:
    mach = describe_machine()
    lines = ["== versions =="]
    lines += [f"  {k:12s} {v or 'not installed'}" for k, v in library_versions().items()]
    lines.append("== accelerators ==")
    for fw in ("torch", "tensorflow"):
        d = mach[fw]
        if not d["installed"]:
            lines.append(f"  {fw:12s} not installed")
            continue
        names = ", ".join(d["names"]) or "none"
        lines.append(f"  {fw:12s} backend={d['backend']} count={d['count']} gpus=[{names}] {d['note']}")
    lines.append(f"  PyTorch notebooks will use: {mach['torch_device']} | CPU cores: {mach['cpu_count']}"
                 f" | Colab: {mach['colab']}")
    lines.append("== data ==")
    lines.append(f"  cache ($COURSE_DATA_HOME): {display_path(data_home())}")
    lines.append(f"  mirrors ($COURSE_DATA_MIRROR): {', '.join(map(display_path, mirrors())) or 'none'}")
    lines.append(f"  data roots ($COURSE_DATA_ROOT): {', '.join(map(display_path, data_roots())) or 'none'}")
    for r in mirror_status():
        where = ("cache" if r["cached"] else "") or (f"mirror {r['mirror']}" if r["mirror"] else "") or \
                (f"data root {r['data_root']}" if r["data_root"] else "") or f"origin ({r['access']})"
        lines.append(f"  {r['name']:28s} {r['kind']:8s} {where}")
    return "\n".join(lines)
