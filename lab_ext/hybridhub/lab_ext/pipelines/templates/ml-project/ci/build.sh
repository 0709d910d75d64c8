#!/bin/sh
# Build the model-server image with kaniko (no Docker daemon) and push it to the project's
# GitLab registry. HYBRIDHUB_LOCAL_RUN=true (set by the local backend) prints the command instead.
set -eu
IMAGE="${CI_REGISTRY_IMAGE}/model-server"
TAG="${CI_COMMIT_SHORT_SHA:-local}"
set -- --context "${CI_PROJECT_DIR}" --dockerfile "${CI_PROJECT_DIR}/Dockerfile" \
  --destination "${IMAGE}:${TAG}" --destination "${IMAGE}:latest" \
  --label "org.opencontainers.image.revision=${CI_COMMIT_SHA:-unknown}"
echo "build command: /kaniko/executor $*"
if [ "${HYBRIDHUB_LOCAL_RUN:-false}" = "true" ]; then
  echo "local run: the image is not built (no registry here); the context is ready:"
  ls model metrics.json Dockerfile
  exit 0
fi
mkdir -p /kaniko/.docker
# the job token authenticates to the registry; it is written for kaniko only, never printed
printf '{"auths":{"%s":{"username":"%s","password":"%s"}}}' \
  "${CI_REGISTRY}" "${CI_REGISTRY_USER}" "${CI_REGISTRY_PASSWORD}" > /kaniko/.docker/config.json
exec /kaniko/executor "$@"
