// The second step, after the code is deployed (infra/scripts/postdeploy.sh runs it): the Event Grid
// subscription that hands each blob created under inbox/ to the blob trigger inboxBlobCreated. Its webhook
// carries the host's blobs_extension system key, which exists only once the host has started with that
// trigger. This is the one key the infrastructure reads, and it never leaves Azure Resource Manager.

@description('Name of the Function App.')
param functionAppName string

@description('Name of the storage account\'s Event Grid system topic.')
param systemTopicName string

@description('The blob trigger function that takes the inbox\'s blobs.')
param functionName string = 'inboxBlobCreated'

@description('The container whose new blobs start runs.')
param inboxContainer string = 'inbox'

@description('Where an event that could not be delivered within its retries goes, beside the drops the inbox rejects.')
param rejectedContainer string = '${inboxContainer}-rejected'

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

var blobsExtensionKey = listKeys('${app.id}/host/default', '2024-04-01').systemKeys.blobs_extension

resource inbox 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'inbox-to-${functionName}'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${app.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${blobsExtensionKey}'
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${inboxContainer}/'
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    // After a day of failed deliveries the event is kept, not dropped: the topic writes it (as JSON naming
    // the file) with its own identity into the rejected container, where the user looks for refused drops.
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: topic.properties.source
          blobContainerName: rejectedContainer
        }
      }
    }
  }
}
