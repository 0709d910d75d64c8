"""Workspace paths stay inside the server root: no '..', absolute paths or symlinks out."""

import os

import pytest

from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.storage.workspace import resolve_existing_file, resolve_new_file, to_api_path

pytestmark = pytest.mark.storage


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "data").mkdir(parents=True)
    (r / "data" / "a.csv").write_text("x\n")
    (tmp_path / "secret.txt").write_text("outside")
    return r


@pytest.mark.parametrize("path", ["../secret.txt", "data/../../secret.txt", "/etc/passwd", "", "/", "a\\b", "a\x00b", "./data/a.csv"])
def test_escapes_and_bad_paths_are_refused(root, path):
    for resolve in (resolve_existing_file, resolve_new_file):
        with pytest.raises(StorageError) as info:
            resolve(root, path)
        assert info.value.reason == "invalid_path"


def test_symlink_out_of_the_root_is_refused(root, tmp_path):
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    os.symlink(tmp_path, root / "outdir")
    with pytest.raises(StorageError) as info:
        resolve_existing_file(root, "link.txt")
    assert info.value.reason == "invalid_path"
    with pytest.raises(StorageError) as info:
        resolve_new_file(root, "outdir/new.bin")
    assert info.value.reason == "invalid_path"
    # a download must never write through a link, even one that points inside
    os.symlink(root / "data" / "a.csv", root / "inner-link.csv")
    with pytest.raises(StorageError) as info:
        resolve_new_file(root, "inner-link.csv", overwrite=True)
    assert info.value.reason == "invalid_path"


def test_inside_paths_resolve(root):
    assert resolve_existing_file(root, "data/a.csv") == (root / "data" / "a.csv").resolve()
    target = resolve_new_file(root, "data/b.csv")
    assert to_api_path(root, target) == "data/b.csv"


def test_existing_target_needs_overwrite_and_folders_are_not_files(root):
    with pytest.raises(StorageError) as info:
        resolve_new_file(root, "data/a.csv")
    assert info.value.reason == "file_exists" and info.value.status == 409
    assert resolve_new_file(root, "data/a.csv", overwrite=True).name == "a.csv"
    with pytest.raises(StorageError) as info:
        resolve_new_file(root, "data", overwrite=True)
    assert info.value.reason == "not_a_file"
    with pytest.raises(StorageError) as info:
        resolve_existing_file(root, "data")
    assert info.value.reason == "not_a_file"
    with pytest.raises(StorageError) as info:
        resolve_new_file(root, "missing/x.csv")
    assert info.value.reason == "invalid_path"
