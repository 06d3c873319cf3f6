"""Damaged n-gram model files: ``NGramLanguageModel.load`` raises ValueError, whatever the damage (issue 22,
item 7), and saves leave no temporary file behind and replace a symbolic link's target (item 11)."""

import io
import os
import zipfile

import numpy as np
import pytest

from treeforge.ngram import NGramLanguageModel

_CORPUS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the mat and the log"] * 3


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(model, bytes of its saved file)."""
    path = tmp_path_factory.mktemp("ngram") / "lm.npz"
    model = NGramLanguageModel(n=3, smoothing="kneser_ney").fit(_CORPUS)
    model.save(path)
    return model, path.read_bytes()


def _load_refused(tmp_path, data, name="damaged.npz"):
    """Load ``data`` as a model file: it must load (returning the model) or raise ValueError."""
    path = tmp_path / name
    path.write_bytes(data)
    try:
        return NGramLanguageModel.load(path)
    except ValueError as exc:
        assert str(exc)
        return exc


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _zipped(members, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_truncated_files_raise_value_error(saved, tmp_path):
    _, data = saved
    offsets = sorted(set(np.linspace(0, len(data) - 1, 150).astype(int)) | set(range(0, 64)))
    for offset in offsets:
        result = _load_refused(tmp_path, data[:offset])
        assert isinstance(result, ValueError), f"truncated at {offset} of {len(data)} bytes loaded"


def test_flipped_bytes_raise_value_error_or_load_the_same_model(saved, tmp_path):
    model, data = saved
    rng = np.random.default_rng(22)
    for offset in list(range(0, len(data), max(1, len(data) // 300))) + list(rng.integers(0, len(data), 100)):
        for flip in (0x01, 0xFF):
            damaged = bytearray(data)
            damaged[offset] ^= flip
            result = _load_refused(tmp_path, bytes(damaged))
            if not isinstance(result, ValueError):  # e.g. a byte of a zip field nobody reads
                assert result.vocabulary_.tokens_ == model.vocabulary_.tokens_


def test_stored_members_with_flipped_bytes_raise_value_error(saved, tmp_path):
    # Uncompressed members: a flipped byte reaches the array headers and data themselves.
    model, data = saved
    stored = _zipped(_members(data), zipfile.ZIP_STORED)
    for offset in range(0, len(stored), max(1, len(stored) // 400)):
        damaged = bytearray(stored)
        damaged[offset] ^= 0x5A
        _load_refused(tmp_path, bytes(damaged))


@pytest.mark.parametrize("member, payload", [
    ("n.npy", b"\x93NUMPY\x01\x00garbage"),  # a header that does not parse
    ("n.npy", _npy(np.array([3, 3]))),  # n of the wrong shape
    ("n.npy", _npy(np.array(10**6))),  # tables of orders that are not there
    ("n.npy", _npy(np.array("three"))),
    ("markers.npy", _npy(np.array("x"))),  # a 0-d array where a list is expected
    ("markers.npy", _npy(np.array(["<unk>"]))),
    ("tokens.npy", _npy(np.zeros((2, 2)))),
    ("keys_2.npy", _npy(np.array([1.5, 2.5]))),
    ("keys_1.npy", _npy(np.zeros((2, 2), dtype=np.int64))),
    ("counts_3.npy", _npy(np.array([], dtype=np.int64))),
    ("format.npy", _npy(np.array(["a", "b"]))),
    ("version.npy", _npy(np.array([], dtype=np.int64))),
    ("discount.npy", _npy(np.array("none"))),
    ("k.npy", b""),
])
def test_wrong_member_contents_raise_value_error(saved, tmp_path, member, payload):
    members = _members(saved[1])
    members[member] = payload
    with pytest.raises(ValueError):
        NGramLanguageModel.load(_write(tmp_path, _zipped(members)))


def test_missing_member_unsupported_compression_and_not_a_zip(saved, tmp_path):
    members = _members(saved[1])
    del members["counts_2.npy"]
    with pytest.raises(ValueError, match="counts_2") as info:
        NGramLanguageModel.load(_write(tmp_path, _zipped(members)))
    assert isinstance(info.value.__cause__, KeyError)
    lzma = _zipped(_members(saved[1]), zipfile.ZIP_LZMA)
    lzma = lzma.replace(b"\x0e\x00", b"\x63\x00")  # the compression method of every entry: 14 (LZMA) -> 99
    with pytest.raises(ValueError):
        NGramLanguageModel.load(_write(tmp_path, lzma))
    with pytest.raises(ValueError, match="not a treeforge"):
        NGramLanguageModel.load(_write(tmp_path, b"PK\x03\x04" + b"\x00" * 100))


def _write(tmp_path, data):
    path = tmp_path / "case.npz"
    path.write_bytes(data)
    return path


def test_save_replaces_a_symlinks_target_and_cleans_orphans(saved, tmp_path):
    model, _ = saved
    target = tmp_path / "real.npz"
    link = tmp_path / "link.npz"
    link.symlink_to(target.name)
    orphan = tmp_path / f".real.npz.{2**30 + 7}.abc123.treeforge-tmp"  # left by a killed save (no such process)
    orphan.write_bytes(b"partial")
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == target.name
    assert NGramLanguageModel.load(target).perplexity(_CORPUS) == model.perplexity(_CORPUS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.npz", "real.npz"]
