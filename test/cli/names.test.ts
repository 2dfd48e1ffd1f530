import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { runCli } from '../support/cli.js';
import { uniqueNames } from '../support/devhost.js';
import { startApp } from '../support/pipeline.js';

/**
 * "." and ".." are left as they are by encodeURIComponent and resolved away by the URL: the CLI
 * would send `status .` to GET /api/runs, `pipelines run ..` to POST /api/runs. They are refused
 * before any request, naming the argument.
 */
describe('the CLI with names that are dot segments', () => {
  let host: DevHostProcess;

  beforeAll(async () => {
    host = await startApp(inject('storage'), { hub: uniqueNames().hub });
  });

  afterAll(async () => {
    await host.kill();
  });

  it.each([
    [['status', '.'], 'runId'],
    [['status', ''], 'runId'],
    [['results', '.'], 'runId'],
    [['errors', '.'], 'runId'],
    [['cancel', '..'], 'runId'],
    [['resume', '..'], 'runId'],
    [['watch', '..'], 'runId'],
    [['pipelines', 'run', '..'], 'name'],
    [['pipelines', 'run', '.'], 'name'],
  ])('parallel-run %j: exit 3, naming <%s>, nothing sent', async (args, what) => {
    const result = await runCli(args, host.baseUrl);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`<${what}> '${args.at(-1) ?? ''}' is not allowed`);
    expect(result.stderr).not.toContain('unexpected error');
    expect(result.stderr).not.toContain('No function is listening');
    expect(result.stderr).not.toContain('unknown setting');
  });

  it('names a --key with a line break, rather than saying the service cannot be reached', async () => {
    const result = await runCli(['runs', '--key', 'abc\ndef'], host.baseUrl);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('--key (or PARALLEL_RUN_KEY) holds a space, line break');
    expect(result.stderr).not.toContain('cannot reach');
  });

  it.each([
    ['http://someone:s3cret@127.0.0.1:1', 'holds a user name or password'],
    ['localhost:7071', 'is not http or https'],
    ['not a url', 'is not a URL'],
  ])('names a --url of %j for what it is, never repeating a password', async (url, problem) => {
    const result = await runCli(['runs', '--url', url], host.baseUrl);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`--url (or PARALLEL_RUN_URL) ${problem}`);
    expect(result.stderr).not.toContain('s3cret');
    expect(result.stderr).not.toContain('cannot reach');
  });

  it('refuses models register .. (it would PUT /api/)', async () => {
    const result = await runCli(['models', 'register', '..', 'package.json'], host.baseUrl);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`<name> '..' is not allowed`);
    expect(result.stderr).not.toContain('No function is listening');
  });
});
