// The storage account's Event Grid system topic. Its subscription to the inbox blob trigger is made by
// infra/inbox-events.bicep after the code is deployed: the webhook needs the blobs_extension key, which
// exists only once the host has started with the trigger (infra/scripts/postdeploy.sh).

@description('Name of the system topic.')
param name string

@description('Region of the storage account.')
param location string

@description('Tags of the topic.')
param tags object

@description('Resource id of the storage account whose events the topic carries.')
param storageAccountId string

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  // Its own identity writes an event it could not deliver (the app down for a day) into the rejected
  // container (infra/inbox-events.bicep): no key, and the dropped file is never forgotten in silence.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = topic.name
output principalId string = topic.identity.principalId
