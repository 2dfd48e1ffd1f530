/**
 * Where everything lives in the storage account (README, "Where things are"). Names are deterministic so a retried
 * activity overwrites its own output instead of adding a second copy.
 */
export const containers = {
  runs: 'runs',
  models: 'models',
  pipelines: 'pipelines',
  inbox: 'inbox',
} as const;

/**
 * The inbox's containers: files dropped under `<inbox>/<pipeline>/`, moved to `<inbox>-done/` after
 * their run or to `<inbox>-rejected/` with a reason; the collector's records in `<inbox>-state/`.
 * App setting PARALLEL_RUN_INBOX renames the four together (default `inbox`): two apps can share an
 * account, each with its own inbox.
 */
export interface InboxContainers {
  inbox: string;
  done: string;
  rejected: string;
  state: string;
}

export const DEFAULT_INBOX = containers.inbox;

export function inboxContainers(env: NodeJS.ProcessEnv = process.env): InboxContainers {
  const inbox = env.PARALLEL_RUN_INBOX?.trim() || DEFAULT_INBOX;
  return { inbox, done: `${inbox}-done`, rejected: `${inbox}-rejected`, state: `${inbox}-state` };
}

const pad = (n: number) => String(n).padStart(9, '0');

export const runPaths = {
  settings: (runId: string) => `${runId}/run.json`,
  manifestShard: (runId: string, shard: number) => `${runId}/manifest/shard-${pad(shard)}.json`,
  part: (runId: string, index: number) => `${runId}/parts/${pad(index)}`,
  partsPrefix: (runId: string) => `${runId}/parts/`,
  /** A CSV output's header line, composed before the parts. */
  outputHeader: (runId: string) => `${runId}/output/header.csv`,
  /** A CSV part written again under the output's columns (its own differ). */
  outputPart: (runId: string, index: number) => `${runId}/output/parts/${pad(index)}`,
  failure: (runId: string, index: number) => `${runId}/failures/${pad(index)}.json`,
  failuresPrefix: (runId: string) => `${runId}/failures/`,
  summary: (runId: string) => `${runId}/summary.json`,
  errors: (runId: string) => `${runId}/errors.jsonl`,
  overview: (runId: string) => `${runId}/logs/overview.txt`,
  scriptLog: (runId: string) => `${runId}/logs/user.log`,
  /** Who runs one try on a pool (core/compute/claims.ts). */
  claim: (runId: string, index: number, attempt: number) => `${runId}/pool/${pad(index)}-${attempt}.json`,
  /** The run that resumes this one: a run is resumed once (a second resume would redo the same work). */
  resumedBy: (runId: string) => `${runId}/resumed-by.json`,
  /** What the run was planned as (counts and shard refs): a resume plans the same. */
  plan: (runId: string) => `${runId}/plan.json`,
  /** The run's fingerprint and its input listing's digest (core/runner/fingerprint.ts). */
  fingerprint: (runId: string) => `${runId}/fingerprint.json`,
  /**
   * The Completed run a fingerprint reuses, written only once that run's summary is: one read finds
   * it. `_` cannot start a run id (newRunId), so no run's folder is ever this one.
   */
  reuseIndex: (fingerprint: string) => `_reuse/${fingerprint}.json`,
} as const;

export function indexOfPart(name: string): number {
  return Number(name.slice(name.lastIndexOf('/') + 1).replace(/\.json$/, ''));
}
