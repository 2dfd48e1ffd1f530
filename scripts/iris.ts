import { parse } from 'csv-parse/sync';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { RunView } from '../functions/api/runs.js';
import { listVersions, registerModel } from '../core/storage/models.js';
import { ensureContainer, storage } from '../core/storage/storage.js';
import { FEATURES, irisCsv, irisRows, isHeldOut } from '../samples/iris/data.js';
import { IRIS_MODEL_FILE, trainIrisOnnx } from '../samples/iris/model.js';
import type { ApiClient } from './client.js';
import { submitAndWatch } from './demo.js';
import { SAMPLE_CONTAINER } from './sample.js';

type Log = (line: string) => void;

const settings = (path: string, output: string) => ({
  run_name: `iris-${output.split('.')[0] ?? ''}`,
  entry_script: 'iris_scoring.ts',
  source_directory: 'iris',
  models: ['iris'],
  input: { type: 'table', container: SAMPLE_CONTAINER, path },
  mini_batch_size: '1KB',
  append_row_format: 'csv',
  append_row_file_name: output,
  process_count_per_node: 2,
});

/** The iris table as CSV and as Parquet (row groups of 30), and model `iris` trained on the rows not held out. */
async function seedIris(log: Log): Promise<void> {
  const rows = irisRows();
  const container = await ensureContainer(storage().blobs.getContainerClient(SAMPLE_CONTAINER));
  const csv = Buffer.from(irisCsv(rows));
  await container.getBlockBlobClient('iris/csv/iris.csv').upload(csv, csv.length);
  const columnData = [
    { name: 'id', data: rows.map((r) => r.id), type: 'INT32' as const },
    ...FEATURES.map((f) => ({ name: f, data: rows.map((r) => r[f]), type: 'DOUBLE' as const })),
    { name: 'species', data: rows.map((r) => r.species), type: 'STRING' as const },
  ];
  const parquet = Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize: 30 }));
  await container.getBlockBlobClient('iris/parquet/iris.parquet').upload(parquet, parquet.length);
  if ((await listVersions(storage(), 'iris')).length === 0) {
    const bytes = trainIrisOnnx(rows.filter((r) => !isHeldOut(r.id)));
    const info = await registerModel(storage(), 'iris', [{ name: IRIS_MODEL_FILE, bytes }], {
      description: 'Iris species from sepal and petal measurements: softmax regression as Gemm, Relu, Gemm',
      tags: { framework: 'onnx', input: 'features [N,4] float32', output: 'logits [N,3] float32' },
    });
    log(`registered model iris:${info.version}`);
  }
  log(
    `sample ready: ${rows.length} rows in ${SAMPLE_CONTAINER}/iris/csv/iris.csv and iris/parquet/iris.parquet`,
  );
}

/** Accuracy over the held-out rows of a finished run's CSV output. */
async function heldOutAccuracy(api: ApiClient, view: RunView, log: Log): Promise<number> {
  const text = await api.text(`/api/runs/${view.runId}/output`);
  const rows = parse<{ id: string; predicted: string; species: string }>(text, { columns: true });
  const held = rows.filter((r) => isHeldOut(Number(r.id)));
  const right = held.filter((r) => r.predicted === r.species).length;
  log(`  ${rows.length} rows scored; first: ${text.split('\n').slice(0, 3).join(' | ')}`);
  log(`  accuracy on the ${held.length} held-out rows: ${(right / held.length).toFixed(4)}`);
  return held.length === 0 ? 0 : right / held.length;
}

/** `npm run demo -- iris`: the iris table scored from CSV and from Parquet; accuracy on held-out rows. */
export async function runIris(api: ApiClient, log: Log): Promise<boolean> {
  log('\n== iris: a tabular dataset, scored a mini-batch at a time ==');
  await seedIris(log);
  let ok = true;
  for (const [path, output] of [
    ['iris/csv/', 'iris_from_csv.csv'],
    ['iris/parquet/', 'iris_from_parquet.csv'],
  ] as const) {
    log(`\n-- ${path} --`);
    const view = await submitAndWatch(api, settings(path, output), log);
    if (view.status !== 'Completed') {
      log(`run ${view.runId} ended ${view.status}: ${view.reason ?? 'no reason given'}`);
      ok = false;
      continue;
    }
    const t = view.summary?.totals;
    log(`  mini-batches ${t?.miniBatches ?? 0}, rows ${t?.items ?? 0} (${t?.itemsFailed ?? 0} failed)`);
    if ((await heldOutAccuracy(api, view, log)) < 0.9) ok = false;
  }
  return ok;
}
