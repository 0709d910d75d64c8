# JupyterHub config file the demo passes with -f; settings come from the demo's environment.
import os
from pathlib import Path

from hybridhub.hub_ext.demo.hub_config import configure
from hybridhub.hub_ext.demo.layout import DemoPaths, DemoPorts, demo_usernames
from hybridhub.hub_ext.demo.secrets_file import load_or_create

_paths = DemoPaths(Path(os.environ["HYBRIDHUB_DEMO_DIR"]))
configure(
    get_config(),  # noqa: F821 (provided by JupyterHub when it loads this file)
    _paths,
    DemoPorts.from_base(int(os.environ["HYBRIDHUB_DEMO_PORT"])),
    load_or_create(_paths.secrets, demo_usernames()),
    kube_url=os.environ.get("HYBRIDHUB_DEMO_KUBE_URL", ""),
    direct_transfers=os.environ.get("HYBRIDHUB_DEMO_DIRECT_TRANSFERS", "1") != "0",
)
