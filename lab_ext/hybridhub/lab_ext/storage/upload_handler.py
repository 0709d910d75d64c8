"""PUT /hybridhub/storage/upload?bucket=&key=: a streamed upload from the browser.

The request body is never held whole: tornado hands it over in chunks (``data_received``),
which go through a bounded :class:`~.streams.BytePipe` to the upload (:mod:`.multipart`) running
in a worker thread. Authentication and authorization are checked in ``prepare``, before a single
body byte is accepted. If the browser goes away or the store fails, the pipe fails, the
multipart upload is aborted and no partial object is left; a store failure is answered at once
(within the stall deadline), without reading the rest of the body.
"""

from __future__ import annotations

import asyncio
import functools
import socket

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.ioloop import IOLoop

from .errors import Cancelled, StorageError
from .handlers import StorageHandler, _flag
from .streams import BytePipe, Progress
from .transfers import MAX_OBJECT, part_size_for


#: seconds between the half-close after an early answer and the close (Apache waits up to 2)
LINGER = 2.0
#: a refused upload with at most this many body bytes is answered once they arrived (larger: at once)
SMALL_BODY = 64 * 1024


def _small_body(request) -> bool:
    length = request.headers.get("Content-Length", "")
    return length.isdigit() and int(length) <= SMALL_BODY


@web.stream_request_body
class UploadHandler(StorageHandler):
    pipe: BytePipe | None = None
    upload: asyncio.Future | None = None
    failure: BaseException | None = None
    body_done = False  # the whole body arrived: put() answers
    gone = False  # the browser closed the connection
    ended: asyncio.Event | None = None  # answered or gone (set once an upload began)
    refusal: Exception | None = None  # refused before a small body: answered by put()
    lingering = False  # answered before the body's end: the connection closes LINGER s later

    async def prepare(self):
        try:
            await self._begin()
        except (StorageError, web.HTTPError) as refusal:
            if self._finished or self.request.method != "PUT" or not _small_body(self.request):
                raise
            # read the few bytes before answering: closing with them unread makes the kernel
            # reset the connection, which can destroy the answer before the client reads it
            self.refusal = refusal

    async def _begin(self):
        await super().prepare()
        if self._finished:
            return
        await self._check_access()
        if self.request.method != "PUT":
            return
        bucket, key = self.required("bucket"), self.required("key")
        length = self.request.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise StorageError("invalid_request", "Uploads need a Content-Length header.", status=411)
        length = int(length)
        if length > MAX_OBJECT:
            raise StorageError("invalid_request", "The upload is larger than the largest S3 object.", status=413)
        self.request.connection.set_max_body_size(length)
        await self.run(self.service.check_upload, bucket, key, _flag(self.arg("overwrite")))
        self.ended = asyncio.Event()  # answered or gone
        self.pipe = BytePipe(limit=part_size_for(length), progress=Progress(length))
        content_type = self.request.headers.get("X-Object-Content-Type", "")
        self.upload = asyncio.ensure_future(
            IOLoop.current().run_in_executor(
                self.service.upload_executor,
                functools.partial(self.service.upload_reader, bucket, key, self.pipe, length, content_type),
            )
        )
        self.upload.add_done_callback(self._upload_ended)

    @web.authenticated
    @authorized("write")
    async def _check_access(self):
        """Nothing to do: the decorators refuse anonymous or unauthorized callers."""

    def _upload_ended(self, future: asyncio.Future) -> None:
        if future.cancelled() or future.exception() is None or self.pipe is None:
            return
        self.pipe.fail(future.exception())
        if not self.body_done and not self.gone and not self._finished:
            # the store failed while the body still comes: answer now and stop reading it
            self._linger_on_close()
            self.set_header("Connection", "close")
            self._handle_request_exception(future.exception())

    def _linger_on_close(self) -> None:
        """Close as a lingering close does: after the answer, half-close (FIN) and wait
        :data:`LINGER` seconds before closing for good, reading nothing meanwhile.

        tornado closes right after an answer given before the body's end; with the browser's
        bytes unread the kernel then resets the connection, and a reset can destroy the answer
        before the browser read it (Windows drops received data on a reset). A browser that got
        the answer and the FIN stops sending (RFC 9112, 9.6) and closes.
        """
        connection = self.request.connection
        close = connection.close
        self.lingering = True

        def close_later() -> None:
            try:
                connection.stream.socket.shutdown(socket.SHUT_WR)
            except (AttributeError, OSError):
                pass  # already gone
            IOLoop.current().call_later(LINGER, closed)

        def closed() -> None:
            close()
            self.ended.set()

        connection.close = close_later

    async def data_received(self, chunk: bytes) -> None:
        if self.pipe is None:
            return
        if self.failure is None:
            try:
                while not self.pipe.try_write(chunk):
                    await asyncio.sleep(0.002)  # backpressure without holding a thread
                return
            except BaseException as exc:  # noqa: BLE001 - answered by _upload_ended or put()
                self.failure = exc
        # the upload failed: read no further (tornado reads the next chunk only once this
        # returns); the answer is on its way, then tornado closes the connection
        await self.ended.wait()

    def on_finish(self) -> None:
        if self.ended is not None and not self.lingering:
            self.ended.set()

    @web.authenticated
    @authorized
    async def put(self):
        if self.refusal is not None:
            raise self.refusal
        assert self.pipe is not None and self.upload is not None
        if self._finished:
            return  # answered with the store's error while the body still came
        self.body_done = True
        self.pipe.close()
        result = await self.upload  # raises the StorageError of a failed upload
        self.set_status(201)
        self.reply(result)

    def on_connection_close(self) -> None:
        self.gone = True
        if self.pipe is not None:
            self.ended.set()
        if self.pipe is not None and self.upload is not None and not self.upload.done():
            self.pipe.fail(Cancelled("The browser closed the connection during the upload."))
            self.pipe.progress.cancel()  # also breaks the part uploads in flight
        super().on_connection_close()
