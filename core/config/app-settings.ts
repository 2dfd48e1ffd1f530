/**
 * The one list of app settings parallel-run reads: its names, who reads them, and how a deployment
 * provides them. `infra/` sets every `deploy: 'set'` setting for each of its readers, and
 * `test/infra/app-settings.test.ts` checks that against the Bicep and against the code.
 */

/** A process that reads app settings: the Functions app, or a pool's worker (Container Apps). */
export type SettingReader = 'functions' | 'worker';

/**
 * How a deployment to Azure provides a setting to one reader: `set` by the Bicep; left to the code's
 * default, which is right in Azure (a deployer may still set it); or `local` only (refused or
 * meaningless in Azure).
 */
export type Deploy = 'set' | 'default' | 'local';

export interface AppSetting {
  name: string;
  /** Who reads it, and how each gets it in Azure. */
  readBy: Partial<Record<SettingReader, Deploy>>;
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
  poolStartTimeout: 'PARALLEL_RUN_POOL_START_TIMEOUT',
  resultsQueue: 'PARALLEL_RUN_RESULTS_QUEUE',
  executionProviders: 'PARALLEL_RUN_EXECUTION_PROVIDERS',
  allowCpuFallback: 'PARALLEL_RUN_ALLOW_CPU_FALLBACK',
  workerGraceSeconds: 'PARALLEL_RUN_WORKER_GRACE_SECONDS',
  inbox: 'PARALLEL_RUN_INBOX',
} as const;

const setForBoth = { functions: 'set', worker: 'set' } as const;
const defaultForBoth = { functions: 'default', worker: 'default' } as const;

export const APP_SETTINGS: readonly AppSetting[] = [
  {
    name: SETTING.storage,
    readBy: { functions: 'local', worker: 'local' },
    description:
      'A storage connection string (Azurite locally). Never in Azure: the account refuses keys, the __ identity settings below are used instead.',
  },
  {
    name: SETTING.storageBlobUri,
    readBy: setForBoth,
    description: "The account's blob endpoint, reached with the managed identity.",
  },
  {
    name: SETTING.storageQueueUri,
    readBy: setForBoth,
    description: "The account's queue endpoint, reached with the managed identity.",
  },
  {
    name: SETTING.storageTableUri,
    readBy: { functions: 'set' },
    description: "The account's table endpoint: the Functions host keeps Durable Functions' history there.",
  },
  {
    name: SETTING.storageCredential,
    readBy: setForBoth,
    description: "'managedidentity': storage is reached with a managed identity, never a key.",
  },
  {
    name: SETTING.storageClientId,
    readBy: setForBoth,
    description:
      'The client id of the user-assigned identity to use (the app and the workers each have theirs).',
  },
  {
    name: SETTING.scripts,
    readBy: defaultForBoth,
    description:
      "The deployed scripts folder entry scripts are found in; default: the package's dist/samples/scripts.",
  },
  {
    name: SETTING.temp,
    readBy: defaultForBoth,
    description:
      "Scratch space for a mini-batch's files; default: /dev/shm where there is one, else the OS temp folder.",
  },
  {
    name: SETTING.localData,
    readBy: { functions: 'local', worker: 'local' },
    description:
      'The folder local datasets (input.local_path) must lie under; unset: local datasets are off.',
  },
  {
    name: SETTING.workerMemoryMb,
    readBy: defaultForBoth,
    description:
      "The most memory (MB) one worker process may use; default: the machine's memory less 1 GB, shared per core, at most 4096.",
  },
  {
    name: SETTING.pools,
    readBy: setForBoth,
    description:
      'The pools a run may name in compute, comma-separated (each has its queue minibatches-<name> and its workers); a worker refuses a pool not listed.',
  },
  {
    name: SETTING.poolStartTimeout,
    readBy: { functions: 'default' },
    description:
      "Seconds a try waits for a worker of its pool before it fails; default 600 (a GPU replica's cold start).",
  },
  {
    name: SETTING.resultsQueue,
    readBy: { functions: 'default' },
    description:
      'The queue pool workers answer this app on (each try names it); default minibatch-results. Apps sharing a storage account need one each.',
  },
  {
    name: SETTING.executionProviders,
    readBy: { functions: 'default', worker: 'set' },
    description:
      "onnxruntime's execution providers, in order: 'cuda,cpu' on a GPU profile, 'cpu' otherwise (the Functions app's default).",
  },
  {
    name: SETTING.allowCpuFallback,
    readBy: { worker: 'set' },
    description:
      "'true' lets a GPU worker score on the CPU when CUDA cannot start; 'false' fails its tries instead.",
  },
  {
    name: SETTING.workerGraceSeconds,
    readBy: { worker: 'default' },
    description:
      'Seconds a stopping worker gives its running tries; default 25 (Container Apps kills after 30).',
  },
  {
    name: SETTING.inbox,
    readBy: { functions: 'default' },
    description:
      'The name of the drop container (and its -done and -rejected siblings); default inbox, the containers the Bicep creates.',
  },
];

/** The settings the Bicep must set for `reader`. */
export function settingsToDeploy(reader: SettingReader): AppSetting[] {
  return APP_SETTINGS.filter((s) => s.readBy[reader] === 'set');
}
