// The GPU pools: a Container Apps environment with workload profiles and one worker app per pool. A
// worker has no ingress (a Flex app cannot reach internal ingress without a VNet): it consumes its pool's
// queue, and KEDA scales it from 0 on that queue's length, reading it with the worker's identity.

@description('Unique suffix of the resource names.')
param resourceToken string

@description('Region of the environment (it must offer the GPU profile).')
param location string

@description('Tags of every resource.')
param tags object

@description('Name of the Log Analytics workspace the environment\'s logs go to.')
param logAnalyticsName string

@description('Serverless GPU profile of the workers, or none (they run on CPU in the Consumption profile).')
param gpuProfile string

@description('The pools: one worker app each.')
param pools { name: string, maxReplicas: int }[]

@description('Resource id of the workers\' user-assigned identity.')
param identityId string

@description('Client id of the workers\' user-assigned identity.')
param identityClientId string

@description('Name of the storage account holding the pools\' queues.')
param storageAccountName string

@description('Blob endpoint of the storage account.')
param storageBlobEndpoint string

@description('Queue endpoint of the storage account.')
param storageQueueEndpoint string

@description('Whether a GPU worker may fall back to scoring on CPU.')
param allowCpuFallback bool

@description('The worker image; empty: a placeholder until the image built from worker/Dockerfile is deployed.')
param image string

@description('Registry the worker image is pulled from.')
param registryName string

@minValue(1)
@description('Messages per replica before KEDA adds one: a run keeps four tries per script process on the queue (two a replica holds, one scoring and one fetching, and two waiting for it), so four times the process_count_per_node runs use.')
param queueLengthPerReplica int = 8

var hasGpu = gpuProfile != 'none'
var profileName = hasGpu ? 'gpu' : 'Consumption'
// What one replica gets: a serverless GPU profile hands out the whole machine; on CPU, a mid-sized share.
var replicaSize = {
  none: {
    cpu: json('2.0')
    memory: '4Gi'
  }
  'Consumption-GPU-NC8as-T4': {
    cpu: json('8.0')
    memory: '56Gi'
  }
  'Consumption-GPU-NC24-A100': {
    cpu: json('24.0')
    memory: '220Gi'
  }
}
var consumptionProfile = {
  name: 'Consumption'
  workloadProfileType: 'Consumption'
}
var gpuWorkloadProfile = {
  name: 'gpu'
  workloadProfileType: gpuProfile
}
// Container Apps' quickstart image: it idles until `azd deploy` (or postdeploy.sh) sets the worker image.
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'

// A replica scaled in (KEDA at a run's tail) or replaced gets SIGTERM, and this long before SIGKILL (Container
// Apps' default is 30 s): its tries in flight finish and report instead of reappearing on the queue, where each
// kill would count as one more delivery towards poisoning. The worker keeps 10 s of it for itself.
var terminationGraceSeconds = 300

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsName
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: 'cae-${resourceToken}'
  location: location
  tags: tags
  properties: {
    workloadProfiles: hasGpu ? [consumptionProfile, gpuWorkloadProfile] : [consumptionProfile]
    // Logs go through Azure Monitor (the diagnostic setting below), not the workspace's shared key.
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-workspace'
  scope: environment
  properties: {
    workspaceId: workspace.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

// 2025-01-01: the first stable API whose azureQueue rule has accountName and identity (2024-03-01 has only
// queueName, queueLength and auth: the rule would reach KEDA with no credential and never scale from zero).
resource worker 'Microsoft.App/containerApps@2025-01-01' = [
  for (pool, i) in pools: {
    name: 'ca-${pool.name}-${take(resourceToken, 8)}'
    location: location
    // azd deploys service `worker` (azure.yaml) to the first pool's app; postdeploy.sh copies its image to the others.
    // parallel-run-pool marks the worker apps: postdeploy.sh gives the worker image to these and no others.
    tags: union(tags, { 'parallel-run-pool': pool.name }, i == 0 ? { 'azd-service-name': 'worker' } : {})
    identity: {
      type: 'UserAssigned'
      userAssignedIdentities: {
        '${identityId}': {}
      }
    }
    properties: {
      environmentId: environment.id
      workloadProfileName: profileName
      configuration: {
        activeRevisionsMode: 'Single'
        registries: [
          {
            server: registry.properties.loginServer
            identity: identityId
          }
        ]
      }
      template: {
        containers: [
          {
            // Only the first container of a replica gets the GPU.
            name: 'worker'
            image: empty(image) ? placeholderImage : image
            // The image's entry point is `node dist/worker/main.js` (worker/Dockerfile): this names its pool.
            args: [
              '--pool'
              pool.name
            ]
            resources: replicaSize[gpuProfile]
            env: [
              {
                name: 'AzureWebJobsStorage__credential'
                value: 'managedidentity'
              }
              {
                name: 'AzureWebJobsStorage__clientId'
                value: identityClientId
              }
              {
                name: 'AzureWebJobsStorage__blobServiceUri'
                value: storageBlobEndpoint
              }
              {
                name: 'AzureWebJobsStorage__queueServiceUri'
                value: storageQueueEndpoint
              }
              {
                // A worker refuses a pool the deployment does not list, as the app does.
                name: 'PARALLEL_RUN_POOLS'
                value: join(map(pools, p => p.name), ',')
              }
              {
                name: 'PARALLEL_RUN_EXECUTION_PROVIDERS'
                value: hasGpu ? 'cuda,cpu' : 'cpu'
              }
              {
                name: 'PARALLEL_RUN_ALLOW_CPU_FALLBACK'
                value: allowCpuFallback ? 'true' : 'false'
              }
              {
                name: 'PARALLEL_RUN_WORKER_GRACE_SECONDS'
                value: string(terminationGraceSeconds - 10)
              }
            ]
          }
        ]
        terminationGracePeriodSeconds: terminationGraceSeconds
        scale: {
          // Nothing runs, and nothing is billed, while the pool's queue is empty.
          minReplicas: 0
          maxReplicas: pool.maxReplicas
          rules: [
            {
              name: 'minibatches'
              azureQueue: {
                accountName: storageAccountName
                queueName: 'minibatches-${pool.name}'
                queueLength: queueLengthPerReplica
                // KEDA reads the queue with the workers' identity: no connection string secret.
                identity: identityId
              }
            }
          ]
        }
      }
    }
  }
]

output environmentName string = environment.name
output appNames array = [for (pool, i) in pools: worker[i].name]
