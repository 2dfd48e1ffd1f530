#!/bin/sh
# The step after the code is deployed (azd runs it as the postdeploy hook; after `az deployment sub create`
# and a package deploy, run it by hand with AZURE_RESOURCE_GROUP set):
#  1. subscribes the inbox blob trigger to the storage account's Event Grid topic (infra/inbox-events.bicep),
#     once the host has created the blobs_extension key the webhook needs;
#  2. gives every pool's worker app the worker image azd built (azd deploys it to the first pool's app only).
# It reads no storage key; the host key stays inside Azure Resource Manager.
set -eu

: "${AZURE_RESOURCE_GROUP:?set AZURE_RESOURCE_GROUP to the deployment's resource group}"
rg=$AZURE_RESOURCE_GROUP
here=$(dirname "$0")
app=${AZURE_FUNCTION_APP_NAME:-$(az functionapp list -g "$rg" --query "[0].name" -o tsv)}
topic=${AZURE_EVENT_GRID_TOPIC_NAME:-$(az eventgrid system-topic list -g "$rg" --query "[0].name" -o tsv)}

# The key appears once the host has started with the blob trigger: asking for the keys starts it.
echo "waiting for the blob trigger's webhook key on $app ..."
tries=0
until [ -n "$(az functionapp keys list -g "$rg" -n "$app" --query systemKeys.blobs_extension -o tsv 2>/dev/null)" ]; do
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then
    echo "no blobs_extension key on $app after 5 minutes: is the code deployed, with function inboxBlobCreated?" >&2
    exit 1
  fi
  sleep 10
done

echo "subscribing inbox/ to inboxBlobCreated ..."
az deployment group create -g "$rg" -n inbox-events -f "$here/../inbox-events.bicep" \
  -p functionAppName="$app" systemTopicName="$topic" -o none

image=${SERVICE_WORKER_IMAGE_NAME:-}
if [ -n "$image" ]; then
  # Only the worker apps (tagged by infra/modules/workers.bicep): other container apps in the group keep their images.
  for worker in $(az containerapp list -g "$rg" --query "[?tags.\"parallel-run-pool\" != null].name" -o tsv); do
    echo "worker $worker runs $image"
    az containerapp update -g "$rg" -n "$worker" --image "$image" -o none
  done
fi
echo "done: drop files under inbox/<pipeline>/ to start runs"
