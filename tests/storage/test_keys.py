"""Bucket, key and prefix validation; the per-user prefix confinement."""

import pytest

from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.storage.keys import Confinement, validate_bucket, validate_key, validate_prefix

pytestmark = pytest.mark.storage


@pytest.mark.parametrize("name", ["ab", "Upper", "-start", "end-", "a..b", "192.168.0.1", "a_b", "x" * 64, "",
                                  "abcd\n", "10.0.0.1\n"])  # re "$" also matches before a final newline
def test_bad_bucket_names(name):
    with pytest.raises(StorageError) as info:
        validate_bucket(name)
    assert info.value.reason == "invalid_bucket" and info.value.status == 400


@pytest.mark.parametrize("name", ["abc", "training-data", "data.v2", "a1b"])
def test_good_bucket_names(name):
    assert validate_bucket(name) == name


@pytest.mark.parametrize(
    "key",
    ["", "/abs", "a//b", "a/../b", "../x", "./x", "a/.", "dir/", "a\\b", "a\x00b", "tab\tkey", "é" * 600],
)
def test_bad_keys(key):
    with pytest.raises(StorageError) as info:
        validate_key(key)
    assert info.value.reason == "invalid_key"


@pytest.mark.parametrize("key", ["a", "data/train.csv", "日本語/ファイル.txt", "with space/x y.bin", "a.b/..c"])
def test_good_keys(key):
    assert validate_key(key) == key


def test_prefixes_end_with_slash():
    assert validate_prefix("") == ""
    assert validate_prefix("a/b/") == "a/b/"
    for bad in ["a", "/a/", "a//", "../"]:
        with pytest.raises(StorageError):
            validate_prefix(bad)


def test_confinement_keeps_keys_under_the_user_prefix():
    c = Confinement("users/alice")
    assert c.root == "users/alice/"
    assert c.key("users/alice/x.csv") == "users/alice/x.csv"
    assert c.prefix("") == "users/alice/"
    assert c.prefix("users/alice/sub/") == "users/alice/sub/"
    for key in ["users/bob/x.csv", "users/alice", "users/alicex/y", "x.csv"]:
        with pytest.raises(StorageError) as info:
            c.key(key)
        assert info.value.reason in {"outside_prefix", "invalid_key"}
    with pytest.raises(StorageError) as info:
        c.key("users/alice/../bob/x")
    assert info.value.reason == "invalid_key"
    with pytest.raises(StorageError) as info:
        c.prefix("users/")
    assert info.value.reason == "outside_prefix"
    with pytest.raises(StorageError):
        c.folder("users/alice/")


def test_no_confinement_without_a_prefix():
    c = Confinement("")
    assert c.root == "" and c.key("any/key") == "any/key" and c.prefix("") == ""
