"""Thin REST handlers of direct uploads (:mod:`.direct`): the browser sends the parts to the store.

- ``POST storage/direct-uploads`` {bucket, key, size, content_type?, overwrite?} → 201 the plan
- ``POST storage/direct-uploads/{id}/parts`` {numbers} → presigned part URLs (renews the lease)
- ``POST storage/direct-uploads/{id}/complete`` {parts: [{number, etag}]} → 201 the object
- ``DELETE storage/direct-uploads/{id}`` → 204, the multipart upload aborted
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .errors import StorageError
from .handlers import StorageHandler


class DirectUploadsHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        if not self.service.direct_uploads:
            raise StorageError("direct_uploads_off", "Direct uploads are off on this server: upload through it instead.")
        bucket, key = self.field(data, "bucket"), self.field(data, "key")
        content_type = self.field(data, "content_type", required=False) or ""
        overwrite = data.get("overwrite", False)
        if not isinstance(overwrite, bool):
            raise StorageError("invalid_request", "'overwrite' must be true or false.")
        plan = await self.run(self.service.direct_upload_manager.start, bucket, key, data.get("size"), content_type, overwrite)
        self.reply(plan, status=201)


class DirectUploadHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def delete(self, upload_id: str):
        await self.run(self.service.direct_upload_manager.abort, upload_id)
        self.set_status(204)
        self.finish()


class DirectUploadPartsHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def post(self, upload_id: str):
        numbers = self.body().get("numbers")
        self.reply(await self.run_local(self.service.direct_upload_manager.part_urls, upload_id, numbers))


class DirectUploadCompleteHandler(StorageHandler):
    @web.authenticated
    @authorized
    async def post(self, upload_id: str):
        parts = self.body().get("parts")
        self.reply(await self.run(self.service.direct_upload_manager.complete, upload_id, parts), status=201)
