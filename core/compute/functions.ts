import { executeMiniBatch, recordLostMiniBatch } from '../runner/execute.js';
import { endRun, warmPool } from '../runner/pools.js';
import { miniBatchItems } from '../runs/record.js';
import type { ComputeKind } from './kind.js';

/**
 * Compute `functions`: the try runs inside the `runMiniBatch` activity, on the run's pool of worker
 * processes in this Functions instance (core/runner/pools.ts, core/runner/execute.ts).
 */
export const functionsCompute: ComputeKind = {
  kind: 'functions',
  placement: 'activity',
  runTry: (storage, input) => executeMiniBatch(storage, input),
  recordLost: async (storage, input) => {
    await recordLostMiniBatch(storage, input);
    return (await miniBatchItems(storage, input.runId, input.shard, input.index)).length;
  },
  prepare: warmPool,
  endRun,
};
