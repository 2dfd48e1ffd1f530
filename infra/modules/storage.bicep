// The one storage account: datasets, models, runs and outputs; the Functions host and Durable Functions
// (blobs, queues, tables); the GPU pools' queues; the Flex plan's deployment package.

@description('Name of the account: 3-24 lowercase letters and digits.')
param name string

@description('Region of the account.')
param location string

@description('Tags of the account.')
param tags object

@description('Container the Flex Consumption plan reads the app package from.')
param deploymentContainerName string

@description('Names of the worker pools: each gets its queue and poison queue (the workers never create queues).')
param poolNames string[]

@description('Days after which blobs tagged parallel-run=scratch in container runs are deleted.')
param scratchRetentionDays int

// The service's containers (core/storage/layout.ts, reserved.ts) and the default output container.
var serviceContainers = [
  'runs'
  'outputs'
  'models'
  'pipelines'
  'inbox'
  'inbox-done'
  'inbox-rejected'
]

// One queue per pool for its tries, one for their poison messages, and the one the results come back on.
var poolQueues = flatten(map(poolNames, pool => [
  'minibatches-${pool}'
  'minibatches-${pool}-poison'
]))
var queues = concat(poolQueues, [
  'minibatch-results'
])

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    // No account keys and no SAS signed with them: every client uses Entra ID.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in concat(serviceContainers, [deploymentContainerName]): {
    parent: blobService
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource poolQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in queues: {
    parent: queueService
    name: queue
  }
]

// Durable Functions creates its own tables; the service is declared so that the endpoint is there.
resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

// A run's parts and failure records serve its fan-in and a later resume; after that they are dead weight.
// A lifecycle prefix cannot match runs/*/parts/ (no wildcards inside a prefix), so the rule selects them by
// blob index tag under container runs.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-run-scratch'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'runs/'
              ]
              blobIndexMatch: [
                {
                  name: 'parallel-run'
                  op: '=='
                  value: 'scratch'
                }
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: scratchRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
