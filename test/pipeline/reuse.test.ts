import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import type { RunView } from '../../functions/api/runs.js';
import { containers, runPaths } from '../../core/storage/layout.js';
import { call, repoRoot, uniqueNames } from '../support/devhost.js';
import { finish, runToEnd, startApp, submit, uploadFiles, type Finished } from '../support/pipeline.js';

const storage = () => inject('storage');
const container = `reuse-${uniqueNames().hub.toLowerCase()}`;
let host: DevHostProcess;
let blobs: BlobServiceClient;
/** This file's own copy of the scripts folder: one test redeploys a script in it. */
const scripts = mkdtempSync(path.join(os.tmpdir(), 'parallel-run-reuse-scripts-'));

const tutorialFiles = Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, '0')}.png`);
/** The tutorial's ParallelRunConfig, over small files, with the echo script. */
const tutorial = {
  entry_script: 'echo.js',
  input: { container, path: 'tutorial/' },
  mini_batch_size: '5',
  error_threshold: 10,
  output_action: 'append_row',
  append_row_file_name: 'mnist_outputs.txt',
  node_count: 2,
  process_count_per_node: 2,
  allow_reuse: true,
};

/** Good files around one bad file; mini-batches of two: [a0,a1] [a2,a3] [a4,a5] [bad,c00] [c01,c02] … */
const resumeFiles = [
  ...Array.from({ length: 6 }, (_, i) => `a${i}.txt`),
  'bad-1.txt',
  ...Array.from({ length: 11 }, (_, i) => `c${String(i).padStart(2, '0')}.txt`),
];
const failing = {
  entry_script: 'fail_named.js',
  input: { container, path: 'resume/' },
  mini_batch_size: '2',
  error_threshold: 0,
  node_count: 1,
  process_count_per_node: 1,
};

async function putModel(name: string, body: string): Promise<void> {
  const res = await fetch(`${host.baseUrl}/api/models/${name}?file=weights.bin`, { method: 'PUT', body });
  expect(res.status).toBe(201);
}

/** Every part blob of a run: index → its last-modified time and metadata. */
async function partsOf(
  runId: string,
): Promise<Map<number, { modified: Date; metadata: Record<string, string> }>> {
  const out = new Map<number, { modified: Date; metadata: Record<string, string> }>();
  const runs = blobs.getContainerClient(containers.runs);
  for await (const blob of runs.listBlobsFlat({
    prefix: runPaths.partsPrefix(runId),
    includeMetadata: true,
  })) {
    out.set(Number(blob.name.slice(blob.name.lastIndexOf('/') + 1)), {
      modified: blob.properties.lastModified,
      metadata: blob.metadata ?? {},
    });
  }
  return out;
}

/** Waits (polling, with a deadline) until the run has scored `n` items: planned, and running. */
async function untilSucceeded(runId: string, n: number): Promise<void> {
  await vi.waitFor(
    async () => {
      const view = (await call(host.baseUrl, 'GET', `/api/runs/${runId}`)).body as RunView;
      expect(view.progress?.items.succeeded).toBe(n);
    },
    { timeout: 30_000, interval: 200 },
  );
}

function executed(run: Finished): void {
  expect(run.view.status).toBe('Completed');
  expect(run.view.reusedFrom).toBeUndefined();
  expect(run.view.summary?.reusedFrom).toBeUndefined();
  expect(run.view.summary?.totals.tries).toBeGreaterThan(0);
}

beforeAll(async () => {
  blobs = BlobServiceClient.fromConnectionString(storage());
  cpSync(path.join(repoRoot, 'test/fixtures/scripts/dist'), scripts, { recursive: true });
  await uploadFiles(storage(), container, 'tutorial/', tutorialFiles);
  await uploadFiles(storage(), container, 'resume/', resumeFiles);
  host = await startApp(storage(), { env: { PARALLEL_RUN_SCRIPTS: scripts } });
});

afterAll(async () => {
  await host.kill();
  rmSync(scripts, { recursive: true, force: true });
});

describe('allow_reuse', () => {
  let first: Finished;

  it('the tutorial settings submitted twice: the second runs no mini-batch and serves the same output', async () => {
    first = await runToEnd(host, tutorial);
    executed(first);
    expect(first.output).toEqual(tutorialFiles.map((n) => `${n}: ok`));

    const second = await runToEnd(host, tutorial);
    expect(second.view.status).toBe('Completed');
    expect(second.view.reusedFrom).toBe(first.view.runId);
    // No progress of its own (it ran nothing): counts of zero would read as a run that did no work.
    expect(second.view.progress).toBeUndefined();
    expect(second.view.summary).toMatchObject({
      reusedFrom: first.view.runId,
      totals: { ...first.view.summary?.totals, tries: 0 },
      output: first.view.summary?.output,
    });
    expect(second.output).toEqual(first.output);
    expect(second.statuses.errors).toBe(200);
    expect(second.errors).toEqual(first.errors);
    expect((await partsOf(second.view.runId)).size).toBe(0);
    const overview = await blobs
      .getContainerClient(containers.runs)
      .getBlobClient(runPaths.overview(second.view.runId))
      .downloadToBuffer();
    expect(overview.toString()).toContain(`Reused        ${first.view.runId}`);
  });

  it('settings that only change the scale (node_count, process_count_per_node) still reuse', async () => {
    const again = await runToEnd(host, { ...tutorial, node_count: 1, process_count_per_node: 1 });
    expect(again.view.reusedFrom).toBe(first.view.runId);
  });

  it('allow_reuse false always runs', async () => {
    executed(await runToEnd(host, { ...tutorial, allow_reuse: false }));
  });

  it('a setting that changes results runs again', async () => {
    executed(await runToEnd(host, { ...tutorial, error_threshold: 11 }));
  });

  it('one input file changed: it runs again, and that run is reused next', async () => {
    const changedBytes = 'other bytes';
    await blobs
      .getContainerClient(container)
      .getBlockBlobClient('tutorial/03.png')
      .upload(changedBytes, changedBytes.length);
    const changed = await runToEnd(host, tutorial);
    executed(changed);
    expect((await runToEnd(host, tutorial)).view.reusedFrom).toBe(changed.view.runId);
  });

  it('the entry script redeployed with different bytes: it runs again', async () => {
    const settings = {
      ...tutorial,
      entry_script: 'chatty.js',
      input: { ...tutorial.input, names: ['00.png'] },
    };
    executed(await runToEnd(host, settings));
    expect((await runToEnd(host, settings)).view.reusedFrom).toBeDefined();
    const file = path.join(scripts, 'chatty.js');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n// redeployed\n`);
    executed(await runToEnd(host, settings));
  });

  it('a module the script imports from outside its source_directory redeployed: it runs again', async () => {
    mkdirSync(path.join(scripts, 'shared'), { recursive: true });
    mkdirSync(path.join(scripts, 'uses-shared'), { recursive: true });
    const helper = path.join(scripts, 'shared', 'suffix.js');
    writeFileSync(helper, "export const suffix = ': v1';\n");
    writeFileSync(
      path.join(scripts, 'uses-shared', 'tagged.js'),
      "import { suffix } from '../shared/suffix.js';\nexport function run(files) { return files.map((f) => `${f.split('/').pop()}${suffix}`); }\n",
    );
    const settings = {
      ...tutorial,
      entry_script: 'tagged.js',
      source_directory: 'uses-shared',
      input: { ...tutorial.input, names: ['00.png'] },
    };
    const v1 = await runToEnd(host, settings);
    executed(v1);
    expect(v1.output).toEqual(['00.png: v1']);
    expect((await runToEnd(host, settings)).view.reusedFrom).toBe(v1.view.runId);
    writeFileSync(helper, "export const suffix = ': v2';\n");
    const v2 = await runToEnd(host, settings);
    executed(v2);
    expect(v2.output).toEqual(['00.png: v2']);
    // Shared by a symbolic link inside the folder instead: the file behind the link counts.
    const linked = path.join(scripts, 'shared', 'mark.js');
    writeFileSync(linked, "export const mark = '';\n");
    symlinkSync(linked, path.join(scripts, 'uses-shared', 'mark.js'));
    writeFileSync(
      path.join(scripts, 'uses-shared', 'tagged.js'),
      "import { suffix } from '../shared/suffix.js';\nimport { mark } from './mark.js';\nexport function run(files) { return files.map((f) => `${f.split('/').pop()}${suffix}${mark}`); }\n",
    );
    executed(await runToEnd(host, settings));
    expect((await runToEnd(host, settings)).view.reusedFrom).toBeDefined();
    writeFileSync(linked, "export const mark = ' marked';\n");
    const v3 = await runToEnd(host, settings);
    executed(v3);
    expect(v3.output).toEqual(['00.png: v2 marked']);
  });

  it('a model that got a new version, asked for as latest: it runs again', async () => {
    const model = `reuse-${uniqueNames().hub.toLowerCase()}`;
    await putModel(model, 'v1');
    const settings = { ...tutorial, models: [model] };
    executed(await runToEnd(host, settings));
    expect((await runToEnd(host, settings)).view.reusedFrom).toBeDefined();
    await putModel(model, 'v2');
    const latest = await runToEnd(host, settings);
    executed(latest);
    expect(latest.view.summary?.models).toEqual({ [model]: `${model}:2` });
  });

  it('a run that failed is never reused', async () => {
    const failed = await runToEnd(host, { ...failing, allow_reuse: true });
    expect(failed.view.status).toBe('Failed');
    const again = await runToEnd(host, { ...failing, allow_reuse: true });
    expect(again.view.status).toBe('Failed');
    expect(again.view.reusedFrom).toBeUndefined();
    expect(again.view.summary?.totals.tries).toBeGreaterThan(0);
  });

  it('two identical submissions at the same moment: each runs, or reuses the other only once it Completed', async () => {
    const settings = { ...tutorial, append_row_file_name: 'twins.txt' };
    const ids = await Promise.all([submit(host, settings), submit(host, settings)]);
    const runs = await Promise.all(ids.map((id) => finish(host, id)));
    for (const run of runs) {
      expect(run.view.status).toBe('Completed');
      expect(run.output).toEqual(tutorialFiles.map((n) => `${n}: ok`));
      const from = run.view.reusedFrom;
      if (from === undefined) continue;
      const source = runs.find((r) => r.view.runId === from);
      expect(source?.view.reusedFrom).toBeUndefined();
      expect(source?.view.status).toBe('Completed');
    }
    expect(runs.some((r) => r.view.reusedFrom === undefined)).toBe(true);
  });
});

describe('resume', () => {
  it('re-runs only the failed and unscheduled mini-batches; the output is whole and in order', async () => {
    const failed = await runToEnd(host, failing);
    expect(failed.view.status).toBe('Failed');
    expect(failed.view.reason).toContain('error_threshold');
    const before = await partsOf(failed.view.runId);
    const succeeded = [...before].filter(([, p]) => p.metadata.failed === '0').map(([i]) => i);
    expect(succeeded).toEqual(expect.arrayContaining([0, 1, 2]));
    expect(failed.view.summary?.totals.miniBatchesSucceeded).toBe(succeeded.length);

    const reply = await call(host.baseUrl, 'POST', `/api/runs/${failed.view.runId}/resume`, {
      error_threshold: -1,
    });
    expect(reply.status).toBe(202);
    const resumedId = (reply.body as { runId: string; resumedFrom: string }).runId;
    expect((reply.body as { resumedFrom: string }).resumedFrom).toBe(failed.view.runId);
    const resumed = await finish(host, resumedId);

    expect(resumed.view.status).toBe('Completed');
    expect(resumed.view.resumedFrom).toBe(failed.view.runId);
    expect(resumed.output).toEqual(resumeFiles.filter((n) => n !== 'bad-1.txt').map((n) => `${n}: ok`));
    expect(resumed.errors.map((e) => e.item)).toEqual(['bad-1.txt']);
    const miniBatches = Math.ceil(resumeFiles.length / 2);
    expect(resumed.view.summary).toMatchObject({
      resumedFrom: failed.view.runId,
      resume: {
        miniBatchesReused: succeeded.length,
        itemsReused: succeeded.length * 2,
        miniBatchesRerun: miniBatches - succeeded.length,
      },
      totals: {
        items: resumeFiles.length,
        miniBatches,
        itemsSucceeded: resumeFiles.length - 1,
        itemsFailed: 1,
      },
    });
    // One try per mini-batch it ran: none for those it kept.
    expect(resumed.view.summary?.totals.tries).toBe(miniBatches - succeeded.length);

    // The kept parts were written by the failed run, before the resume existed, and are still as it wrote
    // them; every other part was written by the resume.
    const created = new Date(resumed.view.createdTime);
    const after = await partsOf(resumedId);
    expect(after.size).toBe(miniBatches);
    for (const [index, part] of after) {
      if (succeeded.includes(index)) {
        expect(part.metadata.reused_from, `part ${index}`).toBe(failed.view.runId);
        expect(before.get(index)?.modified.getTime(), `part ${index}`).toBeLessThan(created.getTime());
        expect((await partsOf(failed.view.runId)).get(index)?.modified).toEqual(before.get(index)?.modified);
      } else {
        expect(part.metadata.reused_from, `part ${index}`).toBeUndefined();
        expect(part.modified.getTime(), `part ${index}`).toBeGreaterThanOrEqual(created.getTime() - 1000);
      }
    }
  });

  it('resumes a run once: of two resumes at the same moment, one starts and the other names it', async () => {
    const failed = await runToEnd(host, failing);
    const path = `/api/runs/${failed.view.runId}/resume`;
    const replies = await Promise.all([
      call(host.baseUrl, 'POST', path, { error_threshold: -1 }),
      call(host.baseUrl, 'POST', path, { error_threshold: -1 }),
    ]);
    expect(replies.map((r) => r.status).sort()).toEqual([202, 409]);
    const started = replies.find((r) => r.status === 202)?.body as { runId: string };
    const refused = replies.find((r) => r.status === 409)?.body as { error: { message: string } };
    expect(refused.error.message).toContain(`is already resumed by run '${started.runId}'`);
    expect((await finish(host, started.runId)).view.status).toBe('Completed');
  });

  it('a resume of a resume keeps what both ran', async () => {
    const failed = await runToEnd(host, failing);
    const first = await call(host.baseUrl, 'POST', `/api/runs/${failed.view.runId}/resume`, {});
    const firstRun = await finish(host, (first.body as { runId: string }).runId);
    expect(firstRun.view.status).toBe('Failed');
    const second = await call(host.baseUrl, 'POST', `/api/runs/${firstRun.view.runId}/resume`, {
      error_threshold: -1,
    });
    const done = await finish(host, (second.body as { runId: string }).runId);
    expect(done.view.status).toBe('Completed');
    expect(done.output).toEqual(resumeFiles.filter((n) => n !== 'bad-1.txt').map((n) => `${n}: ok`));
    expect(done.errors.map((e) => e.item)).toEqual(['bad-1.txt']);
  });

  it('a resume whose script was redeployed is not reused: its kept rows came from the old script', async () => {
    const script = path.join(scripts, 'resumed_then_redeployed.js');
    writeFileSync(script, readFileSync(path.join(scripts, 'fail_named.js'), 'utf8'));
    const settings = { ...failing, entry_script: 'resumed_then_redeployed.js', allow_reuse: true };
    const failed = await runToEnd(host, settings);
    expect(failed.view.status).toBe('Failed');
    expect(failed.view.summary?.totals.miniBatchesSucceeded).toBeGreaterThan(0);
    writeFileSync(script, readFileSync(script, 'utf8').replace('}: ok`', '}: v2`'));
    const reply = await call(host.baseUrl, 'POST', `/api/runs/${failed.view.runId}/resume`, {
      error_threshold: -1,
    });
    expect(reply.status).toBe(202);
    const resumed = await finish(host, (reply.body as { runId: string }).runId);
    expect(resumed.view.status).toBe('Completed');
    expect(resumed.output).toContain('a0.txt: ok');
    expect(resumed.output).toContain('c10.txt: v2');

    // The same settings, the same (redeployed) script: every row must come from the script as it is now.
    const fresh = await runToEnd(host, { ...settings, error_threshold: -1 });
    executed(fresh);
    expect(fresh.output).toEqual(resumeFiles.filter((n) => n !== 'bad-1.txt').map((n) => `${n}: v2`));
  });

  it('refuses a Completed run (409), an unknown run (404) and settings it cannot change (400)', async () => {
    const completed = await runToEnd(host, { ...tutorial, allow_reuse: false });
    const again = await call(host.baseUrl, 'POST', `/api/runs/${completed.view.runId}/resume`);
    expect(again.status).toBe(409);
    expect(again.text).toContain('is Completed: every mini-batch succeeded');
    // Completed with failures within the threshold: not resumed either, and not said to have none.
    const withFailures = await runToEnd(host, { ...failing, error_threshold: -1, allow_reuse: false });
    expect(withFailures.view.status).toBe('Completed');
    expect(withFailures.view.summary?.totals.itemsFailed).toBeGreaterThan(0);
    const refused = await call(host.baseUrl, 'POST', `/api/runs/${withFailures.view.runId}/resume`);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('stayed within error_threshold');
    expect(refused.text).not.toContain('every mini-batch succeeded');
    const unknown = await call(host.baseUrl, 'POST', '/api/runs/no-such-run-20240101-000000-abcdef/resume');
    expect(unknown.status).toBe(404);
    const bad = await call(host.baseUrl, 'POST', `/api/runs/${completed.view.runId}/resume`, {
      mini_batch_size: '3',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { field: 'mini_batch_size' } });
    expect(bad.text).toContain('cannot be changed on resume');
  });

  it('refuses a Running run (409), and resumes it once canceled', async () => {
    await uploadFiles(storage(), container, 'slow/', ['a.txt', 'hang-1.txt', 'b.txt']);
    const settings = {
      entry_script: 'hang_on.js',
      input: { container, path: 'slow/' },
      mini_batch_size: '1',
      run_invocation_timeout: 600,
      node_count: 1,
      process_count_per_node: 1,
    };
    const runId = await submit(host, settings);
    // a.txt and b.txt scored; hang-1.txt (last in listing order) spins.
    await untilSucceeded(runId, 2);
    const running = await call(host.baseUrl, 'POST', `/api/runs/${runId}/resume`);
    expect(running.status).toBe(409);
    expect(running.text).toMatch(/is (Running|Pending): only a Failed or Canceled run can be resumed/);
    expect((await call(host.baseUrl, 'POST', `/api/runs/${runId}/cancel`)).status).toBe(202);
    const canceled = await finish(host, runId);
    expect(canceled.view.status).toBe('Canceled');
    const resumed = await call(host.baseUrl, 'POST', `/api/runs/${runId}/resume`, {
      run_invocation_timeout: 2,
      run_max_try: 1,
    });
    expect(resumed.status).toBe(202);
    const done = await finish(host, (resumed.body as { runId: string }).runId);
    expect(done.view.status).toBe('Completed');
    expect(done.output).toEqual(['a.txt: ok', 'b.txt: ok']);
    expect(done.errors.map((e) => e.item)).toEqual(['hang-1.txt']);
    expect(done.view.summary?.resume).toEqual({ miniBatchesReused: 2, itemsReused: 2, miniBatchesRerun: 1 });
  });

  it('a run whose input changed is not resumed: the new run fails saying why, nothing run', async () => {
    await uploadFiles(storage(), container, 'changing/', ['a.txt', 'bad-1.txt', 'c.txt']);
    const failed = await runToEnd(host, { ...failing, input: { container, path: 'changing/' } });
    expect(failed.view.status).toBe('Failed');
    await uploadFiles(storage(), container, 'changing/', ['d.txt']);
    const reply = await call(host.baseUrl, 'POST', `/api/runs/${failed.view.runId}/resume`, {
      error_threshold: -1,
    });
    expect(reply.status).toBe(202);
    const refused = await finish(host, (reply.body as { runId: string }).runId);
    expect(refused.view.status).toBe('Failed');
    expect(refused.view.reason).toContain(
      `not resumed: the input of run '${failed.view.runId}' changed since it ran`,
    );
    expect(refused.view.summary?.totals.tries).toBe(0);
  });
});
