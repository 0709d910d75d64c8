"""The server extension's status route through a real jupyter-server: authenticated, authorized, secret-free."""

import json

import pytest
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.storage


@pytest.fixture
def jp_server_config(monkeypatch):
    monkeypatch.setenv("HYBRIDHUB_S3_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HYBRIDHUB_S3_ACCESS_KEY", "AKIA-not-for-the-browser")
    monkeypatch.setenv("HYBRIDHUB_S3_SECRET_KEY", "very-secret-value")
    return {"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}}


async def test_status_reports_presence_not_secrets(jp_fetch):
    response = await jp_fetch("hybridhub", "status")
    body = json.loads(response.body)
    assert body["storage"] == {"configured": True, "endpoint": "http://127.0.0.1:9", "default_bucket": "", "prefix": ""}
    text = response.body.decode()
    assert "very-secret-value" not in text and "AKIA-not-for-the-browser" not in text


async def test_status_requires_a_token(jp_fetch):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("hybridhub", "status", headers={"Authorization": "token wrong"})
    assert info.value.code in (401, 403)



async def test_status_is_authorized_on_the_hybridhub_resource(jp_serverapp, jp_fetch):
    from jupyter_server.auth.authorizer import Authorizer

    class Deny(Authorizer):
        def is_authorized(self, handler, user, action, resource):
            return resource != "hybridhub"

    jp_serverapp.web_app.settings["authorizer"] = Deny(parent=jp_serverapp, identity_provider=jp_serverapp.identity_provider)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("hybridhub", "status")
    assert info.value.code == 403
    response = await jp_fetch("api", "status")  # other resources still allowed
    assert response.code == 200
