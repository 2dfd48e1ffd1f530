/**
 * Trains the iris sample's classifier and writes it to samples/iris/model/ (not committed: the demo
 * trains the same bytes when it seeds the model):
 *   npx tsc -p tsconfig.build.json && node dist/samples/iris/train.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { FEATURES, irisRows, isHeldOut, SPECIES } from './data.js';
import { IRIS_MODEL_FILE, trainIrisOnnx } from './model.js';

const rows = irisRows();
const model = trainIrisOnnx(rows.filter((r) => !isHeldOut(r.id)));
const heldOut = rows.filter((r) => isHeldOut(r.id));
const session = await InferenceSession.create(model);
const input = new Tensor('float32', Float32Array.from(heldOut.flatMap((r) => FEATURES.map((f) => r[f]))), [
  heldOut.length,
  FEATURES.length,
]);
const scores = (await session.run({ features: input })).logits?.data as Float32Array;
const right = heldOut.filter((row, n) => {
  const own = scores.subarray(n * SPECIES.length, (n + 1) * SPECIES.length);
  return SPECIES[own.indexOf(Math.max(...own))] === row.species;
}).length;
const dir = path.join(import.meta.dirname, '..', '..', '..', 'samples', 'iris', 'model');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, IRIS_MODEL_FILE), model);
console.log(
  `held-out accuracy ${(right / heldOut.length).toFixed(4)}; wrote ${model.length} bytes to ${dir}`,
);
