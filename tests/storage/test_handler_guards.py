"""Every storage handler method carries @web.authenticated and @authorized (checked in the source)."""

import ast
from pathlib import Path

import pytest

from hybridhub.lab_ext import routes
from hybridhub.lab_ext.storage import handlers, upload_handler

pytestmark = pytest.mark.storage

HTTP_METHODS = {"get", "put", "post", "delete", "head", "patch", "options"}


def test_every_http_method_is_authenticated_and_authorized():
    seen = 0
    for module in (handlers, upload_handler):
        tree = ast.parse(Path(module.__file__).read_text())
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            for fn in cls.body:
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name in HTTP_METHODS:
                    decorators = [ast.unparse(d) for d in fn.decorator_list]
                    assert "web.authenticated" in decorators, (cls.name, fn.name)
                    assert any(d.startswith("authorized") for d in decorators), (cls.name, fn.name)
                    seen += 1
    assert seen >= 17


def test_every_storage_route_uses_a_storage_handler():
    storage_routes = [(path, h) for path, h in routes.ROUTES if path.startswith("storage/")]
    assert len(storage_routes) >= 13
    for path, handler in storage_routes:
        assert issubclass(handler, handlers.StorageHandler), path
        assert handler.auth_resource == "hybridhub", path
