"""Thin REST handlers for the storage panel: read arguments, call the service, write JSON.

Blocking SDK calls run in the service's worker threads, workspace-only work in threads of its
own (local routes keep answering while the store hangs); errors are StorageErrors answered
as ``{"message", "reason"}`` with the status of their reason code.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError

from ..base_handler import HybridHubHandler
from ..reasons import has_control, path_problem
from .errors import StorageError
from .presign import content_disposition
from .preview import IMAGE_CAP, image_type
from .service import StorageService
from .transfers import ObjectBody, close_response


STREAM_CHUNK = 4 * 1024 * 1024  # per read from the store; two are in memory per download
MAX_VERSION_ID = 1024  # S3 version ids are opaque: AWS documents none longer


def _flag(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes"}


class StorageHandler(HybridHubHandler):
    """Base: the per-server :class:`StorageService` and its worker threads."""

    area = "storage"
    error_class = StorageError

    @property
    def service(self) -> StorageService:
        return self.shared("storage_service", lambda state: StorageService(state["storage"], self.root_dir))

    async def run(self, fn, *args, **kwargs):
        """A call that may reach the store, in the service's store threads."""
        return await IOLoop.current().run_in_executor(self.service.executor, functools.partial(fn, *args, **kwargs))

    async def run_local(self, fn, *args, **kwargs):
        """Workspace-only work (pins, starting a download) in threads of its own: never queued
        behind calls to a stalled store."""
        executor = self.shared("storage_local_executor", lambda state: ThreadPoolExecutor(2, thread_name_prefix="hybridhub-local"))
        return await IOLoop.current().run_in_executor(executor, functools.partial(fn, *args, **kwargs))

    def arg(self, name: str, default: str | None = None) -> str | None:
        return self.get_query_argument(name, default)

    def required(self, name: str) -> str:
        value = self.get_query_argument(name, None)
        if not value:
            raise StorageError("invalid_request", f"The '{name}' parameter is required.")
        return value

    @staticmethod
    def field(data: dict, name: str, required: bool = True) -> str | None:
        value = data.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise StorageError("invalid_request", f"The '{name}' field must be a non-empty string.")
        return value

    @classmethod
    def path_field(cls, data: dict) -> str:
        """The workspace ``path``: at most 4,096 bytes, names at most 255, no control characters."""
        path = cls.field(data, "path")
        problem = path_problem(path)
        if problem:
            raise StorageError("invalid_path", problem)
        return path

    def version(self, data: dict | None = None) -> str | None:
        """The ``version_id`` field (``version`` query parameter); absent or empty: None."""
        value = self.field(data, "version_id", required=False) if data is not None else self.arg("version")
        if value and (len(value) > MAX_VERSION_ID or has_control(value)):
            raise StorageError(
                "invalid_request", f"A version id is at most {MAX_VERSION_ID} characters, without control characters."
            )
        return value or None


class ConfigHandler(StorageHandler):
    @web.authenticated
    @authorized
    def get(self):
        self.reply(self.service.summary())


class BucketsHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"buckets": await self.run(self.service.buckets)})


class ListHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def get(self):
        try:
            limit = int(self.arg("limit", "500"))
        except ValueError:
            raise StorageError("invalid_request", "'limit' must be a number.") from None
        page = await self.run(
            self.service.list,
            self.required("bucket"),
            self.arg("prefix", ""),
            self.arg("continuation") or None,  # not "token": jupyter-server reads ?token= as a credential
            limit,
            self.arg("search", ""),
        )
        self.reply(page)


class ObjectHandler(StorageHandler):
    """GET sends an object (attachment, or an inline image preview); DELETE removes it.

    With a browser endpoint configured, an attachment is a 307 redirect to a short-lived
    presigned URL (``proxy=1`` streams it through this server anyway); otherwise, and for
    inline previews, the bytes are streamed through this server.
    """

    @web.authenticated
    @authorized
    async def get(self):
        bucket, key = self.required("bucket"), self.required("key")
        inline = _flag(self.arg("inline"))
        if not inline and self.service.direct_downloads and not _flag(self.arg("proxy")):
            link = await self.run(self.service.download_link, bucket, key, self.version())
            self.set_header("Cache-Control", "no-store")
            self.set_header("Referrer-Policy", "no-referrer")
            self.redirect(link, status=307)
            return
        content_type = image_type(key) if inline else "application/octet-stream"
        response = await self.run(self.service.open, bucket, key, self.version())
        pending = None
        try:
            length = int(response.headers.get("Content-Length", "-1"))
            if inline and length > IMAGE_CAP:
                raise StorageError("preview_too_large", "The image is too large to preview.")
            self.set_header("Content-Disposition", content_disposition(key, inline))
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Content-Security-Policy", "sandbox; default-src 'none'")
            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Type", content_type)
            if length >= 0:
                self.set_header("Content-Length", str(length))
            # two buffers: the store fills one (worker thread) while the other goes to the
            # browser; tornado sends a memoryview without copying it
            size = STREAM_CHUNK if length < 0 else max(1, min(STREAM_CHUNK, length))
            buffers = [memoryview(bytearray(size)) for _ in range(2)]
            body = ObjectBody(response)
            await self.flush()  # the headers
            turn = 0
            pending = asyncio.ensure_future(self.run(body.readinto, buffers[turn]))
            while True:
                n = await pending
                pending = None
                if not n:
                    break
                sending = buffers[turn][:n]
                self.service.meter.add("download_proxied", n)  # store -> this server -> browser
                turn ^= 1
                pending = asyncio.ensure_future(self.run(body.readinto, buffers[turn]))
                await self.request.connection.write(sending)
        except StreamClosedError:
            return  # the browser went away; nothing to clean up server-side
        finally:
            if pending is not None:
                try:
                    await pending
                except Exception:  # noqa: BLE001 - the response is being discarded
                    pass
            await self.run(close_response, response)
        self.finish(set_content_type=content_type)

    @web.authenticated
    @authorized
    async def delete(self):
        await self.run(self.service.delete, self.required("bucket"), self.required("key"))
        self.set_status(204)
        self.finish()


class StatHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(await self.run(self.service.stat, self.required("bucket"), self.required("key"), self.version()))


class PreviewHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(await self.run(self.service.preview, self.required("bucket"), self.required("key"), self.version()))


class FolderHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        self.set_status(201)
        self.reply(await self.run(self.service.make_folder, self.field(data, "bucket"), self.field(data, "prefix")))


class PresignHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        expires = data.get("expires", 3600)
        if isinstance(expires, bool) or not isinstance(expires, int):
            raise StorageError("invalid_request", "'expires' must be a whole number of seconds.")
        self.reply(
            await self.run(
                self.service.presign,
                self.field(data, "bucket"),
                self.field(data, "key"),
                expires,
                self.version(data),
            )
        )


class VersionsHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"versions": await self.run(self.service.versions, self.required("bucket"), self.required("key"))})


class PinsHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"pins": await self.run_local(self.service.pins)})

    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        self.field(data, "version_id")  # required here
        pin = await self.run(self.service.pin, self.field(data, "bucket"), self.field(data, "key"), self.version(data))
        self.set_status(201)
        self.reply(pin)

    @web.authenticated
    @authorized
    async def delete(self):
        removed = await self.run_local(self.service.unpin, self.required("bucket"), self.required("key"))
        if not removed:
            raise StorageError("no_such_key", "That object is not pinned.")
        self.set_status(204)
        self.finish()


class TransfersHandler(StorageHandler):
    """Workspace transfers: POST starts one, GET lists them."""

    @web.authenticated
    @authorized
    def get(self):
        self.reply({"transfers": [job.to_json() for job in self.service.jobs.list()]})

    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        direction = data.get("direction")
        overwrite = bool(data.get("overwrite", False))
        bucket, key, path = self.field(data, "bucket"), self.field(data, "key"), self.path_field(data)
        if direction == "download":
            version = self.version(data)
            job = await self.run_local(self.service.start_download, bucket, key, path, overwrite, version)
        elif direction == "upload":
            job = await self.run(self.service.start_upload, path, bucket, key, overwrite)
        else:
            raise StorageError("invalid_request", "'direction' must be 'download' or 'upload'.")
        self.set_status(202)
        self.reply(job.to_json())


class TransferHandler(StorageHandler):
    @web.authenticated
    @authorized
    def get(self, job_id: str):
        self.reply(self.service.jobs.get(job_id).to_json())

    @web.authenticated
    @authorized
    def delete(self, job_id: str):
        job = self.service.jobs.get(job_id)
        if job.state == "running":
            self.service.jobs.cancel(job_id)
        else:
            self.service.jobs.forget(job_id)
        self.reply(job.to_json())
