/** Function names shared by orchestrators and the activities they call. */
export const activities = {
  plan: 'planRun',
  miniBatch: 'runMiniBatch',
  recordLost: 'recordLostMiniBatch',
  finalize: 'finalizeRun',
} as const;

export const orchestrators = {
  run: 'parallelRun',
  shard: 'parallelRunShard',
} as const;

/** Shard instance ids are derived from the run id, so the status API can find them. */
export function shardInstanceId(runId: string, shard: number): string {
  return `${runId}:shard-${shard}`;
}
