// parallel-run in one subscription-scoped deployment:
//   az deployment sub create -l <region> -f infra/main.bicep -p environmentName=<name> [-p <param>=<value> …]
// or `azd up` (azure.yaml; infra/main.parameters.json maps azd's environment onto these parameters, so a later
// `azd provision` keeps the worker image azd built instead of going back to the placeholder). No storage key exists anywhere: every client uses a managed identity.
targetScope = 'subscription'

@minLength(1)
@maxLength(20)
@description('Name of this deployment (e.g. dev, prod): names the resource group and seeds the unique suffix of every resource name.')
param environmentName string

@description('Region of every resource. GPU profiles need a region that offers them and quota for them (README, Deploy to Azure).')
param location string = deployment().location

@description('Name of the resource group; default rg-parallel-run-<environmentName>.')
param resourceGroupName string = ''

@allowed([
  2048
  4096
])
@description('Memory of each Function App instance, in MB (Flex Consumption offers 2048 and 4096).')
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
@description('The most Function App instances Flex Consumption may run at once (40 to 1000): caps the CPU tries in flight and the cost.')
param maximumInstanceCount int = 40

@minValue(0)
@maxValue(10)
@description('Always-ready instances for the durable group. 0 keeps the cost at rest at nothing; 1 removes the cold start of a new run.')
param alwaysReadyInstances int = 0

@allowed([
  'none'
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
@description('The serverless GPU profile the pools\' workers run on, or none (workers then score on CPU in the Consumption profile). A GPU profile needs quota in the region.')
param gpuProfile string = 'Consumption-GPU-NC8as-T4'

@description('The worker pools a run may name in its compute setting: one Container App each, scaled from 0 to maxReplicas on its queue minibatches-<name>. Names: lower-case letters, digits and single hyphens, starting with a letter, at most 20 (a Container App name holds it). May be empty.')
param pools poolType[] = [
  {
    name: 'gpu'
    maxReplicas: 4
  }
]

@description('Whether a GPU worker may score on the CPU when CUDA cannot start (PARALLEL_RUN_ALLOW_CPU_FALLBACK). false fails its tries instead, so a broken GPU never goes unnoticed.')
param allowCpuFallback bool = false

@description('The worker image (<registry>/<repository>:<tag>); empty: a placeholder until `azd deploy` or the post-deploy script sets the image built from worker/Dockerfile.')
param workerImage string = ''

@minValue(1)
@maxValue(3650)
@description('Days after which the blobs a run keeps only while it runs and for resuming it (mini-batch parts and failure records, blobs tagged parallel-run=scratch in container runs) are deleted.')
param scratchRetentionDays int = 14

@minValue(30)
@maxValue(730)
@description('Days Log Analytics keeps logs.')
param logRetentionDays int = 30

@description('Object id of a user or group to grant data access to the storage account (uploading datasets and models from a laptop with az login); empty: none.')
param principalId string = ''

@description('One worker pool: its name (in compute, and in its queue\'s name) and its most replicas.')
type poolType = {
  @minLength(1)
  @maxLength(20)
  name: string
  @minValue(1)
  @maxValue(100)
  maxReplicas: int
}

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'parallel-run'
}
var functionAppName = 'func-${resourceToken}'
// The Flex plan reads its package from this container; reserved.ts keeps runs away from app-package-*.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-parallel-run-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module appIdentity 'modules/identity.bicep' = {
  name: 'identity-app'
  scope: rg
  params: {
    name: 'id-app-${resourceToken}'
    location: location
    tags: tags
  }
}

module workerIdentity 'modules/identity.bicep' = {
  name: 'identity-worker'
  scope: rg
  params: {
    name: 'id-worker-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    poolNames: map(pools, pool => pool.name)
    scratchRetentionDays: scratchRetentionDays
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    logRetentionDays: logRetentionDays
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: appIdentity.outputs.id
    identityClientId: appIdentity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyInstances: alwaysReadyInstances
    poolNames: map(pools, pool => pool.name)
  }
  // The host starts as soon as the site exists: its identity must already reach storage.
  dependsOn: [
    roles
  ]
}

module events 'modules/event-grid.bicep' = {
  name: 'event-grid'
  scope: rg
  params: {
    name: 'evgt-${resourceToken}'
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
  }
}

module workers 'modules/workers.bicep' = {
  name: 'workers'
  scope: rg
  params: {
    resourceToken: resourceToken
    location: location
    tags: tags
    logAnalyticsName: monitoring.outputs.logAnalyticsName
    gpuProfile: gpuProfile
    pools: pools
    identityId: workerIdentity.outputs.id
    identityClientId: workerIdentity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    allowCpuFallback: allowCpuFallback
    image: workerImage
    registryName: registry.outputs.name
  }
  // A replica pulls its image and reads its queue with the identity: the roles come first.
  dependsOn: [
    roles
  ]
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    registryName: registry.outputs.name
    appPrincipalId: appIdentity.outputs.principalId
    workerPrincipalId: workerIdentity.outputs.principalId
    userPrincipalId: principalId
    poolNames: map(pools, pool => pool.name)
    deploymentContainerName: deploymentContainerName
    topicPrincipalId: events.outputs.principalId
    rejectedContainerName: 'inbox-rejected'
  }
}

// The registry sits apart from the workers so that the roles on it can be granted before any worker starts.
module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    name: 'cr${resourceToken}'
    location: location
    tags: tags
  }
}

@description('The API\'s base URL: call it with a function key (README, Deploy to Azure).')
output API_BASE_URL string = 'https://${functionApp.outputs.defaultHostName}/api'
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_EVENT_GRID_TOPIC_NAME string = events.outputs.name
// azd pushes the worker image here (azure.yaml service worker).
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output WORKER_APP_NAMES array = workers.outputs.appNames
