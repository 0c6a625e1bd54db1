"""The native tf.data pipeline of course_utils.keras_.data: TensorFlow decoding agrees with Pillow's,
odd files still load, labels stay with their images, and the cache really caches."""
import numpy as np
import pytest
from PIL import Image

import course_utils  # noqa: F401  (PyTorch before TensorFlow)

tf = pytest.importorskip("tensorflow")
from course_utils.keras_ import data as keras_data  # noqa: E402


def _photo(h=40, w=56, seed=0):
    """A smooth random RGB picture (JPEG-friendly, so decoders agree to within rounding)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 4 + 30 * c) % 256 for c in range(3)], -1) * 0.5 + (yy * 3)[..., None] * 0.5
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def files(tmp_path):
    """One file of each kind: RGB JPEG, grayscale PNG, RGBA PNG, palette PNG, CMYK JPEG, 2-frame GIF."""
    arr = _photo()
    out = {}
    out["rgb.jpg"] = Image.fromarray(arr)
    out["gray.png"] = Image.fromarray(arr[..., 0])
    out["rgba.png"] = Image.fromarray(np.dstack([arr, np.full(arr.shape[:2], 200, np.uint8)]))
    out["palette.png"] = Image.fromarray(arr).convert("P")
    out["cmyk.jpg"] = Image.fromarray(arr).convert("CMYK")
    paths = {}
    for name, im in out.items():
        paths[name] = tmp_path / name
        im.save(paths[name], quality=95) if name.endswith(".jpg") else im.save(paths[name])
    frames = [Image.fromarray(arr).convert("P"), Image.fromarray(255 - arr).convert("P")]
    paths["anim.gif"] = tmp_path / "anim.gif"
    frames[0].save(paths["anim.gif"], save_all=True, append_images=frames[1:])
    return paths


def _images(ds):
    return np.concatenate([x.numpy() for x, _ in ds])


def test_native_decoding_matches_pillow_for_every_kind_of_file(files):
    names = sorted(files)
    paths = [files[n] for n in names]
    native = _images(keras_data.make_dataset(paths, np.zeros(len(paths)), 32, 4, rescale=False))
    pil = _images(keras_data.make_dataset(paths, np.zeros(len(paths)), 32, 4, rescale=False, decoder="pil"))
    assert native.shape == pil.shape == (len(paths), 32, 32, 3)
    for i, name in enumerate(names):
        diff = np.abs(native[i] - pil[i])
        # resampling differs slightly (TensorFlow's antialiased bilinear vs Pillow's): a few levels of 255
        assert diff.mean() < 3.0, (name, diff.mean())
    gray = native[names.index("gray.png")]
    np.testing.assert_array_equal(gray[..., 0], gray[..., 1])  # grayscale became 3 equal channels


def test_needs_pillow_only_for_what_tensorflow_cannot_decode(files):
    assert keras_data.needs_pillow(files["cmyk.jpg"])
    for name in ("rgb.jpg", "gray.png", "rgba.png", "palette.png", "anim.gif"):
        assert not keras_data.needs_pillow(files[name]), name


def test_animated_gif_gives_its_first_frame(files):
    x = _images(keras_data.make_dataset([files["anim.gif"]], [0], 16, 1, rescale=False))
    first = np.asarray(Image.open(files["anim.gif"]).convert("RGB").resize((16, 16), Image.BILINEAR), np.float32)
    assert x.shape == (1, 16, 16, 3)
    assert np.abs(x[0] - first).mean() < 6.0      # the first frame, not the inverted second one
    assert np.abs(x[0] - (255 - first)).mean() > 60


def test_labels_stay_with_their_images_through_parallel_decoding_and_shuffle(tmp_path):
    paths, labels = [], []
    for k in range(24):
        p = tmp_path / f"{k}.png"
        Image.fromarray(np.full((10, 12, 3), k * 10, np.uint8)).save(p)
        paths.append(p)
        labels.append(k)
    ds = keras_data.make_dataset(paths, labels, 8, 5, shuffle=True, seed=3, rescale=False)
    for _ in range(2):                               # two epochs, two orders
        for x, y in ds:
            np.testing.assert_allclose(x.numpy()[:, 0, 0, 0], y.numpy() * 10.0, atol=0.5)
    plain = keras_data.make_dataset(paths, labels, 8, 5, cache=False, prefetch=False)
    assert [int(v) for _, y in plain for v in y.numpy()] == labels  # without shuffle: file order


def test_cache_decodes_once_and_plain_reads_the_files_every_epoch(tmp_path):
    paths = []
    for k in range(6):
        p = tmp_path / f"{k}.jpg"
        Image.fromarray(_photo(seed=k)).save(p)
        paths.append(p)
    cached = keras_data.make_dataset(paths, np.arange(6), 16, 3)
    plain = keras_data.make_dataset(paths, np.arange(6), 16, 3, cache=False, prefetch=False)
    first = _images(cached)
    _images(plain)
    for p in paths:                                   # files this test created, in its own folder
        p.unlink()
    np.testing.assert_array_equal(_images(cached), first)   # the second epoch comes from memory
    with pytest.raises(tf.errors.NotFoundError):
        _images(plain)


def test_bad_decoder_name_is_refused():
    with pytest.raises(ValueError, match="decoder"):
        keras_data.make_dataset(["a.jpg"], [0], 8, 1, decoder="opencv")
