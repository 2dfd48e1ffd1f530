import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InitContext, RunContext, ScriptLogger } from '../../../core/runner/contract.js';
import { init, run, shutdown } from './digit_identification.js';
import { sampleImages } from '../../mnist/images.js';
import { sourceModelDir } from '../../mnist/paths.js';

const MODEL_DIR = sourceModelDir();

const quiet: ScriptLogger = { debug() {}, info() {}, warn() {}, error() {} };

describe('digit_identification entry script', () => {
  let dir: string;
  const modelRefs: string[] = [];
  const initContext: InitContext = {
    runId: 'test-run',
    arguments: {},
    sideInputs: {},
    getModel: (ref) => {
      modelRefs.push(ref);
      return Promise.resolve(MODEL_DIR);
    },
    logger: quiet,
    executionProviders: ['cpu'],
    outputDir: tmpdir(),
    workerIndex: 0,
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mnist-entry-'));
    await init(initContext);
  });
  afterAll(async () => {
    await shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('returns "<name>.png: <digit>" for good files and fails the corrupt one', async () => {
    const images = sampleImages();
    const expected: string[] = [];
    const files: string[] = [];
    for (let i = 0; i < 5; i++) {
      const file = path.join(dir, `${i}.png`);
      files.push(file);
      if (i === 2) {
        // Fixed "random" bytes: a corrupt upload.
        await writeFile(file, Buffer.from(Array.from({ length: 300 }, (_, k) => (k * 131 + 17) % 256)));
        images.next();
        continue;
      }
      const image = images.next();
      if (image.done) throw new Error('ran out of sample images');
      await writeFile(file, image.value.bytes);
      expected.push(`${i}.png: ${image.value.label}`);
    }

    const failures: { item: unknown; reason: string }[] = [];
    const ctx: RunContext = {
      ...initContext,
      miniBatchIndex: 0,
      partitionKeyValues: {},
      fail: (item, reason) => failures.push({ item, reason }),
    };
    const rows = await run(files, ctx);

    expect(modelRefs).toEqual(['mnist']);
    expect(rows).toEqual(expected);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.item).toBe(files[2]);
    expect(failures[0]?.reason).toMatch(/not a 28×28 PNG/);
  });

  it('returns no rows for an empty mini-batch', async () => {
    const ctx: RunContext = {
      ...initContext,
      miniBatchIndex: 1,
      partitionKeyValues: {},
      fail: () => undefined,
    };
    expect(await run([], ctx)).toEqual([]);
  });
});
