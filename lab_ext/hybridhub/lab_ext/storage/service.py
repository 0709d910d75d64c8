"""One object per user server tying configuration, client, confinement and jobs together.

Every public method validates its inputs (bucket, key, workspace path, per-user prefix)
before touching the store, and raises :class:`~.errors.StorageError` only. Methods block;
handlers run them in worker threads.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from minio import Minio

from .. import workspace as confined
from . import direct, heads, leftovers, listing, metering, presign, preview, transfers, versions, workspace
from .client import make_client, make_presign_client
from .errors import StorageError, translate
from .jobs import Job, JobManager
from .keys import Confinement, validate_bucket


class StorageService:
    def __init__(self, config, root_dir: str | os.PathLike, client: Minio | None = None):
        self.config = config
        self.root_dir = os.path.realpath(root_dir)
        self.confinement = Confinement(config.prefix)
        self.jobs = JobManager()
        self.meter = metering.METER  # bytes moved, by kind, for the cost service
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="hybridhub-storage")
        self.upload_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="hybridhub-upload")
        self._client = client
        self._presign_client: Minio | None = None
        self._direct: direct.DirectUploads | None = None
        self._lock = threading.Lock()
        owner = leftovers.owner_of(config.endpoint or "", config.access_key or "")
        retry = getattr(config, "leftover_retry_seconds", leftovers.RETRY_SECONDS)  # tests pass bare namespaces
        self.leftovers = leftovers.Sweeper(leftovers.Journal(self.root_dir), lambda: self.client, owner, retry)

    # -- plumbing -------------------------------------------------------------------------
    def _once(self, attribute: str, make) -> Minio:
        """Build a client on first use (a misconfiguration is reported by the call that needs it)."""
        with self._lock:
            if getattr(self, attribute) is None:
                setattr(self, attribute, make(self.config))
            return getattr(self, attribute)

    @property
    def client(self) -> Minio:
        return self._once("_client", make_client)

    @property
    def presign_client(self) -> Minio:
        """Signs links for browsers: on ``browser_endpoint`` when set (see make_presign_client)."""
        return self._once("_presign_client", make_presign_client)

    @property
    def direct_downloads(self) -> bool:
        """Browsers can reach the store: send downloads there instead of through this server."""
        return bool(self.config.browser_endpoint)

    @property
    def direct_uploads(self) -> bool:
        """Browsers upload straight to the store (``c.StorageConfig.direct_uploads``, on by default,
        and a browser endpoint); otherwise uploads stream through this server."""
        return self.direct_downloads and bool(getattr(self.config, "direct_uploads", True))

    @property
    def direct_upload_manager(self) -> direct.DirectUploads:
        """The direct uploads of this server (made on first use; see :mod:`.direct`)."""
        with self._lock:
            if self._direct is None:
                self._direct = direct.DirectUploads(
                    self,
                    getattr(self.config, "direct_part_expiry", direct.PART_EXPIRY),
                    getattr(self.config, "direct_upload_idle_timeout", direct.IDLE_TIMEOUT),
                )
            return self._direct

    def object_ref(self, bucket: str, key: str) -> tuple[str, str]:
        return validate_bucket(bucket), self.confinement.key(key)

    def summary(self) -> dict:
        """Safe for the browser: no credential, only where and what is reachable."""
        return {
            "configured": bool(self.config.endpoint and self.config.access_key and self.config.secret_key),
            "endpoint": self.config.endpoint,
            "region": self.config.region,
            "default_bucket": self.config.default_bucket,
            "prefix": self.confinement.root,
            "direct_downloads": self.direct_downloads,
            "direct_uploads": self.direct_uploads,
            "limits": {
                "page_size": listing.DEFAULT_PAGE,
                "part_size": transfers.PART_SIZE,
                "text_preview_bytes": preview.TEXT_CAP,
                "json_preview_bytes": preview.JSON_CAP,
                "image_preview_bytes": preview.IMAGE_CAP,
                "presign_max_seconds": presign.MAX_EXPIRY,
            },
        }

    # -- browsing -------------------------------------------------------------------------
    def buckets(self) -> list[dict]:
        try:
            return listing.list_buckets(self.client)
        except StorageError as error:
            # a restricted identity may not list buckets: offer the configured one instead
            if error.reason == "access_denied" and self.config.default_bucket:
                return [{"name": self.config.default_bucket, "created": None}]
            raise

    def list(self, bucket: str, prefix: str = "", token: str | None = None, limit: int = listing.DEFAULT_PAGE, search: str = "") -> dict:
        if search and ("/" in search.rstrip("/") or any(ord(c) < 32 for c in search)):
            raise StorageError("invalid_key", "The filter must be a plain name start without '/'.")
        return listing.list_page(self.client, self.confinement, bucket, prefix, token, limit, search)

    def stat(self, bucket: str, key: str, version_id: str | None = None) -> dict:
        bucket, key = self.object_ref(bucket, key)
        try:
            st = heads.stat_object(self.client, bucket, key, version_id)
        except StorageError as error:
            # a HEAD answer has no body: S3 says 404 alike for a missing object and version
            if version_id and error.reason == "no_such_key" and transfers.object_exists(self.client, bucket, key):
                error = StorageError("no_such_version", "That version of the object does not exist.")
            raise error from None
        return {
            "bucket": bucket,
            "key": key,
            "size": st.size,
            "etag": (st.etag or "").strip('"'),
            "content_type": st.content_type,
            "last_modified": listing._iso(st.last_modified),
            "version_id": st.version_id,
        }

    def make_folder(self, bucket: str, prefix: str) -> dict:
        validate_bucket(bucket)
        prefix = self.confinement.folder(prefix)
        if transfers.object_exists(self.client, bucket, prefix):
            raise StorageError("object_exists", "That folder already exists.")
        transfers.upload_stream(self.client, bucket, prefix, io.BytesIO(b""), 0, "application/x-directory")
        return {"bucket": bucket, "prefix": prefix}

    def delete(self, bucket: str, key: str) -> None:
        bucket, key = self.object_ref(bucket, key)
        self.stat(bucket, key)  # a clear 404 instead of S3's silent success
        try:
            self.client.remove_object(bucket, key)
        except Exception as exc:
            raise translate(exc) from None

    # -- objects --------------------------------------------------------------------------
    def check_upload(self, bucket: str, key: str, overwrite: bool) -> tuple[str, str]:
        bucket, key = self.object_ref(bucket, key)
        if not overwrite and transfers.object_exists(self.client, bucket, key):
            raise StorageError("object_exists", "An object with that key already exists.")
        return bucket, key

    def upload_reader(self, bucket: str, key: str, reader, length: int, content_type: str = "") -> dict:
        bucket, key = self.object_ref(bucket, key)
        result = self._upload(bucket, key, length, lambda: transfers.upload_stream(self.client, bucket, key, reader, length, content_type))
        self.meter.add("upload_proxied", length)
        return result

    def _upload(self, bucket: str, key: str, length: int, work):
        """Run an upload recorded in the journal: if it fails where the SDK could not abort it
        (store gone, server killed), the sweep aborts its multipart upload later (:mod:`.leftovers`).

        An upload of one part is a single PUT, which the store discards whole when it fails: it
        leaves nothing to clean, so it costs no journal writes."""
        recorded = self.leftovers.uploading(bucket, key) if transfers.is_multipart(length) else contextlib.nullcontext()
        with recorded:
            try:
                return work()
            except StorageError as error:
                raise heads.missing_bucket(self.client, bucket, error) from None

    def open(self, bucket: str, key: str, version_id: str | None = None, offset: int = 0, length: int = 0):
        bucket, key = self.object_ref(bucket, key)
        return transfers.open_object(self.client, bucket, key, version_id, offset, length)

    def preview(self, bucket: str, key: str, version_id: str | None = None) -> dict:
        bucket, key = self.object_ref(bucket, key)
        return preview.preview(self.client, bucket, key, version_id)

    def presign(self, bucket: str, key: str, expires: int, version_id: str | None = None) -> dict:
        """A link for the object, looked up first: signing alone never contacts the store, so a
        missing object or a refused credential would only show when the link is opened."""
        self.stat(bucket, key, version_id)
        bucket, key = self.object_ref(bucket, key)
        return presign.presign_get(self.presign_client, bucket, key, expires, version_id)

    def download_link(self, bucket: str, key: str, version_id: str | None = None) -> str:
        """A short-lived link on the browser endpoint that saves the object as a file.

        The object is looked up first, so a missing object or a refused credential is a
        clear error from this server rather than an XML page from the store.
        """
        size = self.stat(bucket, key, version_id)["size"]
        bucket, key = self.object_ref(bucket, key)
        self.meter.add("direct_download", size)  # the browser fetches it from the store, not through here
        link = presign.presign_get(
            self.presign_client, bucket, key, presign.DIRECT_DOWNLOAD_EXPIRY, version_id, presign.content_disposition(key)
        )
        return link["url"]

    def versions(self, bucket: str, key: str) -> list[dict]:
        bucket, key = self.object_ref(bucket, key)
        return versions.list_versions(self.client, bucket, key)

    def pins(self) -> list[dict]:
        return versions.read_pins(self.root_dir)

    def pin(self, bucket: str, key: str, version_id: str) -> dict:
        bucket, key = self.object_ref(bucket, key)
        return versions.pin_version(self.client, self.root_dir, bucket, key, version_id)

    def unpin(self, bucket: str, key: str) -> bool:
        bucket, key = self.object_ref(bucket, key)
        return versions.unpin(self.root_dir, bucket, key)

    # -- workspace transfers --------------------------------------------------------------
    def start_download(self, bucket: str, key: str, path: str, overwrite: bool = False, version_id: str | None = None) -> Job:
        bucket, key = self.object_ref(bucket, key)
        target = workspace.resolve_new_file(self.root_dir, path, overwrite)
        api_path = workspace.to_api_path(self.root_dir, target)

        def work(progress):
            with self.leftovers.downloading(confined.relative_parts(self.root_dir, target.parent), target.name) as temp:
                result = transfers.download_to_file(
                    self.client, bucket, key, target, progress, version_id, root=self.root_dir, temp_prefix=temp
                )
            self.meter.add("workspace_in", result["size"])
            return result

        return self.jobs.submit("download", bucket, key, api_path, work)

    def start_upload(self, path: str, bucket: str, key: str, overwrite: bool = False) -> Job:
        source = workspace.resolve_existing_file(self.root_dir, path)
        bucket, key = self.check_upload(bucket, key, overwrite)
        api_path = workspace.to_api_path(self.root_dir, source)

        def work(progress):
            size = Path(source).stat().st_size  # once: the journal's decision and the upload agree
            result = self._upload(bucket, key, size, lambda: transfers.upload_file(self.client, bucket, key, Path(source), progress, size))
            self.meter.add("workspace_out", size)
            return result

        return self.jobs.submit("upload", bucket, key, api_path, work)


def start(serverapp, state: dict) -> StorageService:
    """Make the server's storage service at extension load, start its leftover sweep and its
    transfer reports.

    The sweep runs in its own thread: a store that does not answer never delays the start.
    """
    root = serverapp.web_app.settings.get("server_root_dir") or serverapp.contents_manager.root_dir
    service = state.setdefault("storage_service", StorageService(state["storage"], root))
    service.leftovers.log = serverapp.log
    service.leftovers.start()
    if "transfer_reporter" not in state:  # the bytes moved go to the cost service (docs/cost.md)
        state["transfer_reporter"] = metering.TransferReporter(service.meter, parent=serverapp, log=serverapp.log)
        state["transfer_reporter"].start()
    return service
