/**
 * What a hostile client sends through the HTTP API: every request gets a 4xx naming the problem, or
 * a correct answer; never a 500, and the host keeps serving.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { call, uniqueNames } from '../support/devhost.js';
import { runToEnd, startApp, uploadFiles } from '../support/pipeline.js';

const storage = () => inject('storage');
const tag = uniqueNames().hub.toLowerCase();
const container = `hard-${tag}`;
let host: DevHostProcess;

const base = {
  entry_script: 'echo.js',
  input: { container, path: 'clean/' },
  mini_batch_size: '10',
  node_count: 1,
  process_count_per_node: 1,
};

interface ErrorBody {
  error: { code: string; message: string; field?: string; issues?: { field: string; message: string }[] };
}

beforeAll(async () => {
  await uploadFiles(storage(), container, 'clean/', ['a.txt', 'b.txt']);
  // As an ADLS Gen2 account lists them: a folder as a zero-byte "sub/" blob, and as a blob with
  // hdi_isfolder=true; a blob "c" beside "c/d.txt" (a file where the other needs a folder).
  await uploadFiles(storage(), container, 'hns/', ['a.txt', 'sub/x.txt', 'c', 'c/d.txt', 'dir/y.txt']);
  const client = BlobServiceClient.fromConnectionString(storage()).getContainerClient(container);
  await client.getBlockBlobClient('hns/sub/').upload('', 0);
  await client.getBlockBlobClient('hns/dir').upload('', 0, { metadata: { hdi_isfolder: 'true' } });
  // Metadata names are case-insensitive in Azure: this is the same marker.
  await client.getBlockBlobClient('hns/cased').upload('', 0, { metadata: { Hdi_IsFolder: 'True' } });
  // A file, and names it is a prefix of.
  await uploadFiles(storage(), container, 'one/', ['0.txt', '0.txt.bak', '0.txt/x.txt']);
  host = await startApp(storage());
});

afterAll(async () => {
  await host.kill();
});

async function refused(body: unknown): Promise<ErrorBody['error']> {
  const reply = await call(host.baseUrl, 'POST', '/api/runs', body);
  expect(reply.status, reply.text).toBe(400);
  return (reply.body as ErrorBody).error;
}

/** The fields a 400 names, its issues' when it lists several. */
async function refusedFields(body: unknown): Promise<string[]> {
  const error = await refused(body);
  return error.issues ? error.issues.map((i) => i.field) : [error.field ?? ''];
}

describe("a run's locations", () => {
  it.each([
    ['runs', 'summary.json'],
    ['runs', 'run.json'],
    ['models', 'x.txt'],
    ['pipelines', 'x.json'],
    ['inbox', 'x.txt'],
    ['azure-webjobs-secrets', 'x.txt'],
    ['azure-webjobs-hosts', 'x.txt'],
    [`${tag}-leases`, 'x.txt'],
    [`${tag}-devhost`, 'x.txt'],
  ])("refuses the service's and the host's containers as output: %s", async (out, file) => {
    const error = await refused({
      ...base,
      output: { container: out },
      append_row_file_name: file,
    });
    expect(error.field).toBe('output.container');
    expect(error.message).toContain('use a container of your own data');
  });

  it('refuses them as side inputs, and the host and run records as input', async () => {
    expect(
      await refusedFields({ ...base, side_inputs: { m: { container: 'models', path: 'mnist/' } } }),
    ).toEqual(['side_inputs.m.container']);
    expect(await refusedFields({ ...base, input: { container: 'azure-webjobs-secrets', path: '' } })).toEqual(
      ['input.container'],
    );
    expect(await refusedFields({ ...base, input: { container: 'runs', path: '' } })).toEqual([
      'input.container',
    ]);
  });

  it('keeps append_row_file_name and output.path inside the output', async () => {
    for (const name of ['../summary.json', 'a/b.txt', '..', 'a\\b.txt'])
      expect(await refusedFields({ ...base, append_row_file_name: name })).toEqual(['append_row_file_name']);
    for (const path of ['../', '/abs', 'a/../../b', 'a//b', './x'])
      expect(await refusedFields({ ...base, output: { container: 'outputs', path } })).toEqual([
        'output.path',
      ]);
  });
});

describe('datasets', () => {
  it('leaves folder markers out, and keeps a file and a folder of the same name apart', async () => {
    const run = await runToEnd(host, { ...base, input: { container, path: 'hns/' } });
    expect(run.view.status).toBe('Completed');
    expect(run.errors).toEqual([]);
    expect(run.output).toEqual(['a.txt: ok', 'c: ok', 'd.txt: ok', 'y.txt: ok', 'x.txt: ok']);
    // "c/d.txt" starts a mini-batch of its own: "c" is a file in the first one's folder.
    expect(run.view.summary?.totals).toMatchObject({ items: 5, itemsFailed: 0, miniBatches: 2 });
  });

  it('fails folder markers named in input.names as folders, not files', async () => {
    const run = await runToEnd(host, {
      ...base,
      input: { container, path: 'hns/', names: ['dir', 'cased', 'a.txt'] },
    });
    expect(run.output).toEqual(['a.txt: ok']);
    expect(run.errors.map((e) => [e.item, e.error])).toEqual(
      ['dir', 'cased'].map((item) => [item, 'a folder (its folder marker blob), not a file']),
    );
  });

  it('takes a path naming one blob as a one-file dataset, exactly that blob', async () => {
    const run = await runToEnd(host, { ...base, input: { container, path: 'one/0.txt' } });
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(['0.txt: ok']);
    expect(run.view.summary?.totals).toMatchObject({ items: 1, itemsSucceeded: 1 });
    // With a "/" it is the folder; a folder marker's name is a folder too.
    const folder = await runToEnd(host, { ...base, input: { container, path: 'one/0.txt/' } });
    expect(folder.output).toEqual(['x.txt: ok']);
    const marked = await runToEnd(host, { ...base, input: { container, path: 'hns/dir' } });
    expect(marked.output).toEqual(['y.txt: ok']);
  });

  it('refuses a side input with nothing at its path at submit', async () => {
    const error = await refused({ ...base, side_inputs: { s: { container, path: 'nothing' } } });
    expect(error).toMatchObject({ code: 'EMPTY_DATASET', field: 'side_inputs.s.path' });
    const missing = await refused({ ...base, side_inputs: { s: { container: `none-${tag}`, path: '' } } });
    expect(missing.field).toBe('side_inputs.s.container');
  });

  it('refuses a glob that matches nothing at submit, naming input.glob', async () => {
    const error = await refused({ ...base, input: { container, path: 'clean/', glob: '*.png' } });
    expect(error).toMatchObject({ code: 'EMPTY_DATASET', field: 'input.glob' });
    expect(error.message).toContain("matches '*.png'");
  });
});

describe('settings the runtime cannot honour', () => {
  it('refuses timeouts, tries and thresholds past their documented bounds', async () => {
    expect(
      await refusedFields({
        ...base,
        run_invocation_timeout: 3_000_000,
        progress_update_timeout: 3_000_000,
        run_max_try: 1e12,
        error_threshold: 2.5,
        node_count: '2',
      }),
    ).toEqual([
      'error_threshold',
      'run_invocation_timeout',
      'run_max_try',
      'node_count',
      'progress_update_timeout',
    ]);
  });

  it('refuses null, naming the setting', async () => {
    const error = await refused({ ...base, error_threshold: null, input: { container, path: null } });
    expect(error.issues).toEqual([
      expect.objectContaining({
        field: 'error_threshold',
        message: expect.stringContaining('null is not allowed') as string,
      }),
      expect.objectContaining({
        field: 'input.path',
        message: expect.stringContaining('null is not allowed') as string,
      }),
    ]);
  });

  it('names source_directory when that folder is not deployed', async () => {
    const error = await refused({ ...base, source_directory: 'nope' });
    expect(error.field).toBe('source_directory');
    expect(error.message).toContain("source_directory 'nope' is not deployed");
  });
});

describe('requests that used to fail inside the service', () => {
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const deepObject = `{"settings": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;

  it('refuses JSON nested 100,000 levels deep wherever a body is read', async () => {
    for (const [method, path, body] of [
      ['POST', '/api/runs', deep],
      ['POST', '/api/runs', deepObject],
      ['PUT', `/api/pipelines/p-${tag}`, deepObject],
      ['POST', `/api/pipelines/p-${tag}/runs`, `{"parameters": ${deepObject}}`],
    ] as const) {
      const reply = await call(host.baseUrl, method, path, body);
      expect(reply.status, `${method} ${path}`).toBe(400);
      expect((reply.body as ErrorBody).error.message).toContain('more than 64 levels deep');
    }
    expect((await call(host.baseUrl, 'GET', '/api/runs/no-such-run')).status).toBe(404);
  });

  it('answers 4xx for odd run ids, pipeline and model names, and keeps serving', async () => {
    const odd = ['%', '%00', '%zz', 'a%2Fb', 'a..b', 'x'.repeat(2000), '%C3%A9t%C3%A9', '%F0%9F%98%80'];
    for (const id of odd) {
      for (const [method, path] of [
        ['GET', `/api/runs/${id}`],
        ['GET', `/api/runs/${id}/output`],
        ['GET', `/api/runs/${id}/errors`],
        ['POST', `/api/runs/${id}/cancel`],
        ['GET', `/api/pipelines/${id}`],
        ['PUT', `/api/pipelines/${id}`],
        ['POST', `/api/pipelines/${id}/runs`],
        ['PUT', `/api/models/${id}?file=w.bin`],
      ] as const) {
        const reply = await call(host.baseUrl, method, path, method === 'GET' ? undefined : '{}');
        expect(reply.status, `${method} ${path.slice(0, 60)}: ${reply.text}`).toBeGreaterThanOrEqual(400);
        expect(reply.status, `${method} ${path.slice(0, 60)}: ${reply.text}`).toBeLessThan(500);
        expect((reply.body as ErrorBody).error.message).toEqual(expect.any(String));
      }
    }
    expect((await call(host.baseUrl, 'GET', '/api/runs/no-such-run')).status).toBe(404);
    // A name of allowed characters that cannot start an id: the answer says which rule it breaks.
    const reuse = await call(host.baseUrl, 'GET', '/api/runs/_reuse');
    expect(reuse.status).toBe(400);
    expect((reuse.body as ErrorBody).error).toMatchObject({ field: 'id' });
    expect((reuse.body as ErrorBody).error.message).toContain('starting with a letter or digit');
  });
});

describe('model registration', () => {
  const model = `broken-${tag}`;
  const put = (query: string, body: string) =>
    fetch(`${host.baseUrl}/api/models/${model}${query}`, { method: 'PUT', body }).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    }));

  it('refuses an .onnx that is not an ONNX model and an empty file, keeping the latest version', async () => {
    expect((await put('?file=w.bin', 'weights')).status).toBe(201);
    const text = await put('?file=mnist.onnx', 'this is not a model');
    expect(text).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', field: 'body' } } });
    expect((text.body as ErrorBody).error.message).toContain("file 'mnist.onnx' is not an ONNX model");
    expect(await put('?file=other.bin', '')).toMatchObject({
      status: 400,
      body: { error: { field: 'body' } },
    });
    const list = (await call(host.baseUrl, 'GET', '/api/models')).body as {
      models: { name: string; versions: number[] }[];
    };
    expect(list.models).toContainEqual({ name: model, versions: [1] });
  });
});

describe('request bodies', () => {
  it('refuses settings over 1 MB with a 413 naming the body, unparsed, and keeps serving', async () => {
    const body = JSON.stringify({
      ...base,
      input: { container, path: 'x/' },
      run_name: 'x'.repeat(2 * 1024 * 1024),
    });
    const reply = await call(host.baseUrl, 'POST', '/api/runs', body);
    expect(reply.status).toBe(413);
    expect(reply.body).toMatchObject({ error: { code: 'TOO_LARGE', field: 'body' } });
    expect((reply.body as ErrorBody).error.message).toContain('at most 1048576');
    expect((await call(host.baseUrl, 'GET', '/api/runs')).status).toBe(200);
  });

  it('refuses a body that is not UTF-8, naming it, rather than reading it with replacement characters', async () => {
    // "café" in Latin-1: the é is the single byte 0xE9, which UTF-8 never has alone.
    const [head = '', tail = ''] = JSON.stringify({
      ...base,
      input: { container, path: 'x/' },
      run_name: 'caf#',
    }).split('#');
    const res = await fetch(`${host.baseUrl}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from(head), Buffer.from([0xe9]), Buffer.from(tail)]),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: {
        code: 'INVALID_REQUEST',
        field: 'body',
        message: expect.stringContaining('not valid UTF-8') as string,
      },
    });
  });
});
