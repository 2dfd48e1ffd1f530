// The Function App on Flex Consumption: the HTTP API, the orchestrators and the CPU tries. It reaches
// storage, its deployment package and Application Insights with its user-assigned identity only.

@description('Name of the Function App (its host name is <name>.azurewebsites.net).')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Region of the app.')
param location string

@description('Tags of the app.')
param tags object

@description('Resource id of the app\'s user-assigned identity.')
param identityId string

@description('Client id of the app\'s user-assigned identity.')
param identityClientId string

@description('Blob endpoint of the storage account (https://<account>.blob.core.windows.net/).')
param storageBlobEndpoint string

@description('Queue endpoint of the storage account.')
param storageQueueEndpoint string

@description('Table endpoint of the storage account.')
param storageTableEndpoint string

@description('Container the plan reads the app package from.')
param deploymentContainerName string

@description('Application Insights connection string (it cannot ingest alone: local auth is off).')
param applicationInsightsConnectionString string

@description('Memory of each instance, in MB.')
param instanceMemoryMB int

@description('The most instances at once.')
param maximumInstanceCount int

@description('Always-ready instances for the durable group (0: none, nothing runs at rest).')
param alwaysReadyInstances int

@description('Names of the worker pools, for PARALLEL_RUN_POOLS.')
param poolNames string[]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd deploys service `api` (azure.yaml) to the site carrying this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        // All Durable triggers scale as one group on Flex; keeping one warm costs money at rest.
        alwaysReady: alwaysReadyInstances == 0
          ? []
          : [
              {
                name: 'durable'
                instanceCount: alwaysReadyInstances
              }
            ]
      }
      // Node 22 in Azure; the code also runs on Node 20 (package.json engines), as the devhost does here.
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: {
      // Identity-based storage for the host, Durable Functions (queues and tables) and parallel-run's own
      // clients (core/storage/storage.ts): no connection string, no key.
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId
      AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
      AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
      AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
      // The pools a run may name in compute; each has its queue minibatches-<name> and its workers.
      PARALLEL_RUN_POOLS: join(poolNames, ',')
    }
  }

  // No publishing passwords: deployments go through Entra ID (azd, az functionapp deployment).
  resource ftp 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }

  resource scm 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
