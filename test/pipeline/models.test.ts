import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { call } from '../support/devhost.js';
import { runToEnd, startApp, uploadFiles } from '../support/pipeline.js';

let host: DevHostProcess;

beforeAll(async () => {
  host = await startApp(inject('storage'));
});

afterAll(async () => {
  await host.kill();
});

async function put(name: string, query: string, body: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${host.baseUrl}/api/models/${name}${query}`, { method: 'PUT', body });
  return { status: res.status, body: await res.json() };
}

describe('model registry API', () => {
  const name = `model-${Date.now().toString(36)}`;

  it('registers numbered versions and lists them', async () => {
    const first = await put(name, '?file=weights.bin&description=first', 'v1 bytes');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name, version: 1, files: ['weights.bin'], description: 'first' });
    expect((await put(name, '?file=weights.bin', 'v2 bytes')).body).toMatchObject({ version: 2 });
    const list = (await call(host.baseUrl, 'GET', '/api/models')).body as {
      models: { name: string; versions: number[] }[];
    };
    expect(list.models).toContainEqual({ name, versions: [1, 2] });
  });

  it('gives two registrations at once two versions', async () => {
    const [a, b] = await Promise.all([
      put(name, '?file=weights.bin', 'a bytes'),
      put(name, '?file=weights.bin', 'b bytes'),
    ]);
    const versions = [a, b].map((r) => (r.body as { version: number }).version).sort();
    expect(versions).toEqual([3, 4]);
  });

  it('refuses a bad model name, a bad file name and an empty body', async () => {
    for (const bad of ['Bad%20Name!', `${name}:7`]) {
      expect(await put(bad, '', 'x')).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_REQUEST', field: 'name' } },
      });
    }
    expect(await put(name, '?file=../evil.js', 'x')).toMatchObject({
      status: 400,
      body: { error: { field: 'file' } },
    });
    expect(await put(name, '', '')).toMatchObject({ status: 400, body: { error: { field: 'body' } } });
  });

  it('refuses a parameter it does not know and a description that is not one line, registering nothing', async () => {
    const other = `${name}-strict`;
    expect(await put(other, '?file=w.bin&versoin=7', 'x')).toMatchObject({
      status: 400,
      body: { error: { field: 'versoin' } },
    });
    expect(
      await put(other, `?description=${encodeURIComponent('red\u001b[31m\nline two')}`, 'x'),
    ).toMatchObject({
      status: 400,
      body: { error: { field: 'description' } },
    });
    const list = (await call(host.baseUrl, 'GET', '/api/models')).body as { models: { name: string }[] };
    expect(list.models.map((m) => m.name)).not.toContain(other);
  });
});

describe('models in a run', () => {
  it('loads the version registered at submission, also when the script asks by bare name', async () => {
    const model = `pinned-${Date.now().toString(36)}`;
    expect((await put(model, '?file=weights.txt', 'one')).status).toBe(201);
    expect((await put(model, '?file=weights.txt', 'two')).status).toBe(201);
    const container = `pin-${Date.now().toString(36)}`;
    await uploadFiles(inject('storage'), container, 'in/', ['a.txt', 'b.txt']);
    const settings = {
      entry_script: 'model_file.js',
      arguments: ['--model', model],
      input: { container, path: 'in/' },
      output_action: 'append_row',
      mini_batch_size: '1',
      node_count: 1,
      process_count_per_node: 2,
    };
    // Declared as version 1: getModel(name) gives version 1, though version 2 is the latest.
    const first = await runToEnd(host, { ...settings, models: [`${model}:1`] });
    expect(first.output).toEqual(['a.txt: one', 'b.txt: one']);
    expect(first.view.summary?.models).toEqual({ [`${model}:1`]: `${model}:1` });
    // Declared by name: pinned to the latest at submission, and the summary says which.
    const latest = await runToEnd(host, { ...settings, models: [model] });
    expect(latest.output).toEqual(['a.txt: two', 'b.txt: two']);
    expect(latest.view.summary?.models).toEqual({ [model]: `${model}:2` });
  });
});
