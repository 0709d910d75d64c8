"""HybridLocalSpawner: the same profiles and policy on one machine, through a real hub."""

from __future__ import annotations

import re

import pytest
from jupyterhub.objects import Hub

from hybridhub.spawner.local import HybridLocalSpawner
from hybridhub.spawner.profiles import ProfileCatalog
from tests.harness.hub import USER_PASSWORD, running_hub
from tests.hubclient import login, start_server, stop_server

from .conftest import HubUser

pytestmark = pytest.mark.spawner

RESTRICTED = """
c.ProfileCatalog.profiles = [
    dict(p, allowed_groups=["research"]) if p["slug"] == "gpu-a10-large" else p
    for p in __import__("hybridhub.spawner.profiles", fromlist=["x"]).DEFAULT_PROFILES
]
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("hub"), RESTRICTED) as hub:
        yield hub


def test_form_shows_allowed_profiles_with_price_and_wait(hub):
    session = login(hub.url, "alice", USER_PASSWORD)
    page = session.session.get(hub.url + "hub/spawn", timeout=30).content.decode("utf-8")
    slugs = re.findall(r'name="profile" id="hh-profile-[^"]+" value="([^"]+)"', page)
    assert slugs == ["cpu", "gpu-a10"]  # the large GPU is for the research group only
    assert "¥11.52 per hour · usually ready in about 3 min from zero" in page
    assert "1 時間あたり ¥74.70・停止状態から通常約 7 分で起動" in page  # Japanese shown when the browser asks
    assert "GPU ノートブック（A10）" in page and 'name="lang"' in page
    assert "¥74.70 per hour · usually ready in about 7 min from zero" in page


def test_forged_form_value_is_refused_with_the_reason(hub):
    session = login(hub.url, "alice", USER_PASSWORD)
    session.session.get(hub.url + "hub/spawn", timeout=30)
    xsrf = session.xsrf
    response = session.session.post(
        hub.url + "hub/spawn", data={"profile": "gpu-a10-large", "_xsrf": xsrf}, timeout=30, allow_redirects=False
    )
    assert "You may not use the profile &#39;gpu-a10-large&#39;" in response.text or \
        "You may not use the profile 'gpu-a10-large'" in response.text
    assert hub.api("GET", "users/alice").json()["servers"] == {}


def test_forged_api_request_is_refused(hub):
    session = login(hub.url, "bob", USER_PASSWORD)
    response = session.api("POST", "users/bob/server", json={"profile": "gpu-a10-large"})
    assert response.status_code == 403
    assert "You may not use the profile 'gpu-a10-large'. Choose one of: cpu, gpu-a10." in response.text
    assert hub.api("GET", "users/bob").json()["servers"] == {}


def test_spawn_with_a_profile_and_stop(hub):
    session = login(hub.url, "alice", USER_PASSWORD)
    start_server(session, "alice", options={"profile": "gpu-a10"})
    model = hub.api("GET", "users/alice").json()
    assert model["servers"][""]["user_options"] == {"profile": "gpu-a10"}
    assert session.session.get(hub.url + "user/alice/lab", timeout=60).status_code == 200  # OAuth with the server
    assert session.session.get(hub.url + "user/alice/api/status", timeout=30).status_code == 200
    stop_server(session, "alice")


def test_env_carries_the_profile_policy_and_storage():
    spawner = HybridLocalSpawner(user=HubUser("carol"), hub=Hub(), api_token="t", oauth_client_id="jupyterhub-user-carol",
                                 storage_endpoint="http://127.0.0.1:9000",
                                 storage_access_key="AK", storage_secret_key="SK")
    HybridLocalSpawner._apply_profile(spawner, {"profile": "gpu-a10"})
    env = spawner.get_env()
    profile = ProfileCatalog().get("gpu-a10")
    assert env["HYBRIDHUB_PROFILE"] == "gpu-a10"
    assert env["HYBRIDHUB_IDLE_TIMEOUT"] == str(profile.idle_timeout_seconds)
    assert env["HYBRIDHUB_MAX_AGE"] == str(profile.max_age_seconds)
    assert env["HYBRIDHUB_S3_ENDPOINT"] == "http://127.0.0.1:9000"
