"""The bounded pipe between the event loop and the SDK's upload thread."""

import threading

import pytest

from hybridhub.lab_ext.storage.errors import Cancelled
from hybridhub.lab_ext.storage.streams import BytePipe, Progress, ProgressReader

pytestmark = pytest.mark.storage


def test_pipe_serves_whole_reads_and_stays_bounded():
    pipe = BytePipe(limit=1000)
    chunks = [bytes([i % 256]) * 300 for i in range(20)]
    got = []

    def reader():
        while True:
            data = pipe.read(1000)
            got.append(data)
            if len(data) < 1000:
                return

    t = threading.Thread(target=reader)
    t.start()
    for c in chunks:
        pipe.write(c, timeout=5)
    pipe.close()
    t.join(5)
    assert b"".join(got) == b"".join(chunks)
    assert all(len(g) == 1000 for g in got[:-1])
    assert pipe.peak < 1000 + 300
    assert pipe.progress.done == 6000


def test_try_write_refuses_when_full():
    pipe = BytePipe(limit=10)
    assert pipe.try_write(b"x" * 10)
    assert not pipe.try_write(b"y")
    assert pipe.read(4) == b"xxxx"


def test_failure_reaches_the_reader_and_the_writer():
    pipe = BytePipe(limit=10)
    pipe.write(b"abc")
    pipe.fail(Cancelled())
    with pytest.raises(Cancelled):
        pipe.read(10)
    with pytest.raises(Cancelled):
        pipe.write(b"more")


def test_progress_reader_stops_when_cancelled(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"z" * 100)
    progress = Progress(100)
    with open(f, "rb") as fh:
        reader = ProgressReader(fh, progress)
        assert reader.read(40) == b"z" * 40
        progress.cancel()
        with pytest.raises(Cancelled):
            reader.read(40)
    assert progress.done == 40
