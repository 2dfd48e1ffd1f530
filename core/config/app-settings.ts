/**
 * The one list of app settings parallel-run reads: its names, who reads them, and how a deployment
 * provides them. `infra/` sets every `deploy: 'set'` setting for each of its readers, and
 * `test/infra/app-settings.test.ts` checks that against the Bicep and against the code.
 */

/** A process that reads app settings: the Functions app, or a GPU pool's worker (Container Apps). */
export type SettingReader = 'functions' | 'worker';

/**
 * How a deployment to Azure provides the setting: `set` by the Bicep for each reader; left to its
 * `default`, which is right in Azure (a deployer may still set it); or `local` only (refused or
 * meaningless in Azure).
 */
export type Deploy = 'set' | 'default' | 'local';

export interface AppSetting {
  name: string;
  readBy: readonly SettingReader[];
  deploy: Deploy;
  description: string;
}

/** The names, for code that reads a setting (`env[SETTING.scripts]`). */
export const SETTING = {
  storage: 'AzureWebJobsStorage',
  storageBlobUri: 'AzureWebJobsStorage__blobServiceUri',
  storageQueueUri: 'AzureWebJobsStorage__queueServiceUri',
  storageTableUri: 'AzureWebJobsStorage__tableServiceUri',
  storageCredential: 'AzureWebJobsStorage__credential',
  storageClientId: 'AzureWebJobsStorage__clientId',
  scripts: 'PARALLEL_RUN_SCRIPTS',
  temp: 'PARALLEL_RUN_TEMP',
  localData: 'PARALLEL_RUN_LOCAL_DATA',
  workerMemoryMb: 'PARALLEL_RUN_WORKER_MEMORY_MB',
  pools: 'PARALLEL_RUN_POOLS',
  executionProviders: 'PARALLEL_RUN_EXECUTION_PROVIDERS',
  allowCpuFallback: 'PARALLEL_RUN_ALLOW_CPU_FALLBACK',
} as const;

const both: readonly SettingReader[] = ['functions', 'worker'];

export const APP_SETTINGS: readonly AppSetting[] = [
  {
    name: SETTING.storage,
    readBy: both,
    deploy: 'local',
    description:
      'A storage connection string (Azurite locally). Never in Azure: the account refuses keys, the __ identity settings below are used instead.',
  },
  {
    name: SETTING.storageBlobUri,
    readBy: both,
    deploy: 'set',
    description: "The account's blob endpoint, reached with the managed identity.",
  },
  {
    name: SETTING.storageQueueUri,
    readBy: both,
    deploy: 'set',
    description: "The account's queue endpoint, reached with the managed identity.",
  },
  {
    name: SETTING.storageTableUri,
    readBy: ['functions'],
    deploy: 'set',
    description: "The account's table endpoint: the Functions host keeps Durable Functions' history there.",
  },
  {
    name: SETTING.storageCredential,
    readBy: both,
    deploy: 'set',
    description: "'managedidentity': storage is reached with a managed identity, never a key.",
  },
  {
    name: SETTING.storageClientId,
    readBy: both,
    deploy: 'set',
    description:
      'The client id of the user-assigned identity to use (the app and the workers each have theirs).',
  },
  {
    name: SETTING.scripts,
    readBy: both,
    deploy: 'default',
    description:
      "The deployed scripts folder entry scripts are found in; default: the package's dist/samples/scripts.",
  },
  {
    name: SETTING.temp,
    readBy: both,
    deploy: 'default',
    description:
      "Scratch space for a mini-batch's files; default: /dev/shm where there is one, else the OS temp folder.",
  },
  {
    name: SETTING.localData,
    readBy: ['functions'],
    deploy: 'local',
    description:
      'The folder local datasets (input.local_path) must lie under; unset: local datasets are off.',
  },
  {
    name: SETTING.workerMemoryMb,
    readBy: both,
    deploy: 'default',
    description:
      "The most memory (MB) one worker process may use; default: the machine's memory less 1 GB, shared per core, at most 4096.",
  },
  {
    name: SETTING.pools,
    readBy: ['functions'],
    deploy: 'set',
    description:
      'The GPU pools a run may name in compute, comma-separated (each has its queue and workers); empty: none.',
  },
  {
    name: SETTING.executionProviders,
    readBy: ['worker'],
    deploy: 'set',
    description:
      "onnxruntime's execution providers for the pool, in order: 'cuda,cpu' on a GPU profile, 'cpu' otherwise.",
  },
  {
    name: SETTING.allowCpuFallback,
    readBy: ['worker'],
    deploy: 'set',
    description:
      "'true' lets a GPU worker score on the CPU when CUDA cannot start; 'false' fails its tries instead.",
  },
];

/** The settings the Bicep must set for `reader`. */
export function settingsToDeploy(reader: SettingReader): AppSetting[] {
  return APP_SETTINGS.filter((s) => s.deploy === 'set' && s.readBy.includes(reader));
}
