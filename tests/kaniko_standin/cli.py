"""The kaniko stand-in's ``executor`` (a TEST DOUBLE, see __init__.py). Sources, in
GoogleContainerTools/kaniko: cmd/executor/cmd/root.go (the flags, the checks before the build and
their texts, exit: the error printed on stdout, exit 1), cmd/executor/main.go (a cobra error: exit
1), pkg/executor/push.go (CheckPushPermissions before the build, the digest file written before
the push, "Pushing image to", "Pushed <repo>@<digest>"), pkg/image/remote/remote.go ("Retrieving
image manifest"), README.md "Additional Flags" (--reproducible: "strip timestamps out of the built
image and make it reproducible"). Not emulated: root.go's "kaniko should only be run inside of a
container" check (the stand-in runs on the test's host), layer caching, other context schemes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dockerfile  # noqa: E402
import registry  # noqa: E402

# root.go addKanikoOptionsFlags: the flags this stand-in implements (long name -> shorthand)
VALUED = {"context": "c", "dockerfile": "f", "destination": "d", "digest-file": "", "label": "", "build-arg": "",
          "verbosity": "v"}  # fmt: skip
REPEATED = {"destination", "label", "build-arg"}
BOOLEAN = {"no-push", "reproducible", "cache", "force", "cleanup", "single-snapshot"}
# root.go's other flags (its HEAD, and use-new-run of older releases): kaniko knows them, the
# stand-in does not implement them
KNOWN_UNIMPLEMENTED = {
    "log-format", "log-timestamp", "whitelist-var-run", "context-sub-path", "bucket", "snapshot-mode",
    "custom-platform", "insecure", "skip-tls-verify", "insecure-pull", "skip-tls-verify-pull", "push-retry",
    "push-ignore-immutable-tag-errors", "image-fs-extract-retry", "image-download-retry", "kaniko-dir", "tar-path",
    "target", "no-push-cache", "cache-repo", "cache-dir", "image-name-with-digest-file",
    "image-name-tag-with-digest-file", "oci-layout-path", "compression", "compression-level", "compressed-caching",
    "cache-ttl", "insecure-registry", "skip-tls-verify-registry", "registry-certificate", "registry-client-cert",
    "registry-map", "registry-mirror", "skip-default-registry-fallback", "ignore-var-run", "skip-unused-stages", "git",
    "cache-copy-layers", "cache-run-layers", "ignore-path", "force-build-metadata", "skip-push-permission-check",
    "snapshotMode", "customPlatform", "tarPath", "use-new-run",
}  # fmt: skip
# Go's strconv.ParseBool, which pflag's boolean flags and root.go's KANIKO_NO_PUSH use
TRUE, FALSE = {"1", "t", "T", "TRUE", "true", "True"}, {"0", "f", "F", "FALSE", "false", "False"}
USAGE = "Usage:\n  executor [flags]\n  executor [command]\n\nUse \"executor [command] --help\" for more information about a command."


class CobraError(Exception):
    """An error cobra reports itself (spf13/cobra command.go ExecuteC: flag parsing,
    PersistentPreRunE): "Error: ..." and the usage on stderr, then main.go exits 1."""


class UnknownCommand(Exception):
    """cobra's legacyArgs for a root command with subcommands (kaniko has ``version``): an operand
    is an unknown command, told before any flag is parsed (ExecuteC: Find, then execute)."""


class Exit(Exception):
    """root.go exit(): the wrapped error on stdout (fmt.Println), exit 1."""


def operands(argv: list[str]) -> None:
    """cobra's stripFlags before Find: a flag without "=" that is not a boolean takes the next
    word as its value (an unknown one too); any other word is an operand, an unknown command."""
    booleans = {f"--{name}" for name in BOOLEAN}
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            rest and _unknown(rest[0])
            return
        if not arg.startswith("-") or arg == "-":
            _unknown(arg)
        if "=" not in arg and arg not in booleans and (arg.startswith("--") or len(arg) == 2) and rest:
            rest.pop(0)


def _unknown(word: str) -> None:
    raise UnknownCommand(f'unknown command "{word}" for "executor"')


def parse(argv: list[str]) -> dict:
    """pflag's syntax: --name value, --name=value, -x value, -x=value, -xvalue; booleans
    --name[=true|false] (a following word is an operand, not the value)."""
    shorthands = {short: name for name, short in VALUED.items() if short}
    options: dict = {name: [] for name in REPEATED}
    errors: list[Exception] = []
    operands(argv)
    rest = list(argv)
    while rest and not errors:
        arg = rest.pop(0)
        if arg.startswith("--"):
            name, has_value, value = arg[2:].partition("=")
            spelled = f"--{name}"
        else:
            letter, has_value, value = arg[1:2], len(arg) > 2, arg[2:].removeprefix("=")
            if letter not in shorthands:
                errors.append(CobraError(f"unknown shorthand flag: '{letter}' in {arg}"))
                continue
            name, spelled = shorthands[letter], f"'{letter}' in {arg}"
        if name in BOOLEAN:
            if has_value and value not in TRUE | FALSE:
                errors.append(CobraError(f'invalid argument "{value}" for "--{name}" flag: strconv.ParseBool: parsing "{value}": invalid syntax'))
            options[name] = not has_value or value in TRUE
        elif name in VALUED:
            if not has_value:
                if not rest:
                    errors.append(CobraError(f"flag needs an argument: {spelled}"))
                    continue
                value = rest.pop(0)
            if name in REPEATED:
                options[name].append(value)
            else:
                options[name] = value
        elif name in KNOWN_UNIMPLEMENTED:
            errors.append(Exit(f"--{name} is not supported by the stand-in"))
        else:
            errors.append(CobraError(f"unknown flag: --{name}"))
    if errors:
        raise errors[0]
    return options


def pre_run(options: dict) -> tuple[Path, Path]:
    """root.go PersistentPreRunE, in its order: KANIKO_NO_PUSH (valdiateFlags: a value ParseBool
    refuses gives false, its error is never returned), destinations, cache flags, context, Dockerfile."""
    if "KANIKO_NO_PUSH" in os.environ:
        options["no-push"] = os.environ["KANIKO_NO_PUSH"] in TRUE
    if not options.get("no-push") and not options["destination"]:
        raise CobraError("you must provide --destination, or use --no-push")
    if options.get("cache") and options.get("no-push"):  # cacheFlagsValid (no --cache-repo here)
        raise CobraError("cache flags invalid: if using cache with --no-push, specify cache repo with --cache-repo")
    source = options.get("context", "/workspace/")
    if source.startswith("dir://"):  # README "kaniko Build Contexts": Local Directory, dir://
        source = source[len("dir://"):]
    elif "://" in source:
        raise Exit(f"the build context {source!r} is not supported by the stand-in (a local folder only)")
    context = Path(source)
    given = options.get("dockerfile", "Dockerfile")
    for candidate in (Path(given), context / given):  # resolveDockerfilePath
        if candidate.is_file():
            return context, candidate.resolve()
    raise CobraError("error resolving dockerfile path: please provide a valid path to a Dockerfile within the build context with --dockerfile")


def build_args(options: dict) -> dict[str, str]:
    """--build-arg NAME=value; NAME alone takes the environment's value (root.go resolveEnvironmentBuildArgs)."""
    values = {}
    for item in options["build-arg"]:
        name, has_value, value = item.partition("=")
        values[name] = value if has_value else os.environ.get(name, "")
    return values


def labels(options: dict) -> dict[str, str]:
    found = {}
    for item in options["label"]:
        key, has_value, value = item.partition("=")
        if not has_value:
            raise Exit(f"--label {item!r}: a label is key=value")
        found[key] = value
    return found


def info(message: str) -> None:
    print(f"INFO[0000] {message}", file=sys.stderr, flush=True)  # logrus' text format, on stderr


def content_digest(root: Path, recipe: dict, image_labels: dict, user: str | None, reproducible: bool) -> str:
    """sha256 over the image: its base, every file (path, content, executable bit), labels and
    user, and its creation time unless --reproducible (README: it strips the timestamps)."""
    files = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files.append([str(path.relative_to(root)), hashlib.sha256(path.read_bytes()).hexdigest(), os.access(path, os.X_OK)])
    config = {"base": {k: v for k, v in recipe.items() if k != "rootfs"}, "files": files, "labels": image_labels,
              "user": user, "created": None if reproducible else time.time_ns()}  # fmt: skip
    return "sha256:" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def build(options: dict, context: Path, dockerfile_path: Path) -> tuple[str, dict]:
    """executor.DoBuild: the base image's filesystem plus the COPYed files, in a folder under the state."""
    steps = dockerfile.plan(dockerfile_path.read_text(), build_args(options))
    given_labels = labels(options)
    info(f"Retrieving image manifest {steps['base']}")
    base = registry.pull(steps["base"])
    if (context / ".dockerignore").exists():
        raise dockerfile.Unsupported(".dockerignore is not supported by the stand-in")
    images = registry.state() / "rootfs"
    images.mkdir(parents=True, exist_ok=True)
    work = images / f".building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    if base.get("rootfs"):
        shutil.copytree(base["rootfs"], work, symlinks=True)
    work.mkdir(exist_ok=True)
    try:
        for sources, dest in steps["copies"]:
            dockerfile.copy(context, sources, dest, work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    image_labels = {**base.get("labels", {}), **given_labels}
    user = steps["user"] or base.get("user")
    digest = content_digest(work, base, image_labels, user, bool(options.get("reproducible")))
    final = images / digest.split(":")[1]
    if final.exists():
        shutil.rmtree(work)
    else:
        os.replace(work, final)
    return digest, {**base, "rootfs": str(final), "labels": image_labels, "user": user}


def push(options: dict, digest: str, recipe: dict) -> None:
    """push.go DoPush: the digest file first, then each destination (and so its repo@digest)."""
    if options.get("digest-file"):
        Path(options["digest-file"]).write_text(digest)
    if options.get("no-push"):
        info("Skipping push to container registry due to --no-push flag")
        return
    refs = []
    for destination in options["destination"]:
        _, _, tag = registry.split(destination)
        name = destination.removesuffix(f":{tag}")  # as given (the registry's name for it: its refs)
        info(f"Pushing image to {name}:{tag}")
        refs += [f"{name}:{tag}", f"{name}@{digest}"]
        info(f"Pushed {name}@{digest}")
    registry.push(refs, recipe)


def main(argv: list[str]) -> int:
    if not registry.state().is_absolute():
        print("the kaniko stand-in needs PODMAN_STANDIN_STATE (the registry it shares with the podman stand-in)")
        return 1
    try:
        options = parse(argv)
        context, dockerfile_path = pre_run(options)
        if not options.get("no-push"):
            try:
                for destination in options["destination"]:
                    registry.check_push(destination)
            except registry.Refused as error:
                raise Exit("error checking push permissions -- make sure you entered the correct tag name, and "
                           f"that you are authenticated correctly, and try again: {error}") from None  # fmt: skip
        try:
            digest, recipe = build(options, context, dockerfile_path)
        except (registry.Refused, dockerfile.Unsupported, FileNotFoundError) as error:
            raise Exit(f"error building image: {error}") from None
        push(options, digest, recipe)
    except CobraError as error:
        print(f"Error: {error}\n{USAGE}", file=sys.stderr)
        return 1
    except UnknownCommand as error:
        print(f"Error: {error}\nRun 'executor --help' for usage.", file=sys.stderr)
        return 1
    except (Exit, registry.Refused) as error:
        print(error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
