"""Each demo user's own corner of the demo's MLflow server: an MLflow user and a workspace.

The server runs MLflow's basic-auth app with workspaces (mlflow_server.py). Its administrator
credential is made once per demo data directory and kept 0600 in the demo's private folder
(``mlflow-admin.json``); only the demo's hub side reads it. With it the hub makes, for a hub user
``alice``, the MLflow user ``alice`` and the workspace ``user-alice`` with a role that grants her
``USE`` on that workspace and nothing else: MLflow then refuses her everywhere else (no role in
another workspace, and ``grant_default_workspace_access = false`` keeps the default workspace
closed). ``USE``, not ``MANAGE``: she reads her workspace, creates in it and owns what she creates
(MLflow's creator-as-owner), but is no workspace admin (a workspace admin may create MLflow users:
validate_can_create_user in mlflow/server/auth/__init__.py). Her password is derived from the demo's secret (HMAC), so the hub can hand it to her
server at every spawn without storing a table of passwords, and a restarted demo keeps it.

REST routes and bodies are those of MLflow 3.17.2's auth app and workspaces API:
mlflow/server/auth/routes.py, mlflow/server/auth/client.py (AuthServiceClient) and
mlflow/store/workspace/rest_store.py (``/api/3.0/mlflow/workspaces``). Plain ``urllib`` here: the
hub process does not import mlflow. Errors never carry a password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import DemoError
from .private_json import write_private_json

ADMIN_USERNAME = "hybridhub-admin"
OWNER_ROLE = "owner"  # the role in a user's workspace that she alone holds


def workspace_of(username: str) -> str:
    """The workspace of a hub user: ``user-<name>``. MLflow's workspace names are lowercase letters,
    digits and inner '-', at most 63 characters (WorkspaceNameValidator in
    mlflow/store/workspace/abstract_store.py): a name that is not one gets a short hash of itself, so
    two hub names never share a workspace."""
    slug = re.sub(r"[^a-z0-9]+", "-", username.lower()).strip("-")
    if slug == username and len(slug) <= 50:
        return f"user-{slug}"
    digest = hashlib.sha256(username.encode()).hexdigest()[:10]
    return "-".join(part for part in ("user", slug[:40].strip("-"), digest) if part)


@dataclass(frozen=True)
class MlflowAdmin:
    """The demo's MLflow administrator credential and the secret users' passwords derive from."""

    password: str
    user_secret: str
    flask_secret: str  # the server's CSRF key (MLFLOW_FLASK_SERVER_SECRET_KEY), stable across restarts
    username: str = ADMIN_USERNAME

    def user_password(self, username: str) -> str:
        digest = hmac.new(self.user_secret.encode(), f"mlflow-user:{username}".encode(), hashlib.sha256)
        return digest.hexdigest()

    def __repr__(self) -> str:  # never the secrets
        return f"MlflowAdmin(username={self.username!r})"


def load_or_create_admin(path: Path) -> MlflowAdmin:
    """The saved credential, or a new one written 0600 (a restarted demo keeps its accounts)."""
    path = Path(path)
    if path.exists():
        data = json.loads(path.read_text())
        return MlflowAdmin(data["password"], data["user_secret"], data["flask_secret"], data["username"])
    made = MlflowAdmin(secrets.token_urlsafe(24), secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_json(path, {"username": made.username, "password": made.password, "user_secret": made.user_secret,
                              "flask_secret": made.flask_secret})  # fmt: skip
    return made


class MlflowAccounts:
    """Makes users and their workspaces on one server, as its administrator (idempotent)."""

    def __init__(self, url: str, admin: MlflowAdmin, timeout: float = 10.0) -> None:
        self.url, self.admin, self.timeout = url.rstrip("/"), admin, timeout
        self._ready: set[str] = set()  # users made by this process: later spawns skip the round trips

    def _request(self, method: str, path: str, body: dict | None = None, params: str = "") -> tuple[int, dict]:
        auth = base64.b64encode(f"{self.admin.username}:{self.admin.password}".encode()).decode()
        request = urllib.request.Request(
            f"{self.url}{path}{'?' + params if params else ''}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"{}")
            except ValueError:
                return exc.code, {}
        except (urllib.error.URLError, OSError) as exc:
            raise DemoError(f"the model registry (MLflow) did not answer at {self.url}: {type(exc).__name__}") from None

    def _expect(self, what: str, status: int, body: dict, *ok: int) -> dict:
        if status in ok or (status in (400, 409) and body.get("error_code") == "RESOURCE_ALREADY_EXISTS"):
            return body
        raise DemoError(f"the model registry (MLflow) refused to {what}: HTTP {status} {body.get('error_code', '')}".strip())

    def ensure_user(self, username: str) -> str:
        """Her MLflow user with her password, her workspace, her owner role; returns the password."""
        if username == self.admin.username:  # her "password" would become the administrator's
            raise DemoError(f"the hub user {username!r} has the name of the model registry's administrator")
        password = self.admin.user_password(username)
        if username in self._ready:
            return password
        status, body = self._request("POST", "/api/2.0/mlflow/users/create", {"username": username, "password": password})
        if body.get("error_code") == "RESOURCE_ALREADY_EXISTS":  # made before: the password is (again) hers
            status, body = self._request("PATCH", "/api/2.0/mlflow/users/update-password",
                                         {"username": username, "password": password})  # fmt: skip
        self._expect(f"create the user {username!r}", status, body, 200)
        workspace = workspace_of(username)
        status, body = self._request("POST", "/api/3.0/mlflow/workspaces", {"name": workspace})
        self._expect(f"create the workspace {workspace!r}", status, body, 200, 201)
        role = self._owner_role(workspace)
        status, body = self._request("GET", "/api/3.0/mlflow/users/roles/list", params=f"username={username}")
        self._expect(f"list the roles of {username!r}", status, body, 200)
        if not any(r.get("id") == role for r in body.get("roles", [])):
            status, body = self._request("POST", "/api/3.0/mlflow/roles/assign", {"username": username, "role_id": role})
            self._expect(f"give {username!r} her workspace", status, body, 200)
        self._ready.add(username)
        return password

    def _owner_role(self, workspace: str) -> int:
        """The workspace's owner role (USE on the whole workspace), made once."""
        status, body = self._request("GET", "/api/3.0/mlflow/roles/list", params=f"workspace={workspace}")
        self._expect(f"list the roles of {workspace!r}", status, body, 200)
        for role in body.get("roles", []):
            if role.get("name") == OWNER_ROLE:
                return int(role["id"])
        status, body = self._request("POST", "/api/3.0/mlflow/roles/create", {"workspace": workspace, "name": OWNER_ROLE,
                                     "description": "The hub user this workspace belongs to."})  # fmt: skip
        role = int(self._expect(f"create the owner role of {workspace!r}", status, body, 200)["role"]["id"])
        status, body = self._request("POST", "/api/3.0/mlflow/roles/permissions/add", {
            "role_id": role, "resource_type": "workspace", "resource_pattern": "*", "permission": "USE"})  # fmt: skip
        self._expect(f"grant the owner role of {workspace!r}", status, body, 200)
        return role
