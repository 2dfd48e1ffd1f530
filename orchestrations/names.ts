/** Function names shared by orchestrators and the activities they call. */
export const activities = {
  plan: 'planRun',
  miniBatch: 'runMiniBatch',
  recordLost: 'recordLostMiniBatch',
  finalize: 'finalizeRun',
  signal: 'signalInstances',
} as const;

/** External events between a run and its shards. */
export const events = {
  /** Shard → run: the shard's failure counts so far, so a threshold crossed across shards is seen at once. */
  shardFailures: 'shardFailures',
  /** Run → shard: stop scheduling (a threshold crossed, or a sibling failed), or stop at once (cancel). */
  stop: 'stop',
  /** Status API → run: cancel the run. Durable: it waits in the run's queue however early it comes. */
  cancel: 'cancel',
} as const;

export const orchestrators = {
  run: 'parallelRun',
  shard: 'parallelRunShard',
} as const;

/** Shard instance ids are derived from the run id, so the status API can find them. */
export function shardInstanceId(runId: string, shard: number): string {
  return `${runId}:shard-${shard}`;
}
