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
} as const;

export function indexOfPart(name: string): number {
  return Number(name.slice(name.lastIndexOf('/') + 1).replace(/\.json$/, ''));
}
