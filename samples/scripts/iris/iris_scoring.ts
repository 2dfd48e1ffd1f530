/**
 * Entry script for the iris sample: a mini-batch of table rows (sepal and petal measurements) is
 * scored in one `session.run`; each row yields `{id, predicted, species}` (the label passed through,
 * so the output can be checked; null where the table has no such column). A row with a measurement
 * that is not a number is failed by position; a table without a feature column fails the whole try
 * (`column()` throws, naming the columns it has).
 */
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { InitContext, RunContext, TableColumns } from '../../../core/runner/contract.js';

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const SPECIES = ['setosa', 'versicolor', 'virginica'];
let session: InferenceSession | undefined;

export async function init(ctx: InitContext): Promise<void> {
  const dir = await ctx.getModel('iris');
  session = await InferenceSession.create(path.join(dir, 'iris.onnx'), { intraOpNumThreads: 1 });
}

/** The columns view: the features are read column by column, no object per row (README, "Tabular datasets"). */
export const tableView = 'columns';

/** A column the table may lack (a file without labels): null for every row then. */
function optional(batch: TableColumns, name: string): readonly unknown[] | undefined {
  return batch.columnNames.includes(name) ? batch.column(name) : undefined;
}

export async function run(batch: TableColumns, ctx: RunContext): Promise<Record<string, unknown>[]> {
  if (!session) throw new Error('run() before init(): no model session');
  const features = FEATURES.map((f) => batch.column(f));
  const values = new Float32Array(batch.length * FEATURES.length);
  const scored: number[] = [];
  for (let i = 0; i < batch.length; i++) {
    const row = features.map((column) => column[i]);
    if (row.some((v) => typeof v !== 'number')) {
      ctx.fail(i, `a measurement is not a number: ${JSON.stringify(row)}`);
      continue;
    }
    values.set(row as number[], scored.length * FEATURES.length);
    scored.push(i);
  }
  if (scored.length === 0) return [];
  const input = new Tensor('float32', values.subarray(0, scored.length * FEATURES.length), [
    scored.length,
    FEATURES.length,
  ]);
  const { logits } = await session.run({ features: input });
  const scores = logits?.data as Float32Array;
  const ids = optional(batch, 'id');
  const species = optional(batch, 'species');
  return scored.map((i, n) => {
    let best = 0;
    for (let c = 1; c < SPECIES.length; c++)
      if ((scores[n * SPECIES.length + c] ?? 0) > (scores[n * SPECIES.length + best] ?? 0)) best = c;
    return { id: ids?.[i] ?? null, predicted: SPECIES[best], species: species?.[i] ?? null };
  });
}
