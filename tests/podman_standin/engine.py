"""The podman stand-in's CLI (a TEST DOUBLE, see __init__.py). Sources, in containers/podman
docs/source/markdown/: podman.1.md (unknown command), podman-run.1.md.in (-d prints the id, exit
codes 125/126/127, --env, --publish, --volume, --network host, --restart), podman-stop.1.md.in
(SIGTERM, SIGKILL after --time, default 10), podman-rm.1.md.in (exit 1 missing, 2 running,
--force), podman-exec.1.md.in (exit codes; running containers only), podman-inspect.1.md.in,
podman-logs.1.md.in (--tail), podman-start.1.md.in, podman-pull.1.md.in (prints the image id), podman-login.1.md.in
(--password-stdin, "Login Succeeded!"). Error texts are podman's (libpod/define/errors.go).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(os.environ.get("PODMAN_STANDIN_STATE", ""))
STOP_SIGNAL_DEFAULT_TIMEOUT = 10  # podman-stop: "The default is 10 seconds"


class Fail(Exception):
    def __init__(self, message: str, code: int = 125) -> None:
        super().__init__(message)
        self.code = code


def load(name: str) -> dict:
    path = STATE / name
    return json.loads(path.read_text()) if path.is_file() else {}


def save(path: Path, value: dict) -> None:
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(value))
    os.replace(temporary, path)


def parse(args: list[str], command: str, valued: dict[str, str], flags: dict[str, str]) -> tuple[dict, list]:
    """Cobra's syntax, strictly: --flag value, --flag=value, -f value; flags end at the first
    operand (podman sets SetInterspersed(false) for run and exec). ``valued``/``flags`` map each
    spelling to its long name."""
    options: dict[str, list] = {}
    rest = list(args)
    while rest and rest[0].startswith("-") and rest[0] != "-":
        arg = rest.pop(0)
        if arg == "--":
            break
        name, _, inline = arg.partition("=")
        if name in flags and not inline:
            options.setdefault(flags[name], []).append(True)
        elif name in valued:
            if not inline and not rest:
                raise Fail(f"flag needs an argument: {name}\nSee 'podman {command} --help'")
            options.setdefault(valued[name], []).append(inline if inline else rest.pop(0))
        elif name.startswith("--"):
            raise Fail(f"unknown flag: {name}\nSee 'podman {command} --help'")
        else:
            raise Fail(f"unknown shorthand flag: '{name[1]}' in {arg}\nSee 'podman {command} --help'")
    return options, rest


# -- containers: a folder per container under containers/, found by name or id prefix --
def containers() -> list[Path]:
    folder = STATE / "containers"
    return sorted(f for f in folder.iterdir() if not f.name.startswith("removed-")) if folder.is_dir() else []


def find(name_or_id: str) -> Path | None:
    for folder in containers():
        config = json.loads((folder / "config.json").read_text())
        if config["name"] == name_or_id or (len(name_or_id) >= 3 and config["id"].startswith(name_or_id)):
            return folder
    return None


def no_such_container(name: str) -> Fail:
    return Fail(f'no container with name or ID "{name}" found: no such container')


def status(folder: Path) -> dict:
    path = folder / "state.json"
    return json.loads(path.read_text()) if path.is_file() else {"running": False}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is not running
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def running(folder: Path) -> bool:
    state = status(folder)
    return bool(state.get("running")) and alive(state.get("supervisor", -1))


def expand(value: str, config: dict) -> str:
    for key, host in config["placeholders"].items():
        value = value.replace("{" + key + "}", host)
    return value


def program(argv: list[str], config: dict) -> list[str]:
    """The image's programs: argv[0] is looked up in the recipe's ``programs`` (else PATH)."""
    head = config["recipe"].get("programs", {}).get(argv[0])
    return [expand(a, config) for a in (head or [argv[0]])] + [expand(a, config) for a in argv[1:]]


# -- the supervisor (podman's conmon): runs the container's process, applies --restart --
def supervise(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PODMAN_STANDIN")}, **config["env"]}
    argv = program(config["command"], config)
    delay = 0.1
    while True:
        with open(folder / "log", "ab") as log:
            try:
                child = subprocess.Popen(argv, env=env, cwd=config["placeholders"]["state"], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)  # fmt: skip
            except OSError as error:
                save(folder / "state.json", {"running": False, "exit_code": 127, "error": str(error)})
                return
        save(folder / "state.json", {"running": True, "pid": child.pid, "supervisor": os.getpid()})
        code = child.wait()
        try:  # the container's other processes end with its first one (its PID namespace)
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass
        stopping = (folder / "stopping").exists()
        # podman-run --restart: "always: Restart containers when they exit, regardless of status,
        # retrying indefinitely"; a container stopped by podman stop is not restarted
        if config["restart"] == "always" and not stopping:
            time.sleep(delay)  # a short back-off, so a crash loop does not spin
            delay = min(delay * 2, 2.0)
            continue
        save(folder / "state.json", {"running": False, "exit_code": code})
        return


def stop(folder: Path, seconds: float) -> None:
    """podman-stop: SIGTERM (the default stop signal), SIGKILL after ``seconds``."""
    state = status(folder)
    if not running(folder):
        return
    (folder / "stopping").write_text("")
    try:
        os.killpg(state["pid"], signal.SIGTERM)
    except OSError:
        pass
    deadline = time.monotonic() + seconds
    while alive(state["supervisor"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(state["supervisor"]):
        try:
            os.killpg(state["pid"], signal.SIGKILL)
        except OSError:
            pass
        while alive(state["supervisor"]):
            time.sleep(0.05)


# -- the subcommands --
def cmd_login(args: list[str]) -> int:
    options, rest = parse(args, "login", {"-u": "username", "--username": "username"},
                          {"--password-stdin": "password-stdin"})  # fmt: skip
    if len(rest) != 1:
        raise Fail("accepts at most 1 arg(s), received %d" % len(rest) if rest else "please provide a registry to log in to")
    registry, password = rest[0], sys.stdin.read().rstrip("\n") if options.get("password-stdin") else ""
    expected = load("registries.json").get(registry)
    user = (options.get("username") or [""])[-1]
    if expected is None or expected != {"user": user, "password": password}:
        raise Fail(f'logging into "{registry}": invalid username/password')
    logins = load("logins.json")
    logins[registry] = user
    save(STATE / "logins.json", logins)
    print("Login Succeeded!")
    return 0


def pull(ref: str) -> str:
    """podman-pull: the image id on stdout; a digest the registry does not have fails."""
    registry = ref.split("/")[0]
    if registry in load("registries.json") and registry not in load("logins.json"):
        raise Fail(f"initializing source docker://{ref}: reading manifest: unauthorized: authentication required")
    if ref not in load("images.json"):
        name, _, digest = ref.partition("@")
        raise Fail(f"initializing source docker://{ref}: reading manifest {digest or 'latest'} in {name}: manifest unknown")
    pulled = load("pulled.json")
    pulled[ref] = hashlib.sha256(ref.encode()).hexdigest()
    save(STATE / "pulled.json", pulled)
    return pulled[ref]


def cmd_pull(args: list[str]) -> int:
    _, rest = parse(args, "pull", {}, {})
    if len(rest) != 1:
        raise Fail(f"accepts 1 arg(s), received {len(rest)}")
    print(f"Trying to pull {rest[0]}...", file=sys.stderr)
    print(pull(rest[0]))
    return 0


def rootfs_placeholders(recipe: dict) -> dict[str, str]:
    """``{rootfs:/path}`` -> the image's filesystem folder + /path, for a recipe with ``rootfs``
    (an image a build pushed, e.g. the kaniko stand-in's: its base plus the COPYed files)."""
    root = recipe.get("rootfs")
    if not root:
        return {}
    texts = [*recipe["command"], *recipe.get("env", {}).values(), *recipe.get("files", {}).values()]
    texts += [a for argv in recipe.get("programs", {}).values() for a in argv]
    paths = {p.split("}")[0] for text in texts for p in text.split("{rootfs:")[1:]}
    return {f"rootfs:{path}": str(Path(root)) + path for path in paths}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cmd_run(args: list[str]) -> int:
    options, rest = parse(args, "run", {
        "--name": "name", "--network": "network", "--restart": "restart", "-e": "env", "--env": "env",
        "-p": "publish", "--publish": "publish", "-v": "volume", "--volume": "volume",
    }, {"-d": "detach", "--detach": "detach"})  # fmt: skip
    if not rest:
        raise Fail("requires at least 1 arg(s), only received 0")
    if not options.get("detach"):
        raise Fail("the podman stand-in runs containers detached only (-d)")
    image, command = rest[0], rest[1:]
    name = (options.get("name") or [""])[-1] or f"standin_{secrets.token_hex(4)}"
    taken = find(name)
    if taken is not None:
        other = json.loads((taken / "config.json").read_text())["id"]
        raise Fail(f'creating container storage: the container name "{name}" is already in use by {other}. '
                   "You have to remove that container to be able to reuse that name: that name is already in use")  # fmt: skip
    restart = (options.get("restart") or ["no"])[-1]
    if restart.split(":")[0] not in ("no", "on-failure", "always", "unless-stopped"):
        raise Fail(f"invalid restart policy: {restart}")
    network = (options.get("network") or ["bridge"])[-1]
    if network not in ("bridge", "host"):
        raise Fail(f"unable to find network with name or ID {network}: network not found")
    if ref_missing := image not in load("pulled.json"):  # --pull=missing, podman-run's default
        print(f"Trying to pull {image}...", file=sys.stderr)
    if ref_missing:
        pull(image)
    recipe = load("images.json")[image]
    container_id = secrets.token_hex(32)
    folder = STATE / "containers" / f"{time.time_ns()}-{container_id[:12]}"
    (folder / "root").mkdir(parents=True)
    placeholders = {"state": str(folder / "root")}
    for mapping in options.get("volume", []):
        parts = mapping.split(":")
        if len(parts) not in (2, 3) or not parts[1].startswith("/"):
            raise Fail(f"incorrect volume format {mapping!r}, should be host-dir:ctr-dir[:option]")
        if len(parts) == 3 and not set(parts[2].split(",")) <= {"ro", "rw", "z", "Z"}:
            raise Fail(f"invalid option type {parts[2]!r}")
        if not Path(parts[0]).exists():
            raise Fail(f"statfs {parts[0]}: no such file or directory")
        placeholders[f"mount:{parts[1]}"] = parts[0]
    for mapping in options.get("publish", []):
        parts = mapping.split(":")
        host_ip, host_port, container_port = (["0.0.0.0", *parts] if len(parts) == 2 else parts)[:3]
        if len(parts) not in (2, 3) or not host_port.isdigit() or not container_port.isdigit():
            raise Fail(f"invalid port format {mapping!r}")
        with socket.socket() as probe:  # the port forwarder binds it when the container starts
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host_ip, int(host_port)))
            except OSError:
                raise Fail(f"rootlessport listen tcp {host_ip}:{host_port}: bind: address already in use", 126) from None
        placeholders[f"port:{container_port}"] = host_port
    for text in recipe["command"] + list(recipe.get("env", {}).values()) + list(recipe.get("files", {}).values()):
        for port in {p.split("}")[0] for p in text.split("{port:")[1:]}:
            if f"port:{port}" not in placeholders:  # host network: the port itself; else private
                placeholders[f"port:{port}"] = port if network == "host" else str(free_port())
    placeholders.update(rootfs_placeholders(recipe))
    env = {}
    for item in options.get("env", []):
        key, has_value, value = item.partition("=")
        if has_value:
            env[key] = value
        elif key in os.environ:  # podman-run --env: without a value, the host's, only if set there
            env[key] = os.environ[key]
    config = {"id": container_id, "name": name, "image": image, "restart": restart, "network": network,
              "command": command or recipe["command"], "recipe": recipe, "placeholders": placeholders,
              "env": {**{k: expand(v, {"placeholders": placeholders}) for k, v in recipe.get("env", {}).items()}, **env}}  # fmt: skip
    save(folder / "config.json", config)
    for relative, text in recipe.get("files", {}).items():
        (folder / "root" / relative).write_text(expand(text, config))
    launch(folder)
    state = status(folder)
    if state.get("exit_code") == 127:  # podman-run: "127 ... contained command cannot be found"
        raise Fail(f"crun: executable file `{config['command'][0]}` not found in $PATH: No such file or directory: "
                   "OCI runtime attempted to invoke a command that was not found", 127)  # fmt: skip
    print(container_id)
    return 0


def cmd_exec(args: list[str]) -> int:
    _, rest = parse(args, "exec", {}, {})
    if len(rest) < 2:
        raise Fail(f"exec requires the name or ID of a container and a command: {len(rest)} arg(s) given")
    folder = find(rest[0])
    if folder is None:
        raise no_such_container(rest[0])
    if not running(folder):
        raise Fail("can only create exec sessions on running containers: container state improper")
    config = json.loads((folder / "config.json").read_text())
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PODMAN_STANDIN")}, **config["env"]}
    try:
        return subprocess.run(program(rest[1:], config), env=env, cwd=config["placeholders"]["state"]).returncode
    except OSError:  # podman-exec: 127 "Contained command cannot be found"
        raise Fail(f"crun: executable file `{rest[1]}` not found in $PATH: No such file or directory: "
                   "OCI runtime attempted to invoke a command that was not found", 127) from None  # fmt: skip


def each(names: list[str], missing: int, said: str = "") -> tuple[list[tuple[str, Path]], int]:
    """The containers named, and the exit code so far: ``missing`` for each that is not there
    (told on stderr, podman goes on with the others)."""
    found, code = [], 0
    for name in names:
        folder = find(name)
        if folder is None:
            print(f"Error: {said or no_such_container(name)}".replace("{name}", name), file=sys.stderr)
            code = max(code, missing)
        else:
            found.append((name, folder))
    return found, code


def cmd_inspect(args: list[str]) -> int:
    options, rest = parse(args, "inspect", {"--format": "format", "-f": "format"}, {})
    fmt = (options.get("format") or [""])[-1]
    if fmt != "{{.State.Running}}":
        raise Fail(f"the podman stand-in implements inspect --format '{{{{.State.Running}}}}' only, not {fmt!r}")
    found, code = each(rest, 125, 'no such object: "{name}"')
    for _, folder in found:
        print("true" if running(folder) else "false")
    return code


def cmd_logs(args: list[str]) -> int:
    options, rest = parse(args, "logs", {"--tail": "tail", "-n": "tail"}, {})
    if len(rest) != 1:
        raise Fail("the podman stand-in shows the logs of one container")
    folder = find(rest[0])
    if folder is None:
        raise no_such_container(rest[0])
    lines = (folder / "log").read_text(errors="replace").splitlines() if (folder / "log").is_file() else []
    tail = int((options.get("tail") or ["-1"])[-1])
    print("\n".join(lines[-tail:] if tail >= 0 else lines))
    return 0


def launch(folder: Path) -> None:
    """conmon's part: a supervisor process that runs the container's command (see supervise)."""
    subprocess.Popen([sys.executable, __file__, "--supervise", str(folder)], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 10
    while not (folder / "state.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.02)


def cmd_start(args: list[str]) -> int:
    """podman-start.1.md.in: starts stopped containers again (same command, same settings) and
    prints each as named; a running one is left as it is."""
    _, rest = parse(args, "start", {}, {})
    found, code = each(rest, 125)
    for name, folder in found:
        if not running(folder):
            (folder / "stopping").unlink(missing_ok=True)
            (folder / "state.json").unlink(missing_ok=True)
            launch(folder)
        print(name)
    return code


def cmd_stop(args: list[str]) -> int:
    options, rest = parse(args, "stop", {"-t": "time", "--time": "time"}, {})
    seconds = float((options.get("time") or [STOP_SIGNAL_DEFAULT_TIMEOUT])[-1])
    found, code = each(rest, 125)
    for name, folder in found:
        stop(folder, seconds)
        print(name)  # podman stop prints each container as it was named
    return code


def cmd_rm(args: list[str]) -> int:
    options, rest = parse(args, "rm", {"-t": "time", "--time": "time"}, {"-f": "force", "--force": "force"})
    found, code = each(rest, 1)  # podman-rm Exit Status: 1 "One of the specified containers did not exist"
    for name, folder in found:
        if running(folder):
            if not options.get("force"):  # exit 2: "One of the specified containers is paused or running"
                print(f"Error: cannot remove container {name} as it is running - running or paused containers "
                      "cannot be removed without force: container state improper", file=sys.stderr)  # fmt: skip
                code = 2
                continue
            stop(folder, float((options.get("time") or [STOP_SIGNAL_DEFAULT_TIMEOUT])[-1]))
        config = json.loads((folder / "config.json").read_text())
        os.replace(folder, folder.with_name("removed-" + folder.name))  # kept for the test's eyes
        print(config["id"] if name != config["name"] else name)
    return code


COMMANDS = {"login": cmd_login, "pull": cmd_pull, "run": cmd_run, "exec": cmd_exec, "inspect": cmd_inspect,
            "logs": cmd_logs, "start": cmd_start, "stop": cmd_stop, "rm": cmd_rm}  # fmt: skip


def main(argv: list[str]) -> int:
    if argv[:1] == ["--supervise"]:
        supervise(Path(argv[1]))
        return 0
    if not STATE.is_absolute():
        print("Error: the podman stand-in needs PODMAN_STANDIN_STATE", file=sys.stderr)
        return 125
    with open(STATE / "calls.jsonl", "a") as calls:  # what was on each command line, for the tests' eyes
        calls.write(json.dumps(argv) + "\n")
    if not argv or argv[0] not in COMMANDS:
        shown = " ".join(["podman", *argv[:1]])
        print(f"Error: unrecognized command `{shown}`\nTry 'podman --help' for more information", file=sys.stderr)
        return 125
    try:
        return COMMANDS[argv[0]](argv[1:])
    except Fail as error:
        print(f"Error: {error}", file=sys.stderr)
        return error.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
