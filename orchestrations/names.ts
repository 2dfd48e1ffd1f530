/** Function names shared by orchestrators and the activities they call. */
export const activities = {
  plan: 'planRun',
  miniBatch: 'runMiniBatch',
  /** Several consecutive small mini-batches in one activity (core/runner/execute-group.ts). */
  miniBatchGroup: 'runMiniBatchGroup',
  recordLost: 'recordLostMiniBatch',
  finalize: 'finalizeRun',
  signal: 'signalInstances',
  /** A pool run's try: put it on the pool's queue. */
  enqueueTry: 'enqueuePoolTry',
  /** A pool run's try got no result in time: give it up unless its worker is alive. */
  checkTry: 'checkPoolTry',
  lookAtInbox: 'lookAtInbox',
  startInboxBatch: 'startInboxBatch',
  prepareInboxRun: 'prepareInboxRun',
  settleInboxBatch: 'settleInboxBatch',
} as const;

/** External events between a run and its shards. */
export const events = {
  /** Shard → run: the shard's failure counts so far, so a threshold crossed across shards is seen at once. */
  shardFailures: 'shardFailures',
  /** Run → shard: stop scheduling (a threshold crossed, or a sibling failed), or stop at once (cancel). */
  stop: 'stop',
  /** Status API → run: cancel the run. Durable: it waits in the run's queue however early it comes. */
  cancel: 'cancel',
  /** Pool results function → shard: a worker's result of one try, named by `tryResultEvent`. */
  tryResult: 'tryResult',
  /** Inbox trigger → collector: a file was recorded as pending (a hint: the collector reads the truth from storage). */
  inboxWake: 'inboxWake',
} as const;

export const orchestrators = {
  run: 'parallelRun',
  shard: 'parallelRunShard',
  inboxCollector: 'inboxCollector',
  inboxBatch: 'inboxBatch',
} as const;

/** One collector per pipeline: concurrent drops into the same pipeline find the same instance. */
export function collectorInstanceId(pipeline: string): string {
  return `inbox-${pipeline}`;
}

/** The orchestration that runs one inbox batch and moves its files after. */
export function inboxBatchInstanceId(runId: string): string {
  return `${runId}:inbox`;
}

/** Shard instance ids are derived from the run id, so the status API can find them. */
export function shardInstanceId(runId: string, shard: number): string {
  return `${runId}:shard-${shard}`;
}

/**
 * The event that carries a pool worker's result of one try to its shard (orchestrations/poolTry.ts):
 * named by mini-batch and attempt, so the results function finds it from the result alone, and a
 * result of an attempt that has ended is never waited for again.
 */
export function tryResultEvent(index: number, attempt: number): string {
  return `${events.tryResult}-${index}-${attempt}`;
}
