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

const pad = (n: number) => String(n).padStart(9, '0');

export const runPaths = {
  settings: (runId: string) => `${runId}/run.json`,
  manifestShard: (runId: string, shard: number) => `${runId}/manifest/shard-${pad(shard)}.json`,
  part: (runId: string, index: number) => `${runId}/parts/${pad(index)}`,
  partsPrefix: (runId: string) => `${runId}/parts/`,
  failure: (runId: string, index: number) => `${runId}/failures/${pad(index)}.json`,
  failuresPrefix: (runId: string) => `${runId}/failures/`,
  summary: (runId: string) => `${runId}/summary.json`,
  errors: (runId: string) => `${runId}/errors.jsonl`,
  overview: (runId: string) => `${runId}/logs/overview.txt`,
  scriptLog: (runId: string) => `${runId}/logs/user.log`,
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
