#!/bin/sh
# Deploy the model, then record its metrics as the new production baseline for the test gate.
# On-prem (shell runner on the serving machine): record the image the build made (image.json:
# ref and digest) on the model's run and in lineage.json (ml/registry.py build; the kaniko build
# job has no Python), pull that very digest and swap it in behind the front proxy without
# dropping a request (ci/serve_swap.py: the idle colour starts, gets ready, takes the traffic).
# HYBRIDHUB_LOCAL_RUN=true (the local backend): hand the model folder to the local model server
# and ask it for a prediction (ci/local_deploy.py).
set -eu
if [ "${HYBRIDHUB_LOCAL_RUN:-false}" = "true" ]; then
  "${HYBRIDHUB_PYTHON:-python3}" ci/local_deploy.py model
else
  python3 ml/registry.py build --image-json image.json
  DIGEST="$(python3 -c 'import json; print(json.load(open("image.json"))["digest"])')"
  IMAGE="${CI_REGISTRY_IMAGE}/model@${DIGEST}"  # exactly what the build job pushed and recorded
  ENGINE="${CONTAINER_ENGINE:-podman}"
  echo "${CI_REGISTRY_PASSWORD}" | "${ENGINE}" login -u "${CI_REGISTRY_USER}" --password-stdin "${CI_REGISTRY}" >/dev/null
  "${ENGINE}" pull "${IMAGE}"
  # the request log (ml/prediction_log.py) writes where PREDICTION_LOG_URI says, with the store's
  # keys of the CI/CD variables: passed by name (-e NAME takes the value from this job's
  # environment), so no value is on a command line or in the image; unset: no request log
  set --
  if [ -n "${PREDICTION_LOG_URI:-}" ]; then
    set -- -e PREDICTION_LOG_URI -e S3_ENDPOINT -e AWS_ENDPOINT_URL -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY
  fi
  # the zero-downtime swap behind the front proxy (PIPELINE.md, "Deploy on-prem")
  python3 ci/serve_swap.py --image "${IMAGE}" --model model "$@"
fi
if [ -n "${PRODUCTION_METRICS_URI:-}" ]; then
  "${HYBRIDHUB_PYTHON:-python3}" ml/s3io.py put metrics.json "${PRODUCTION_METRICS_URI}"
fi
