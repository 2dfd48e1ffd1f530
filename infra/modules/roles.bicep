// Who may do what, and nothing more. The app runs the Functions host and Durable Functions (blob leases and
// containers, queues, history tables) and publishes telemetry; a worker reads a try's inputs and writes its
// rows (blobs, never the app package), takes, hides and deletes messages on its pool's queue only, sends
// to its poison queue and the results queue, and pulls its image. The storage account's Event Grid topic writes
// the inbox events it could not deliver into the rejected container.

@description('Name of the storage account.')
param storageAccountName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Name of the container registry.')
param registryName string

@description('Principal id of the app\'s identity.')
param appPrincipalId string

@description('Principal id of the workers\' identity.')
param workerPrincipalId string

@description('Object id of a user or group granted data access for uploads from a laptop; empty: none.')
param userPrincipalId string

@description('Principal id of the Event Grid system topic\'s identity: it dead-letters undeliverable inbox events.')
param topicPrincipalId string

@description('Container that receives what the inbox rejects, and the inbox events Event Grid could not deliver.')
param rejectedContainerName string

@description('Names of the worker pools: the workers\' queue roles are granted on their queues only.')
param poolNames string[]

@description('Container the Flex plan reads the app package from: the workers may not write there.')
param deploymentContainerName string

// Built-in role definition ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var role = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
}

// Owner, not Contributor: the host manages blob leases and its own containers' access.
var appStorageRoles = [
  role.storageBlobDataOwner
  role.storageQueueDataContributor
  role.storageTableDataContributor
]

// A worker's blob writes reach every container but the app package's: an identity that could replace
// the package would run its code as the app's identity (blob owner, queue and table contributor).
var blobWrites = [
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action'
]
var notBlobWrite = join(map(blobWrites, a => '!(ActionMatches{\'${a}\'})'), ' AND ')
var workerBlobCondition = '((${notBlobWrite}) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringNotEquals \'${deploymentContainerName}\'))'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource poolQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = [
  for pool in poolNames: {
    parent: queueService
    name: 'minibatches-${pool}'
  }
]

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = [
  for pool in poolNames: {
    parent: queueService
    name: 'minibatches-${pool}-poison'
  }
]

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource rejectedContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: rejectedContainerName
}

resource resultsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: 'minibatch-results'
}

resource appStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in appStorageRoles: {
    name: guid(account.id, appPrincipalId, roleId)
    scope: account
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, appPrincipalId, role.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, workerPrincipalId, role.storageBlobDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.storageBlobDataContributor)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
    conditionVersion: '2.0'
    condition: workerBlobCondition
  }
}

// Its pool's queue: peek (KEDA's length too), receive, update (the heartbeat that keeps a message hidden:
// Update Message needs messages/write, which Storage Queue Data Message Processor lacks) and delete.
resource workerPoolQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (pool, i) in poolNames: {
    name: guid(poolQueue[i].id, workerPrincipalId, role.storageQueueDataContributor)
    scope: poolQueue[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.storageQueueDataContributor)
      principalId: workerPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Sending only: a poisoned try's message, and every try's result.
resource workerPoisonQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (pool, i) in poolNames: {
    name: guid(poisonQueue[i].id, workerPrincipalId, role.storageQueueDataMessageSender)
    scope: poisonQueue[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.storageQueueDataMessageSender)
      principalId: workerPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource workerResultsQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resultsQueue.id, workerPrincipalId, role.storageQueueDataMessageSender)
  scope: resultsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.storageQueueDataMessageSender)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, workerPrincipalId, role.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.acrPull)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The topic writes an event it gave up delivering into the rejected container, and nowhere else.
resource topicDeadLetters 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rejectedContainer.id, topicPrincipalId, role.storageBlobDataContributor)
  scope: rejectedContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.storageBlobDataContributor)
    principalId: topicPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource userStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(account.id, userPrincipalId, role.storageBlobDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.storageBlobDataContributor)
    principalId: userPrincipalId
  }
}
