/**
 * Entry script for the iris sample: a mini-batch of table rows (sepal and petal measurements) is
 * scored in one `session.run`; each row yields `{id, predicted, species}` (the label passed through,
 * so the output can be checked). A row with a measurement that is not a number is failed by name.
 */
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { InitContext, RunContext } from '../../../core/runner/contract.js';

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const SPECIES = ['setosa', 'versicolor', 'virginica'];
let session: InferenceSession | undefined;

export async function init(ctx: InitContext): Promise<void> {
  const dir = await ctx.getModel('iris');
  session = await InferenceSession.create(path.join(dir, 'iris.onnx'), { intraOpNumThreads: 1 });
}

export async function run(
  rows: Record<string, unknown>[],
  ctx: RunContext,
): Promise<Record<string, unknown>[]> {
  if (!session) throw new Error('run() before init(): no model session');
  const scored: Record<string, unknown>[] = [];
  const values: number[] = [];
  for (const row of rows) {
    const features = FEATURES.map((f) => row[f]);
    if (features.some((v) => typeof v !== 'number')) {
      ctx.fail(row, `a measurement is not a number: ${JSON.stringify(features)}`);
      continue;
    }
    values.push(...(features as number[]));
    scored.push(row);
  }
  if (scored.length === 0) return [];
  const input = new Tensor('float32', Float32Array.from(values), [scored.length, FEATURES.length]);
  const { logits } = await session.run({ features: input });
  const scores = logits?.data as Float32Array;
  return scored.map((row, n) => {
    let best = 0;
    for (let c = 1; c < SPECIES.length; c++)
      if ((scores[n * SPECIES.length + c] ?? 0) > (scores[n * SPECIES.length + best] ?? 0)) best = c;
    return { id: row.id, predicted: SPECIES[best], species: row.species ?? null };
  });
}
