"""All hybridhub REST routes, in one table."""

from __future__ import annotations

from jupyter_server.utils import url_path_join

from .activity import handlers as activity
from .base_handler import NoSuchRouteHandler
from .config import CodeHomeConfig, StorageConfig
from .git import handlers as git
from .models import handlers as models
from .openapi import OpenAPIHandler
from .pipelines import handlers as pipelines
from .status_handler import StatusHandler
from .storage import direct_handlers as direct_uploads
from .storage import handlers as storage
from .storage.upload_handler import UploadHandler as StorageUploadHandler

NAMESPACE = "hybridhub"

ROUTES = [
    ("openapi.json", OpenAPIHandler),
    ("status", StatusHandler),
    ("activity", activity.ActivityHandler),
    ("activity/keepalive", activity.KeepAliveHandler),
    ("activity/saved", activity.SavedHandler),
    ("storage/config", storage.ConfigHandler),
    ("storage/buckets", storage.BucketsHandler),
    ("storage/list", storage.ListHandler),
    ("storage/object", storage.ObjectHandler),
    ("storage/upload", StorageUploadHandler),
    ("storage/direct-uploads", direct_uploads.DirectUploadsHandler),
    (r"storage/direct-uploads/([^/]+)", direct_uploads.DirectUploadHandler),
    (r"storage/direct-uploads/([^/]+)/parts", direct_uploads.DirectUploadPartsHandler),
    (r"storage/direct-uploads/([^/]+)/complete", direct_uploads.DirectUploadCompleteHandler),
    ("storage/stat", storage.StatHandler),
    ("storage/preview", storage.PreviewHandler),
    ("storage/folder", storage.FolderHandler),
    ("storage/presign", storage.PresignHandler),
    ("storage/versions", storage.VersionsHandler),
    ("storage/pins", storage.PinsHandler),
    ("storage/transfers", storage.TransfersHandler),
    (r"storage/transfers/([0-9a-f]{16})", storage.TransferHandler),
    ("git/config", git.ConfigHandler),
    ("git/status", git.StatusHandler),
    ("git/stage", git.StageHandler),
    ("git/commit", git.CommitHandler),
    ("git/push", git.PushHandler),
    ("git/pull", git.PullHandler),
    ("git/branches", git.BranchesHandler),
    ("git/merge-request", git.MergeRequestHandler),
    ("git/projects", git.ProjectsHandler),
    ("git/clone", git.CloneHandler),
    ("pipelines/config", pipelines.ConfigHandler),
    ("pipelines/projects", pipelines.ProjectsHandler),
    ("pipelines/refs", pipelines.RefsHandler),
    ("pipelines/variables", pipelines.VariablesHandler),
    ("pipelines/runs", pipelines.RunsHandler),
    (r"pipelines/runs/(\d+)", pipelines.RunHandler),
    (r"pipelines/runs/(\d+)/cancel", pipelines.CancelHandler),
    (r"pipelines/runs/(\d+)/jobs/([A-Za-z0-9_.-]+)/(play|retry)", pipelines.JobActionHandler),
    (r"pipelines/runs/(\d+)/jobs/([A-Za-z0-9_.-]+)/trace", pipelines.TraceHandler),
    ("pipelines/template", pipelines.TemplateHandler),
    ("models/config", models.ConfigHandler),
    ("models", models.ModelsListHandler),
    ("models/versions", models.VersionsHandler),
    ("models/lineage", models.LineageHandler),
    ("models/promote", models.PromoteHandler),
    ("models/rollback", models.RollbackHandler),
    ("models/reproduce", models.ReproduceHandler),
    ("models/health", models.HealthHandler),
    ("models/health/report", models.HealthReportHandler),
    ("models/retrain", models.RetrainHandler),
]


def setup_routes(serverapp) -> None:
    web_app = serverapp.web_app
    web_app.settings["hybridhub"] = {
        "storage": StorageConfig(parent=serverapp),
        "code_home": CodeHomeConfig(parent=serverapp),
        "activity": activity.start_activity_monitor(serverapp),
    }
    base_url = web_app.settings["base_url"]
    handlers = [(url_path_join(base_url, NAMESPACE, path), handler) for path, handler in ROUTES]
    handlers.append((url_path_join(base_url, NAMESPACE, ".*"), NoSuchRouteHandler))  # a JSON 404, after the rest
    web_app.add_handlers(".*$", handlers)
