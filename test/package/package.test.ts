import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import yauzl from 'yauzl';
import { spawnDevHostProcess, type DevHostProcess } from '../../devhost/process.js';
import { sampleImages } from '../../samples/mnist/images.js';
import { sourceModelDir } from '../../samples/mnist/paths.js';
import { tutorialSettings } from '../../scripts/demo.js';
import { buildPackage, type Package } from '../../scripts/package.js';
import { call, repoRoot, uniqueNames } from '../support/devhost.js';
import { runToEnd } from '../support/pipeline.js';

// The deployable artifact itself, proven to run: `npm run package`'s zip, unzipped into an empty
// folder, runs the MNIST tutorial on the devhost. Only the app comes from the zip; the devhost is the
// repository's own tool.
const IMAGES = 300;
const work = mkdtempSync(path.join(os.tmpdir(), 'parallel-run-package-'));
const unzipped = path.join(work, 'unzipped');
const names = uniqueNames();
const container = `pkg-${names.hub.toLowerCase()}`;
let built: Package;
let entries: string[];
let host: DevHostProcess | undefined;

/** Extracts every entry of `zip` under `into` (yauzl refuses absolute and `..` names). */
async function unzip(zip: string, into: string): Promise<string[]> {
  const file = await yauzl.openPromise(zip, { lazyEntries: true });
  const names: string[] = [];
  try {
    for await (const entry of file.eachEntry()) {
      names.push(entry.fileName);
      if (entry.fileName.endsWith('/')) continue;
      const target = path.join(into, entry.fileName);
      mkdirSync(path.dirname(target), { recursive: true });
      await pipeline(await file.openReadStreamPromise(entry), createWriteStream(target));
    }
  } finally {
    file.close();
  }
  return names;
}

beforeAll(async () => {
  built = await buildPackage(repoRoot, path.join(work, 'out'));
  entries = await unzip(built.zip, unzipped);
}, 600_000);

afterAll(async () => {
  await host?.kill();
  rmSync(work, { recursive: true, force: true });
});

describe('the deployable package (npm run package)', () => {
  it('holds host.json, a production package.json, the compiled app and the deployed scripts', () => {
    // azure.yaml's `dist` (.package/app) is this staged folder when run as npm run package.
    expect(built.stage).toBe(path.join(work, 'out', 'app'));
    expect(entries).toEqual(
      expect.arrayContaining([
        'host.json',
        'package.json',
        'dist/functions/api/runs.js',
        'dist/orchestrations/parallelRun.js',
        'dist/core/runner/worker.js',
        'dist/core/runner/worker.bundle.js',
        'dist/samples/scripts/mnist/digit_identification.js',
        // The status page reads these at run time (functions/api/ui.ts): missing, /api/ui fails in Azure.
        'functions/ui/index.html',
        'functions/ui/app.js',
        'functions/ui/app.css',
        'node_modules/durable-functions/package.json',
        'node_modules/@azure/functions/package.json',
      ]),
    );
    const manifest = JSON.parse(readFileSync(path.join(unzipped, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const source = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toEqual({
      name: source.name,
      version: source.version,
      private: true,
      description: source.description,
      type: 'module',
      main: source.main,
      engines: source.engines,
      dependencies: source.dependencies,
    });
  });

  it('leaves out tests, the devhost, tooling, local data, source maps and devDependencies', () => {
    const leftOut = [
      /^test\//,
      /^\.data\//,
      /^dist\/(devhost|bench|scripts|test)\//,
      /^dist\/samples\/mnist\//,
      /\.(ts|cts|mts|map)$/,
      /^node_modules\/(typescript|vitest|azurite|eslint|prettier|playwright-core|tree-sitter|madge|yazl|yauzl)\//,
      /^node_modules\/\.bin\//,
    ];
    expect(entries.filter((e) => leftOut.some((p) => p.test(e)))).toEqual([]);
  });

  it("keeps only onnxruntime-node's linux-x64 binaries, what Azure runs", () => {
    const binaries = entries.filter((e) => e.startsWith('node_modules/onnxruntime-node/bin/'));
    expect(binaries.length).toBeGreaterThan(0);
    expect(binaries.filter((e) => !/\/napi-v\d+\/linux\/x64\//.test(e))).toEqual([]);
  });

  it('runs from an empty folder on the devhost: the routes answer and the MNIST tutorial completes', async () => {
    host = await spawnDevHostProcess({
      app: unzipped,
      storage: inject('storage'),
      args: ['--hub', names.hub],
    });
    expect((await call(host.baseUrl, 'GET', '/api/runs')).status).toBe(200);
    const model = readFileSync(path.join(sourceModelDir(), 'mnist.onnx'));
    const registered = await fetch(`${host.baseUrl}/api/models/mnist?file=mnist.onnx`, {
      method: 'PUT',
      body: model,
    });
    expect(registered.status).toBe(201);
    // Pinned to the version registered here: other test files register `mnist` on the same Azurite.
    const { version } = (await registered.json()) as { version: number };
    expect((await call(host.baseUrl, 'GET', '/api/models')).status).toBe(200);

    const images = [...sampleImages()].slice(0, IMAGES);
    const blobs = BlobServiceClient.fromConnectionString(inject('storage')).getContainerClient(container);
    await blobs.createIfNotExists();
    await Promise.all(
      images.map((i) => blobs.getBlockBlobClient(`mnist/${i.name}`).upload(i.bytes, i.bytes.length)),
    );

    const run = await runToEnd(host, {
      ...tutorialSettings,
      models: [`mnist:${version}`],
      input: { container, path: 'mnist/', glob: '*.png' },
    });
    expect(run.view.status, `${run.view.reason ?? ''} ${JSON.stringify(run.errors.slice(0, 2))}`).toBe(
      'Completed',
    );
    expect(run.errors).toEqual([]);
    expect(run.output).toHaveLength(IMAGES);
    const labels = new Map(images.map((i) => [i.name, i.label]));
    const rows = run.output.map((line) => /^(\S+): (\d)$/.exec(line));
    expect(new Set(rows.map((r) => r?.[1]))).toEqual(new Set(labels.keys()));
    const right = rows.filter((r) => r && labels.get(r[1] ?? '') === Number(r[2])).length;
    expect(right / IMAGES).toBeGreaterThan(0.9);
  }, 600_000);
});
