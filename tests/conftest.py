"""Fixtures shared by both layers of tests (tests/unit, tests/notebooks)."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT.parent / "shared" / "data").resolve()


@pytest.fixture
def shared_data():
    if not SHARED.is_dir():
        pytest.skip(f"the real data folder {SHARED} is absent on this machine")
    return SHARED


def _laced_folder(root: Path) -> dict:
    """Two classes of small JPEGs, plus every kind of bad file the scanner must skip, plus a
    grayscale and a CMYK image that must be converted, not rejected."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, cls in enumerate(("Alpha", "Beta")):
        (root / cls).mkdir(parents=True)
        for i in range(12):
            arr = (rng.random((40, 40, 3)) * 80).astype(np.uint8)
            arr[..., k] += 150  # Alpha reddish, Beta greenish
            Image.fromarray(arr).save(root / cls / f"img_{i:02d}.jpg", quality=90)
    Image.fromarray((rng.random((40, 40)) * 255).astype(np.uint8), mode="L").save(root / "Alpha" / "gray.jpg")
    Image.new("CMYK", (40, 40), (10, 200, 30, 0)).save(root / "Beta" / "cmyk.jpg")
    # the bad ones
    (root / "Alpha" / "empty.jpg").write_bytes(b"")
    buf = io.BytesIO()
    Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(buf, format="JPEG")
    (root / "Beta" / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (root / "Beta" / "notes.jpg").write_text("this is a text file, not a JPEG\n")
    (root / "Alpha" / ".hidden.jpg").write_bytes((root / "Alpha" / "img_00.jpg").read_bytes())
    (root / "__MACOSX" / "Alpha").mkdir(parents=True)
    (root / "__MACOSX" / "Alpha" / "._img_00.jpg").write_bytes(b"\x00\x05\x16\x07 resource fork")
    return {"good": 26, "bad": 5}


@pytest.fixture
def laced_folder():
    """``laced_folder(root)`` writes the laced folder (used by the scanner's unit test and by 07's
    smoke run on it) and returns the expected counts."""
    return _laced_folder
