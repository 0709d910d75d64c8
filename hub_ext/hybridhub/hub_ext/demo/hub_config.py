"""JupyterHub configuration of the demo: local spawner, shared-password logins, embedded store."""

from __future__ import annotations

from .identities import user_bucket
from .layout import DEMO_ADMIN, DEMO_USERS, SAMPLE_BUCKET, DemoPaths, DemoPorts
from .mlflow_accounts import MlflowAccounts, load_or_create_admin, workspace_of
from .preflight import find_binary
from .secrets_file import DemoSecrets

DEMO_EGRESS_PRICE_PER_GB = 13.05  # yen per GB out of the cloud (_configure_cost)


def configure(c, paths: DemoPaths, ports: DemoPorts, secrets: DemoSecrets, kube_url: str = "",
              direct_transfers: bool = True) -> None:
    """Fill a traitlets config ``c`` for the demo hub.

    ``direct_transfers``: browsers download from and upload to the store directly (presigned URLs on
    ``storage_browser_endpoint``), as in the reference layout; off, every transfer goes through the
    user server."""
    c.JupyterHub.ip = "127.0.0.1"
    c.JupyterHub.port = ports.public
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = ports.hub
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{ports.proxy_api}"
    c.ConfigurableHTTPProxy.command = [find_binary("configurable-http-proxy") or "configurable-http-proxy"]
    c.ConfigurableHTTPProxy.should_start = True
    c.JupyterHub.db_url = f"sqlite:///{paths.hub / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(paths.hub / "jupyterhub_cookie_secret")
    c.JupyterHub.cleanup_servers = True
    # hub pages (login, spawn, progress, home) in Japanese when the browser asks for it
    from hybridhub.hub_ext.pages import TEMPLATE_DIR

    c.JupyterHub.template_paths = [TEMPLATE_DIR]
    c.JupyterHub.cleanup_proxy = True

    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = secrets.user_password
    c.SharedPasswordAuthenticator.admin_password = secrets.admin_password
    c.Authenticator.allowed_users = set(DEMO_USERS)
    c.Authenticator.admin_users = {DEMO_ADMIN}

    c.JupyterHub.spawner_class = "hybridhub.spawner.local.HybridLocalSpawner"
    c.HybridLocalSpawner.home_dir_template = str(paths.users / "{username}")
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120
    c.HybridSpawner.storage_endpoint = f"http://127.0.0.1:{ports.store.s3}"
    # each user's server gets only her own keys (her bucket read/write, datasets read-only)
    c.HybridSpawner.storage_credentials_file = str(paths.storage_keys)
    c.HybridSpawner.storage_verify_tls = False
    c.HybridSpawner.storage_default_bucket = SAMPLE_BUCKET
    if direct_transfers:
        # the same store as the browser reaches it: on this machine, the same address; the store
        # answers CORS for the demo's pages only (cli.py starts it with browser_origins)
        c.HybridSpawner.storage_browser_endpoint = c.HybridSpawner.storage_endpoint
    c.HybridSpawner.git_remote_template = str(paths.git / "{username}.git")
    _configure_culler(c, ports)
    # the demo's model registry: the pipelines' jobs and the Models panel use it (MLflow client API),
    # each user with her own login and workspace; the model servers of a user's local runs log each
    # prediction to her own bucket
    c.Spawner.environment = {**dict(c.Spawner.get("environment", {})),
                             **registry_environment(paths, ports),
                             "HYBRIDHUB_PREDICTION_LOG_URI": prediction_log_uri}  # fmt: skip
    if kube_url:
        _configure_kube(c, paths, kube_url)
        _configure_cost(c, paths, ports)
    _configure_console(c)


def prediction_log_uri(spawner) -> str:
    """Where a user's local model servers log predictions: her own bucket, the only one she may write."""
    return f"s3://{user_bucket(spawner.user.name)}/predictions"


def registry_environment(paths: DemoPaths, ports: DemoPorts) -> dict:
    """The registry's entries of a user server's environment: the URI, and HER login and workspace.

    The password is made (with her MLflow user and workspace, idempotently) when the hub builds
    her server's environment, from the administrator credential only the hub side reads."""
    accounts = MlflowAccounts(mlflow_url(ports), load_or_create_admin(paths.mlflow_admin))
    return {
        "HYBRIDHUB_MLFLOW_TRACKING_URI": mlflow_url(ports),
        "HYBRIDHUB_MLFLOW_TRACKING_USERNAME": lambda spawner: spawner.user.name,
        "HYBRIDHUB_MLFLOW_TRACKING_PASSWORD": lambda spawner: accounts.ensure_user(spawner.user.name),
        "HYBRIDHUB_MLFLOW_WORKSPACE": lambda spawner: workspace_of(spawner.user.name),
    }


def browser_origins(ports: DemoPorts) -> tuple[str, ...]:
    """The origins of the demo's pages (hub and JupyterLab, one origin behind the proxy), by both
    names a person may type: the services that browsers call from those pages allow these only."""
    return (f"http://127.0.0.1:{ports.public}", f"http://localhost:{ports.public}")


def mlflow_url(ports: DemoPorts) -> str:
    return f"http://127.0.0.1:{ports.mlflow}"


def _configure_culler(c, ports: DemoPorts) -> None:
    """hybridhub's culler as a hub service: per-profile idle timeouts, warning first, least privilege."""
    import sys

    c.JupyterHub.services = [
        {
            "name": "hybridhub-culler",
            "command": [sys.executable, "-m", "hybridhub.hub_ext.culler", "--interval=60", "--warn-before=300"],
            "url": f"http://127.0.0.1:{ports.culler}",
            "oauth_no_confirm": True,
        }
    ]
    c.JupyterHub.load_roles = [
        {
            "name": "hybridhub-culler",
            "scopes": ["list:users", "read:users:name", "read:servers", "delete:servers"],
            "services": ["hybridhub-culler"],
        }
    ]
    # user servers report their activity to the culler with their own token (docs/culling.md)
    c.Spawner.environment = {
        **dict(c.Spawner.get("environment", {})),
        "HYBRIDHUB_CULLER_URL": f"http://127.0.0.1:{ports.culler}/services/hybridhub-culler/",
    }


def _configure_kube(c, paths: DemoPaths, kube_url: str) -> None:
    """HybridKubeSpawner against the stand-in; pods run jupyterhub-singleuser as local processes."""
    import sys

    c.JupyterHub.spawner_class = "hybridhub.spawner.kube.HybridKubeSpawner"
    c.HybridKubeSpawner.k8s_api_host = kube_url
    c.HybridKubeSpawner.namespace = "default"
    c.HybridKubeSpawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
    c.HybridKubeSpawner.working_dir = str(paths.users / "{username}")
    c.HybridKubeSpawner.default_url = "/lab"
    c.HybridKubeSpawner.cold_start_history_path = str(paths.hub / "cold-starts.json")


def _configure_cost(c, paths: DemoPaths, ports: DemoPorts) -> None:
    """The measured-cost service (it reads the stand-in's nodes) and the budget guard."""
    import os
    import sys

    from hybridhub.hub_ext.cost.guard import budget_pre_spawn_hook

    state = paths.hub / "hybridhub-cost.json"
    config = paths.hub / "hybridhub_cost_config.py"
    config.write_text(
        "# written by hybridhub demo --kube\n"
        f"c.CostService.kube_config_file = {os.environ.get('KUBECONFIG', '')!r}\n"
        "c.CostService.namespace = 'default'\n"
        "c.CostService.timezone = 'Asia/Tokyo'\n"
        "c.CostService.lb_price_per_hour = 3.36\n"
        "c.CostService.public_ip_price_per_hour = 0.67\n"
        "c.CostService.other_per_month = 200\n"
        # Azure's internet egress, first 10 TB a month: $0.087 per GB (azure.microsoft.com/pricing/
        # details/bandwidth/, docs/cost.md "Data transfer") at the 150 yen per dollar of the system
        # pool's price below (Standard_D2s_v5, $0.096 an hour = 14.4 yen); ingress is free
        f"c.CostService.egress_price_per_gb = {DEMO_EGRESS_PRICE_PER_GB!r}\n"
        "c.CostService.hub_poll_interval = 5\n"
        "c.CostService.extra_pools = {'system': {'vm_size': 'Standard_D2s_v5', 'vm_price_per_hour': 14.4}}\n"
        + warmup_config(paths)
    )
    c.JupyterHub.services.append(
        {
            "name": "hybridhub-cost",
            "url": f"http://127.0.0.1:{ports.cost}",
            "command": [sys.executable, "-m", "hybridhub.hub_ext.cost", f"--config={config}", f"--state={state}"],
            "oauth_no_confirm": True,
            "oauth_client_allowed_scopes": ["custom:hybridhub-cost:read"],
        }
    )
    c.JupyterHub.custom_scopes = {**dict(c.JupyterHub.get("custom_scopes", {})),
                                  "custom:hybridhub-cost:read": {"description": "Read the platform's cost figures."}}
    c.JupyterHub.load_roles.append(
        {"name": "hybridhub-cost", "scopes": ["list:users", "read:users", "read:servers"], "services": ["hybridhub-cost"]}
    )
    # users' servers report their data transfer with their own token (docs/cost.md "Data transfer"):
    # the hub puts access:services!service=hybridhub-cost in a server token only if its user holds it
    c.JupyterHub.load_roles.append({"name": "user", "scopes": ["self", "access:services!service=hybridhub-cost"]})
    c.Spawner.environment = {**dict(c.Spawner.get("environment", {})),
                             "HYBRIDHUB_COST_SERVICE_URL": cost_service_url(ports)}
    c.Spawner.pre_spawn_hook = budget_pre_spawn_hook
    c.BudgetGuard.summary_path = str(state.with_name("hybridhub-cost-summary.json"))
    # the cost service runs the warm-up (warmup_config): a GPU profile chosen on the form warms its node
    c.HybridSpawner.warm_on_intent_service = "hybridhub-cost"


def cost_service_url(ports: DemoPorts) -> str:
    """The cost service as user servers reach it (its own port, at its hub prefix)."""
    return f"http://127.0.0.1:{ports.cost}/services/hybridhub-cost/"


def warmup_config(paths: DemoPaths) -> str:
    """The warm-up of GPU nodes in the demo's cost service (docs/cost.md): it reads the GPU starts the
    spawner records (``warmup-starts.jsonl`` next to cold-starts.json) and creates its placeholder pods
    in the stand-in. Every day of the week is a working day here, so the demo shows a plan any day."""
    return (
        "c.WarmupService.enabled = True\n"
        f"c.WarmupService.cold_start_history_path = {str(paths.hub / 'cold-starts.json')!r}\n"
        f"c.WarmupService.plan_file = {str(paths.hub / 'warmup-plans.json')!r}\n"
        "c.WarmupPolicy.timezone = 'Asia/Tokyo'\n"
        "c.WarmupPolicy.workdays = [0, 1, 2, 3, 4, 5, 6]\n"
        f"c.WarmupPolicy.history_file = {str(paths.hub / 'warmup-starts.jsonl')!r}\n"
        f"c.WarmupPolicy.log_file = {str(paths.hub / 'warmup-log.jsonl')!r}\n"
    )


def _configure_console(c) -> None:
    """The admin console (docs/console.md) on a free loopback port: doctor, pools, cost, culling.

    Its role reads the service list (the navbar's Services menu, the culler's address) and the
    culler's decisions; nothing else. The doctor checks this very config file.
    """
    import sys

    from .ports import free_ports
    from .supervisor import HUB_CONFIG

    (port,) = free_ports(1)
    c.JupyterHub.services.append(
        {
            "name": "hybridhub-console",
            "url": f"http://127.0.0.1:{port}",
            "command": [sys.executable, "-m", "hybridhub.hub_ext.console", f"--hub-config={HUB_CONFIG}"],
            "oauth_no_confirm": True,
            "oauth_client_allowed_scopes": ["admin-ui"],  # the navbar's Admin link, for admins
        }
    )
    c.JupyterHub.custom_scopes = {**dict(c.JupyterHub.get("custom_scopes", {})),
                                  "custom:hybridhub-culler:read": {"description": "Read the culler's decisions."}}
    c.JupyterHub.load_roles.append(
        {
            "name": "hybridhub-console",
            "scopes": ["list:services", "read:services", "access:services!service=hybridhub-culler",
                       "custom:hybridhub-culler:read"],
            "services": ["hybridhub-console"],
        }
    )
