import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { call, uniqueNames } from '../support/devhost.js';
import { finish, startApp, uploadFiles } from '../support/pipeline.js';

const storage = () => inject('storage');
const container = `pipe-${uniqueNames().hub.toLowerCase()}`;
const name = `echo-${uniqueNames().hub.toLowerCase()}`;
let host: DevHostProcess;

beforeAll(async () => {
  await uploadFiles(storage(), container, 'a/', ['1.txt', '2.txt', '3.txt']);
  await uploadFiles(storage(), container, 'b/', ['9.txt']);
  host = await startApp(storage());
});

afterAll(async () => {
  await host.kill();
});

describe('pipelines with parameters', () => {
  const definition = {
    settings: {
      entry_script: 'echo.js',
      input: { container, path: '${{parameters.folder}}' },
      mini_batch_size: '${{parameters.batch}}',
    },
    parameters: { folder: { default: 'a/' }, batch: { default: '2', description: 'files per run() call' } },
  };

  it('publishes a pipeline and runs it with defaults, then with new parameters', async () => {
    const published = await call(host.baseUrl, 'PUT', `/api/pipelines/${name}`, definition);
    expect(published.status).toBe(201);
    expect((await call(host.baseUrl, 'GET', `/api/pipelines/${name}`)).body).toMatchObject({
      name,
      parameters: definition.parameters,
    });

    const first = await call(host.baseUrl, 'POST', `/api/pipelines/${name}/runs`, {});
    expect(first.status).toBe(202);
    const defaults = await finish(host, (first.body as { runId: string }).runId);
    expect(defaults.output).toEqual(['1.txt: ok', '2.txt: ok', '3.txt: ok']);
    expect(defaults.view.summary?.totals.miniBatches).toBe(2);

    const second = await call(host.baseUrl, 'POST', `/api/pipelines/${name}/runs`, {
      parameters: { folder: 'b/' },
    });
    expect((await finish(host, (second.body as { runId: string }).runId)).output).toEqual(['9.txt: ok']);

    // Its runs, newest first, filtered as the runs list is; the pipeline is the route's own.
    const runs = async (query: string) => call(host.baseUrl, 'GET', `/api/pipelines/${name}/runs${query}`);
    const newest = (await runs('?status=completed&top=1')).body as { runs: { runId: string }[] };
    expect(newest.runs.map((r) => r.runId)).toEqual([(second.body as { runId: string }).runId]);
    expect((await runs('?pipeline=other')).body).toMatchObject({ error: { field: 'pipeline' } });
  });

  it('names unknown parameters and unknown pipelines', async () => {
    await call(host.baseUrl, 'PUT', `/api/pipelines/${name}`, definition);
    const typo = await call(host.baseUrl, 'POST', `/api/pipelines/${name}/runs`, {
      parameters: { folders: 'b/' },
    });
    expect(typo.status).toBe(400);
    expect(JSON.stringify(typo.body)).toContain('parameters.folders');
    // Values sent without the {"parameters": …} wrapper are refused, not run with the defaults.
    const unwrapped = await call(host.baseUrl, 'POST', `/api/pipelines/${name}/runs`, { folder: 'b/' });
    expect(unwrapped.status).toBe(400);
    expect(unwrapped.body).toMatchObject({ error: { code: 'INVALID_REQUEST', field: 'folder' } });
    const missing = await call(host.baseUrl, 'POST', '/api/pipelines/no-such-pipeline/runs', {});
    expect(missing.status).toBe(404);
    // A publish with no body asks for what publishing takes, not for run settings.
    const empty = await call(host.baseUrl, 'PUT', `/api/pipelines/${name}`, '');
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('send the pipeline definition');
  });
});
