"""The on-prem deploy's zero-downtime swap: a front proxy owns SERVE_PORT, two model containers
("blue" and "green") take turns behind it on loopback ports.

    python3 ci/serve_swap.py --image REGISTRY/model@sha256:... --model model

1. one deploy at a time on this machine (a lock file; waits up to DEPLOY_LOCK_WAIT seconds);
2. start the idle colour from the image on its loopback port, with the settings deploy.sh names
   (-e NAME, the request log's: the engine takes each value from this job's environment, so no
   value is on a command line);
3. wait until MLServer is ready (/v2/health/ready) AND the model is, in this very version
   (/v2/models/<name>/versions/<version>/ready);
4. the switch: nginx's upstream file (written atomically, mounted read-only into the front) names
   the serving colour and, as its backup, the idle one. Stopping the old colour (SIGTERM, -t 30)
   closes its socket at once while it finishes its requests (and the request log uploads its
   last lines): nginx sends every new request to the new colour. Then the new colour becomes the
   primary by a graceful reload (https://nginx.org/en/docs/control.html). The first deploy
   starts the front instead;
5. check through the front that the new version answers (its versioned readiness: the old
   server does not know that version).
Any failure before the switch removes the new container and leaves the old one serving; the job
fails with one line. Standard library only: the shell runner's python3.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

FRONT = "model-front"
LEGACY = "model-server"  # the single container of the deploy before the front existed
COLOURS = ("blue", "green")
CONTAINER_PORT = 8080  # MLServer's REST port in the model image
STOP_SECONDS = 30
# nginx 1.27.4 added keepalive_min_timeout (https://nginx.org/en/CHANGES, nginx/nginx#456): an old
# worker of a graceful reload no longer closes an idle keep-alive connection at once, so a request
# a client sends on it at that moment is answered (with "Connection: close") instead of reset
KEEPALIVE_MIN_TIMEOUT_SINCE = (1, 27, 4)


class DeployError(Exception):
    """Ends the job with one line."""


def setting(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


class Swap:
    def __init__(self, image: str, model: str, version: str, env_names: list[str] = ()) -> None:
        self.image, self.model, self.version, self.env_names = image, model, version, list(env_names)
        self.engine = setting("CONTAINER_ENGINE", "podman")
        self.dir = Path(setting("MODEL_SERVING_DIR", str(Path.home() / "model-serving")))
        self.serve_port = int(setting("SERVE_PORT", "8080"))
        self.serve_address = setting("SERVE_ADDRESS", "")  # empty: every interface, as a published port
        self.ports = {"blue": int(setting("SERVE_BLUE_PORT", "18081")), "green": int(setting("SERVE_GREEN_PORT", "18082"))}
        self.front_image = setting("FRONT_IMAGE", "docker.io/library/nginx:1.27-alpine")
        self.ready_timeout = float(setting("READY_TIMEOUT", "180"))
        # MLServer's readiness of this very version (V2 protocol: /v2/models/<name>/versions/<v>/ready)
        self.version_ready = f"/v2/models/{model}/versions/{version}/ready"
        self.front_version: tuple[int, ...] | None = None  # known once the front runs

    # -- the container engine (only flags podman and docker both have) --
    def engine_run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([self.engine, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            last = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise DeployError(f"{self.engine} {args[0]} failed ({done.returncode}): {last[-1] if last else ''}")
        return done

    def running(self, name: str) -> bool:
        done = self.engine_run("inspect", "--format", "{{.State.Running}}", name, check=False)
        return done.returncode == 0 and done.stdout.strip() == "true"

    def exists(self, name: str) -> bool:
        return self.engine_run("inspect", "--format", "{{.State.Running}}", name, check=False).returncode == 0

    def remove(self, name: str) -> None:
        self.engine_run("rm", "-f", name, check=False)  # a missing container is fine here

    def stop(self, name: str) -> None:
        """SIGTERM, SIGKILL after STOP_SECONDS (podman-stop(1)), then remove it."""
        if self.exists(name):
            self.engine_run("stop", "-t", str(STOP_SECONDS), name, check=False)
            self.remove(name)

    # -- files on the serving machine, mounted read-only into the front --
    def write(self, name: str, text: str) -> None:
        """Atomically: nginx reads either the old file or the new one, never half of it. The
        front mounts the directory, not the file (a file mount would keep the replaced inode)."""
        temporary = self.dir / f".{name}.tmp"
        with open(temporary, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.dir / name)

    def upstream(self, primary: str) -> str:
        """The serving colour, and the other one as nginx's backup: when the serving one stops
        listening (podman stop), every new request goes to the other, none fails
        (https://nginx.org/en/docs/http/ngx_http_upstream_module.html#server, "backup"). The
        serving one is never marked unavailable (max_fails=0): one failed connection does not
        send the requests of the next seconds to a backup that is not running."""
        backup = COLOURS[1 - COLOURS.index(primary)]
        return (
            "# written by ci/serve_swap.py: the model container the front sends requests to, and the\n"
            "# other colour, which takes them when this one stops listening\n"
            f"upstream model_server {{\n    server 127.0.0.1:{self.ports[primary]} max_fails=0;  # {primary}\n"
            f"    server 127.0.0.1:{self.ports[backup]} backup;  # {backup}\n    keepalive 16;\n}}\n"
        )

    def front_nginx_version(self) -> tuple[int, ...] | None:
        """The running front's nginx version (``nginx -v`` says "nginx version: nginx/1.27.5" on
        stderr); None while no front runs, () when it says something else."""
        if self.front_version is None and self.running(FRONT):
            done = self.engine_run("exec", FRONT, "nginx", "-v", check=False)
            found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", done.stderr + done.stdout)
            self.front_version = tuple(int(part) for part in found.groups()) if found else ()
        return self.front_version

    def server(self) -> str:
        """The front's server block. With nginx >= 1.27.4, ``keepalive_min_timeout 1s``: the old
        workers of a reload answer a request that arrives on an idle kept-alive connection instead of
        resetting it (an older nginx closes such connections at once: a client that keeps
        connections alive may then see one reset per reload, https://github.com/nginx/nginx/pull/437)."""
        listen = f"{self.serve_address}:{self.serve_port}" if self.serve_address else str(self.serve_port)
        version = self.front_nginx_version()
        keep_idle = "    keepalive_min_timeout 1s;\n" if version and version >= KEEPALIVE_MIN_TIMEOUT_SINCE else ""
        return (
            "# written by ci/serve_swap.py: the front owns SERVE_PORT\n"
            f"server {{\n    listen {listen};\n    client_max_body_size 64m;\n{keep_idle}"
            "    location / {\n        proxy_pass http://model_server;\n        proxy_http_version 1.1;\n"
            # a request the stopping colour never answered (refused or reset: it had closed its
            # socket) goes to the other colour, a prediction POST too; an HTTP error never does
            "        proxy_next_upstream error non_idempotent;\n"
            '        proxy_set_header Connection "";\n        proxy_set_header Host $host;\n'
            "        proxy_read_timeout 300s;\n    }\n}\n"
        )

    def active(self) -> dict:
        try:
            state = json.loads((self.dir / "active.json").read_text())
        except (OSError, ValueError):
            return {}
        return state if state.get("colour") in COLOURS else {}

    # -- HTTP checks --
    def answers(self, url: str) -> dict | None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read()
                return json.loads(body) if body.strip() else {}
        except (OSError, ValueError, urllib.error.HTTPError):
            return None

    def wait_ready(self, colour: str) -> None:
        base = f"http://127.0.0.1:{self.ports[colour]}"
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if (self.answers(f"{base}/v2/health/ready") is not None
                    and self.answers(f"{base}{self.version_ready}") is not None):  # fmt: skip
                return
            if not self.running(colour):
                raise DeployError(f"the new model server ({colour}) exited before it was ready")
            time.sleep(0.5)
        raise DeployError(f"the new model server ({colour}) was not ready after {self.ready_timeout:g} s")

    def serves_through_front(self, timeout: float = 30) -> bool:
        """The new version answers on SERVE_PORT: only the server that loaded it says it is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers(f"http://127.0.0.1:{self.serve_port}{self.version_ready}") is not None:
                return True
            time.sleep(0.2)
        return False

    # -- the steps --
    def start_colour(self, colour: str) -> None:
        self.remove(colour)  # a leftover of an interrupted deploy: never the one serving
        env = [arg for name in self.env_names for arg in ("-e", name)]  # the engine takes each value from here
        self.engine_run("run", "-d", "--name", colour, *env, "-p", f"127.0.0.1:{self.ports[colour]}:{CONTAINER_PORT}",
                        self.image)  # fmt: skip

    def start_front(self) -> None:
        self.remove(FRONT)
        self.engine_run("run", "-d", "--name", FRONT, "--network", "host", "--restart=always",
                        "-v", f"{self.dir}:/etc/nginx/conf.d:ro,Z", self.front_image)  # fmt: skip

    def reload_front(self) -> None:
        self.engine_run("exec", FRONT, "nginx", "-t")  # a broken file never reaches the workers
        self.engine_run("exec", FRONT, "nginx", "-s", "reload")

    def deploy(self) -> str:
        old = self.active()
        old_colour = old.get("colour") if old and self.running(old["colour"]) else None
        colour = COLOURS[1 - COLOURS.index(old_colour)] if old_colour else "blue"
        print(f"starting {self.model} {self.version} as {colour} on 127.0.0.1:{self.ports[colour]}", flush=True)
        previous_upstream = self.read("upstream.conf")
        try:
            self.start_colour(colour)
            self.wait_ready(colour)
            if old_colour and self.running(FRONT) and self.read("server.conf") == self.server():
                if previous_upstream != self.upstream(old_colour):  # the new colour as the backup first
                    self.write("upstream.conf", self.upstream(old_colour))
                    self.reload_front()
                switch = self.switch_by_stopping
            else:
                switch = self.switch_by_starting_the_front
        except (DeployError, OSError, subprocess.SubprocessError) as error:
            self.undo(colour, previous_upstream)
            kept = f"{old.get('version')} ({old_colour}) keeps serving" if old_colour else "nothing was serving"
            raise DeployError(f"{error}; {kept}") from None
        try:
            switch(colour, old_colour)
        except (DeployError, OSError, subprocess.SubprocessError) as error:
            if switch == self.switch_by_starting_the_front:
                self.undo(colour, previous_upstream)
            raise DeployError(str(error)) from None
        self.write("active.json", json.dumps({"colour": colour, "port": self.ports[colour], "image": self.image,
                                              "model": self.model, "version": self.version,
                                              "deployed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))  # fmt: skip
        self.stop(COLOURS[1 - COLOURS.index(colour)])  # a leftover, if any
        if not self.serves_through_front():
            raise DeployError(f"the front does not answer with {self.version} on port {self.serve_port}: re-run the "
                              "deploy of the version that served before")  # fmt: skip
        stopped = f"; stopped {old.get('version')} ({old_colour})" if old_colour else ""
        return f"serving {self.model} {self.version} on port {self.serve_port} ({colour}, {self.image}){stopped}"

    def switch_by_stopping(self, colour: str, old_colour: str) -> None:
        """The old colour stops listening at once on SIGTERM and finishes its requests; nginx sends
        every new one to its backup, the new colour. Then the new one becomes the primary (a
        graceful reload, https://nginx.org/en/docs/control.html). Switching by the reload alone
        would let old and new nginx workers take requests side by side for a moment, so a client
        could get the new version and then the old one again."""
        print(f"switching: stopping {old_colour} (-t {STOP_SECONDS}); the front sends new requests to {colour}", flush=True)
        self.stop(old_colour)
        self.write("upstream.conf", self.upstream(colour))
        self.reload_front()

    def switch_by_starting_the_front(self, colour: str, old_colour: str | None) -> None:
        """The first deploy (or a changed SERVE_PORT): the front starts, or reloads, with the new
        colour. The single container of the deploys before the front (`model-server`) gives up
        SERVE_PORT first: a gap of about a second, once; if the front does not answer, that
        container is started again."""
        self.write("upstream.conf", self.upstream(colour))
        self.write("server.conf", self.server())
        if self.running(FRONT):
            self.reload_front()
        else:
            legacy = self.running(LEGACY)
            if legacy:
                self.engine_run("stop", "-t", str(STOP_SECONDS), LEGACY, check=False)
            try:
                self.start_front()
                if not self.serves_through_front():
                    raise DeployError(f"the front does not answer with {self.version} on port {self.serve_port}")
            except DeployError as error:
                self.remove(FRONT)  # never a front left restarting on a port it cannot have
                if not legacy:
                    raise
                self.engine_run("start", LEGACY, check=False)
                raise DeployError(f"{error}; the earlier {LEGACY} container serves again") from None
            self.remove(LEGACY)
            if self.read("server.conf") != self.server():  # the front's nginx version is known now
                self.write("server.conf", self.server())
                self.reload_front()
        if old_colour:
            self.stop(old_colour)

    def read(self, name: str) -> str | None:
        path = self.dir / name
        return path.read_text() if path.is_file() else None

    def undo(self, colour: str, previous_upstream: str | None) -> None:
        """Back to what served before: the old upstream (reloaded if it was changed), no new container."""
        logs = self.engine_run("logs", "--tail", "20", colour, check=False)
        for line in (logs.stdout + logs.stderr).splitlines()[-20:]:
            print(f"  {colour}: {line}", file=sys.stderr)
        if previous_upstream is not None and self.read("upstream.conf") != previous_upstream:
            self.write("upstream.conf", previous_upstream)
            if self.running(FRONT):
                with contextlib.suppress(DeployError):
                    self.reload_front()
        self.remove(colour)


@contextlib.contextmanager
def deploy_lock(folder: Path, wait: float):
    """One deploy at a time on this machine: a second waits, then gives up with one line."""
    with open(folder / "deploy.lock", "w") as lock:
        deadline, told = time.monotonic() + wait, False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DeployError(f"another deploy is running on this machine (lock {folder / 'deploy.lock'})") from None
                if not told:
                    print("waiting for the deploy that is running on this machine", flush=True)
                    told = True
                time.sleep(0.2)
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="the model image, by digest")
    parser.add_argument("--model", default="model", help="the model folder (its model-settings.json)")
    parser.add_argument("-e", "--env", action="append", default=[], metavar="NAME",
                        help="a setting the model container gets from this environment, by name only")  # fmt: skip
    args = parser.parse_args(argv)
    if any(not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) for name in args.env):
        parser.error("-e takes a variable's name, never its value")
    try:
        settings = json.loads((Path(args.model) / "model-settings.json").read_text())
        name, version = settings["name"], settings["parameters"]["version"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"deploy failed: no model settings in {args.model}: {error}", file=sys.stderr)
        return 1
    swap = Swap(args.image, name, version, args.env)
    try:
        swap.dir.mkdir(parents=True, exist_ok=True)
        with deploy_lock(swap.dir, float(setting("DEPLOY_LOCK_WAIT", "600"))):
            print(swap.deploy())
    except (DeployError, OSError) as error:
        print(f"deploy failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
