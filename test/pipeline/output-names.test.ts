import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { call, uniqueNames } from '../support/devhost.js';
import { runToEnd, startApp, uploadFiles } from '../support/pipeline.js';

const container = `names-${uniqueNames().hub.toLowerCase()}`;
const files = ['a.txt', 'b.txt', 'c.txt'];
let host: DevHostProcess;

beforeAll(async () => {
  await uploadFiles(inject('storage'), container, 'in/', files);
  host = await startApp(inject('storage'));
});

afterAll(async () => {
  await host.kill();
});

describe('GET /api/runs/{id}/output of an output named outside ASCII', () => {
  it.each([
    ['结果.txt', '%E7%BB%93%E6%9E%9C.txt'],
    ['a\u2028b 100%.txt', 'a%E2%80%A8b 100%25.txt'],
  ])('serves %j, its blob name percent-encoded in x-output-blob', async (name, encoded) => {
    const run = await runToEnd(host, {
      entry_script: 'echo.js',
      input: { container, path: 'in/' },
      output: { container, path: 'out/' },
      append_row_file_name: name,
      allow_reuse: false,
    });
    expect(run.view.status).toBe('Completed');
    const output = await call(host.baseUrl, 'GET', `/api/runs/${run.view.runId}/output`);
    expect(output.status).toBe(200);
    expect(output.text.trimEnd().split('\n')).toEqual(files.map((f) => `${f}: ok`));
    expect(output.headers.get('x-output-blob')).toBe(`${container}/out/${run.view.runId}/${encoded}`);
    const head = await call(host.baseUrl, 'GET', `/api/runs/${run.view.runId}/output?head=1`);
    expect(head.status).toBe(200);
    expect(head.text).toBe('a.txt: ok\n');
  });
});
