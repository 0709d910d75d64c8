"""The one confinement helper of every workspace write (hybridhub.lab_ext.workspace): no
symbolic link in any component from the root down, no '..', absolute paths or NUL, atomic
replacement, and a link swapped in after the check still cannot redirect the write."""

from __future__ import annotations

import os
import stat

import pytest

from hybridhub.lab_ext import workspace
from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.workspace import WorkspaceError

pytestmark = pytest.mark.storage


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "a" / "b" / "c").mkdir(parents=True)
    (r / "a" / "b" / "c" / "old.txt").write_text("old")
    return r


@pytest.fixture
def outside(tmp_path):
    o = tmp_path / "outside"
    (o / "b" / "c").mkdir(parents=True)
    (o / "b" / "c" / "old.txt").write_text("outside")
    return o


def snapshot(folder):
    return sorted((str(p.relative_to(folder)), p.read_bytes() if p.is_file() else None) for p in folder.rglob("*"))


BAD_PATHS = ["../x", "a/../../x", "/etc/passwd", "", "/", "a\x00b", "./a/x", "a/./x", "a\\x", "C:x"]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_bad_paths_are_refused_before_anything_is_written(root, path):
    before = snapshot(root.parent)
    with pytest.raises(WorkspaceError) as info:
        workspace.write_bytes(root, path, b"x", create_parents=True)
    assert (info.value.reason, info.value.status) == ("invalid_path", 400)
    assert snapshot(root.parent) == before


@pytest.mark.parametrize("parts", [["..", "x"], ["a", "/", "x"], ["a\x00", "x"], ["", "x"], ["a/b", "x"]])
def test_bad_components_are_refused_too(root, parts):
    with pytest.raises(WorkspaceError) as info:
        workspace.write_bytes(root, parts, b"x", create_parents=True)
    assert info.value.reason == "invalid_path"


def test_overlong_names_are_a_clear_400(root):
    for path in ("n" * 256, "/".join(["d" * 200] * 30)):
        with pytest.raises(WorkspaceError) as info:
            workspace.write_bytes(root, path, b"x", create_parents=True)
        assert info.value.reason == "invalid_path" and "too long" in info.value.message


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_symlink_at_any_depth_is_refused_and_nothing_lands_outside(root, outside, depth):
    # replace root/a, root/a/b or root/a/b/c by a link to the matching folder outside
    components = ["a", "b", "c"]
    linked = root.joinpath(*components[: depth + 1])
    target = outside.joinpath(*components[1 : depth + 1]) if depth else outside
    os.rename(linked, linked.with_name(linked.name + "-real"))
    linked.symlink_to(target, target_is_directory=True)
    before = snapshot(outside)
    for path in ("a/b/c/old.txt", "a/b/c/new.txt", "a/b/c/d/new.txt"):
        with pytest.raises(WorkspaceError) as info:
            workspace.write_bytes(root, path, b"evil", overwrite=True, create_parents=True)
        assert info.value.reason == "invalid_path" and "symbolic link" in info.value.message
        with pytest.raises(WorkspaceError):
            workspace.make_folder(root, path)
        with pytest.raises(WorkspaceError):
            workspace.target_exists(root, path)
        with pytest.raises(WorkspaceError):
            workspace.read_bytes(root, path)
    assert snapshot(outside) == before


def test_a_symlink_as_the_target_is_refused_not_written_through(root, outside):
    (root / "link.txt").symlink_to(outside / "b" / "c" / "old.txt")
    with pytest.raises(WorkspaceError) as info:
        workspace.write_bytes(root, "link.txt", b"evil", overwrite=True)
    assert info.value.reason == "invalid_path"
    with pytest.raises(WorkspaceError):
        workspace.read_bytes(root, "link.txt")
    assert (outside / "b" / "c" / "old.txt").read_text() == "outside"


def test_a_link_swapped_in_after_the_check_cannot_redirect_the_write(root, outside):
    """The folder is opened (and checked) once; renaming it away and putting a link to an
    outside folder in its place while the file is being written changes nothing outside."""
    before = snapshot(outside)
    with workspace.atomic_file(root, "a/b/c/new.txt", create_parents=True) as handle:
        handle.write(b"written")
        os.rename(root / "a" / "b", root / "a" / "b-moved")
        (root / "a" / "b").symlink_to(outside / "b", target_is_directory=True)
    assert snapshot(outside) == before
    assert (root / "a" / "b-moved" / "c" / "new.txt").read_bytes() == b"written"


def test_a_link_swapped_in_for_the_target_is_replaced_not_followed(root, outside):
    with pytest.raises(WorkspaceError):
        with workspace.atomic_file(root, "a/b/c/old.txt", overwrite=True) as handle:
            handle.write(b"new")
            os.unlink(root / "a" / "b" / "c" / "old.txt")
            (root / "a" / "b" / "c" / "old.txt").symlink_to(outside / "b" / "c" / "old.txt")
    assert (outside / "b" / "c" / "old.txt").read_text() == "outside"
    assert [p.name for p in (root / "a" / "b" / "c").iterdir()] == ["old.txt"]  # no temporary file left


def test_atomic_replace_fsync_mode_and_no_temp_left(root):
    workspace.write_bytes(root, "a/b/c/old.txt", b"new", overwrite=True, mode=0o755)
    target = root / "a" / "b" / "c" / "old.txt"
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o755
    with pytest.raises(RuntimeError):
        with workspace.atomic_file(root, "a/b/c/old.txt", overwrite=True) as handle:
            handle.write(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["old.txt"]


def test_existing_files_folders_and_files_in_the_way(root):
    with pytest.raises(WorkspaceError) as info:
        workspace.write_bytes(root, "a/b/c/old.txt", b"x")
    assert (info.value.reason, info.value.status) == ("file_exists", 409)
    with pytest.raises(WorkspaceError) as info:
        workspace.write_bytes(root, "a/b/c", b"x", overwrite=True)
    assert info.value.reason == "not_a_file"
    with pytest.raises(NotADirectoryError):
        workspace.write_bytes(root, "a/b/c/old.txt/x", b"x", create_parents=True)
    with pytest.raises(FileNotFoundError):
        workspace.write_bytes(root, "missing/x", b"x")
    assert workspace.target_exists(root, "a/b/c/old.txt") and not workspace.target_exists(root, "missing/deeper/x")


def test_folders_reads_listing_and_removal(root, outside):
    workspace.make_folder(root, "new/deeper")
    with pytest.raises(FileExistsError):
        workspace.make_folder(root, "new/deeper", exist_ok=False)
    workspace.write_bytes(root, ["new", "deeper", "f.txt"], b"hello")
    assert workspace.read_bytes(root, "new/deeper/f.txt") == b"hello"
    (root / "new" / "link").symlink_to(outside, target_is_directory=True)
    assert workspace.folder_entries(root, "new") == {"deeper": True, "link": False}
    workspace.remove_tree(root, "new/link")  # the link goes, not what it points to
    assert (outside / "b" / "c" / "old.txt").exists() and not (root / "new" / "link").exists()
    (root / "new" / "deeper" / "inner").symlink_to(outside, target_is_directory=True)
    workspace.remove_tree(root, "new")
    assert not (root / "new").exists() and (outside / "b" / "c" / "old.txt").read_text() == "outside"
    workspace.remove_tree(root, "new")  # gone already: nothing to do


def test_the_callers_error_class_answers(root, outside):
    (root / "out").symlink_to(outside, target_is_directory=True)
    with pytest.raises(StorageError) as info:
        workspace.write_bytes(root, "out/x", b"x", error=StorageError)
    assert info.value.reason == "invalid_path"


def test_the_pins_file_is_written_through_the_helper(root, outside):
    from hybridhub.lab_ext.storage import versions

    versions._write_pins(root, [{"bucket": "b", "key": "k"}])
    assert versions.read_pins(root) == [{"bucket": "b", "key": "k"}]
    os.rename(root / ".hybridhub", root / ".hybridhub-real")
    (root / ".hybridhub").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    with pytest.raises(StorageError) as info:
        versions._write_pins(root, [])
    assert info.value.reason == "invalid_path" and snapshot(outside) == before
