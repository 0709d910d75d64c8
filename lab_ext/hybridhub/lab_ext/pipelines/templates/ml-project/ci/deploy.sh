#!/bin/sh
# Deploy on-prem (shell runner on the serving machine): pull the image, replace the container,
# then record the deployed model's metrics as the new production baseline for the test gate.
set -eu
IMAGE="${CI_REGISTRY_IMAGE}/model-server:${CI_COMMIT_SHORT_SHA:-local}"
ENGINE="${CONTAINER_ENGINE:-podman}"
if [ "${HYBRIDHUB_LOCAL_RUN:-false}" = "true" ]; then
  echo "local run: would run: ${ENGINE} pull ${IMAGE}"
  echo "local run: would run: ${ENGINE} run -d --replace --name model-server -p ${SERVE_PORT}:8080 ${IMAGE}"
else
  echo "${CI_REGISTRY_PASSWORD}" | "${ENGINE}" login -u "${CI_REGISTRY_USER}" --password-stdin "${CI_REGISTRY}" >/dev/null
  "${ENGINE}" pull "${IMAGE}"
  "${ENGINE}" rm -f model-server >/dev/null 2>&1 || true
  "${ENGINE}" run -d --name model-server --restart=always -p "${SERVE_PORT}:8080" "${IMAGE}"
fi
if [ -n "${PRODUCTION_METRICS_URI:-}" ]; then
  python3 ml/s3io.py put metrics.json "${PRODUCTION_METRICS_URI}"
fi
echo "deployed ${IMAGE}"
