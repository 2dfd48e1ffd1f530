import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { runCli } from '../support/cli.js';
import { repoRoot, uniqueNames } from '../support/devhost.js';
import { startApp, uploadFiles } from '../support/pipeline.js';

const good = Array.from({ length: 12 }, (_, i) => `good-${String(i).padStart(2, '0')}.txt`);
const bad = ['bad-1.txt', 'bad-2.txt'];

describe('the parallel-run CLI against the devhost', () => {
  const { hub } = uniqueNames();
  const container = `cli-${hub.toLowerCase()}`;
  let host: DevHostProcess;
  let dir = '';
  let runId = '';
  let watched: Awaited<ReturnType<typeof runCli>>;

  const settingsFile = async (name: string, settings: object) => {
    const file = path.join(dir, name);
    await writeFile(file, JSON.stringify(settings));
    return file;
  };

  beforeAll(async () => {
    const storage = inject('storage');
    dir = await mkdtemp(path.join(tmpdir(), 'cli-test-'));
    await uploadFiles(storage, container, 'in/', [...good, ...bad]);
    await uploadFiles(storage, container, 'slow/', ['a.txt', 'hang-1.txt', 'hang-2.txt']);
    host = await startApp(storage, { hub });
    const file = await settingsFile('run.json', {
      $schema: '../schemas/run-settings.schema.json',
      entry_script: 'fail_named.js',
      input: { container, path: 'in/' },
      mini_batch_size: 2,
    });
    watched = await runCli(['submit', file, '--set', 'mini_batch_size=3', '--watch'], host.baseUrl);
    runId = /submitted run (\S+)/.exec(watched.stdout)?.[1] ?? '';
  });

  afterAll(async () => {
    await host.kill();
  });

  it('lists its commands with parallel-run --help (the bin, as npx runs it)', async () => {
    // A clean clone's npm ci links no bin of the package itself: run the bin's file as npx would.
    const help = await runCli(['--help'], host.baseUrl, ['node', 'dist/cli/main.js']);
    expect(help.code).toBe(0);
    for (const command of [
      'submit',
      'watch',
      'results',
      'errors',
      'cancel',
      'resume',
      'pipelines run',
      'models register',
    ]) {
      expect(help.stdout).toContain(`\n  ${command} `);
    }
  });

  it('submits with --watch: plain progress lines, the summary, the first errors, exit 0', () => {
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(0);
    expect(runId).not.toBe('');
    // Not a terminal: whole lines, no carriage returns or escape codes.
    expect(watched.stdout).not.toContain('\r');
    expect(watched.stdout).not.toContain('\u001b');
    expect(watched.stdout).toMatch(/^\S+Z (planning|running|finalizing|done)/m);
    expect(watched.stdout).toContain(`run ${runId} Completed`);
    expect(watched.stdout).toContain('items         14: 12 succeeded, 2 failed, 0 not processed');
    expect(watched.stdout).toContain('mini-batches  5:');
    expect(watched.stdout).toContain('first 2 error lines:');
    expect(watched.stdout).toMatch(/bad-1\.txt \(mini-batch \d+, 1 tries, .*\): unreadable: bad-1\.txt/);
  });

  it('watches with --json: one JSON line per change of the run, the ended run last, the same exit code', async () => {
    const watch = await runCli(['watch', runId, '--json'], host.baseUrl);
    expect(watch.code).toBe(0);
    const views = watch.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { runId: string; status: string });
    expect(views.at(-1)).toMatchObject({ runId, status: 'Completed' });

    const file = await settingsFile('json.json', {
      entry_script: 'fail_named.js',
      input: { container, path: 'in/' },
      mini_batch_size: 4,
    });
    const submitted = await runCli(['submit', file, '--watch', '--json'], host.baseUrl);
    expect(submitted.code).toBe(0);
    const [reply, ...changes] = submitted.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { runId: string; status: string; summary?: unknown });
    expect(reply).toMatchObject({ status: 'Pending' });
    expect(changes.at(-1)).toMatchObject({ runId: reply?.runId, status: 'Completed' });
    expect(changes.at(-1)?.summary).toBeDefined();
  });

  it('prints the first rows with results --head 10, and saves them all with --out', async () => {
    const head = await runCli(['results', runId, '--head', '10'], host.baseUrl);
    expect(head.code).toBe(0);
    expect(head.stdout.trimEnd().split('\n')).toEqual(good.slice(0, 10).map((g) => `${g}: ok`));
    const out = path.join(dir, 'results.txt');
    const saved = await runCli(['results', runId, '--out', out], host.baseUrl);
    expect(saved.code).toBe(0);
    expect((await readFile(out, 'utf8')).trimEnd().split('\n')).toEqual(good.map((g) => `${g}: ok`));
    const nowhere = await runCli(
      ['results', runId, '--out', path.join(dir, 'no-such-folder', 'x.txt')],
      host.baseUrl,
    );
    expect(nowhere.code).not.toBe(0);
    expect(nowhere.stderr).toContain('cannot write');
    expect(nowhere.stderr).not.toContain('unexpected error');
  });

  it('prints the error lines with errors, and them as JSON lines with --json', async () => {
    const errors = await runCli(['errors', runId], host.baseUrl);
    expect(errors.code).toBe(0);
    expect(errors.stdout).toContain('bad-1.txt');
    expect(errors.stdout).toContain('unreadable: bad-2.txt');
    const json = await runCli(['errors', runId, '--json', '--head', '1'], host.baseUrl);
    const lines = json.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { item: string });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.item).toMatch(/bad-1\.txt$/);
  });

  it('lists the run, and shows it with status --json', async () => {
    const runs = await runCli(['runs', '--status', 'completed', '--top', '5'], host.baseUrl);
    expect(runs.code).toBe(0);
    expect(runs.stdout).toContain(runId);
    // The service's address before the command, as a person types it (the environment's is no service).
    const first = await runCli(
      ['--url', host.baseUrl, 'runs', '--status', 'completed', '--top', '5'],
      'http://127.0.0.1:9',
    );
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(runId);
    // A group or a typo after it is named as it would be without it.
    const typo = await runCli(['--url', host.baseUrl, 'rnus'], host.baseUrl);
    expect(typo.stderr).toContain("unknown command 'rnus'");
    const status = await runCli(['status', runId, '--json'], host.baseUrl);
    expect((JSON.parse(status.stdout) as { status: string }).status).toBe('Completed');
  });

  it('refuses a bad settings file with exit 3, naming the field, without a stack', async () => {
    const file = await settingsFile('bad.json', {
      entry_script: 'echo.js',
      input: { container, path: 'in/' },
      error_threshold: 'ten',
    });
    const refused = await runCli(['submit', file, '--watch'], host.baseUrl);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('error_threshold: "ten" is not allowed');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses bad usage and an unreachable service with exit 3', async () => {
    const usage = await runCli(['results', runId, '--head', 'ten'], host.baseUrl);
    expect(usage).toMatchObject({ code: 3, stdout: '' });
    expect(usage.stderr).toContain("--head 'ten' is not allowed");
    const missing = await runCli(['submit', path.join(dir, 'nope.json')], host.baseUrl);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('ENOENT');
    const unreachable = await runCli(['status', runId], 'http://127.0.0.1:9');
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('cannot reach http://127.0.0.1:9');
  });

  it('publishes a pipeline, lists it, runs it with --param --watch, and finds its run by pipeline', async () => {
    const name = `cli-${hub.toLowerCase()}`;
    const file = await settingsFile('pipeline.json', {
      $schema: '../schemas/run-settings.schema.json',
      settings: {
        entry_script: 'echo.js',
        input: { container, path: '${{parameters.folder}}' },
        mini_batch_size: '${{parameters.batch}}',
      },
      parameters: { folder: { default: 'in/' }, batch: { default: 5 } },
    });
    const published = await runCli(['pipelines', 'publish', name, file], host.baseUrl);
    expect(published).toMatchObject({ code: 0, stderr: '' });
    expect(published.stdout).toContain(`published pipeline ${name} (parameters: folder, batch)`);
    const listed = await runCli(['pipelines', 'list'], host.baseUrl);
    expect(listed.stdout).toMatch(new RegExp(`^${name} .*parameters: folder, batch$`, 'm'));
    const ran = await runCli(
      ['pipelines', 'run', name, '--param', 'folder=slow/', '--param', 'batch=1', '--watch'],
      host.baseUrl,
    );
    // slow/ holds hang-* files that hang_on.js would spin on; echo.js scores them all.
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('items         3: 3 succeeded, 0 failed');
    const pipelineRunId = /submitted run (\S+)/.exec(ran.stdout)?.[1] ?? '';
    const runs = await runCli(['runs', '--pipeline', name, '--json'], host.baseUrl);
    const listedRuns = (JSON.parse(runs.stdout) as { runs: { runId: string }[] }).runs;
    expect(listedRuns.map((r) => r.runId)).toEqual([pipelineRunId]);
  });

  it('registers a model version from a file and lists it', async () => {
    const name = `cli-${hub.toLowerCase()}`;
    const onnx = path.join(repoRoot, 'samples/mnist/model/mnist.onnx');
    const registered = await runCli(
      ['models', 'register', name, onnx, '--description', 'cli test'],
      host.baseUrl,
    );
    expect(registered).toMatchObject({ code: 0, stdout: `registered model ${name}:1\n` });
    const listed = await runCli(['models', 'list'], host.baseUrl);
    expect(listed.stdout).toMatch(new RegExp(`^${name} +versions 1$`, 'm'));
    const two = await runCli(['models', 'register', name, onnx, onnx], host.baseUrl);
    expect(two.code).toBe(3);
    expect(two.stderr).toContain('one file per version');
  });

  it('refuses resume with exit 3 and a message, whether the service lacks the route or the run is done', async () => {
    const resumed = await runCli(['resume', runId], host.baseUrl);
    expect(resumed.code).toBe(3);
    expect(resumed.stderr).toMatch(/^parallel-run resume: \S/);
    expect(resumed.stderr).not.toMatch(/\n\s+at /);
  });

  it('cancels a running run; watching it then exits 2', async () => {
    const file = await settingsFile('slow.json', {
      entry_script: 'hang_on.js',
      input: { container, path: 'slow/' },
      mini_batch_size: 1,
      run_invocation_timeout: 600,
    });
    const submitted = await runCli(['submit', file, '--json'], host.baseUrl);
    expect(submitted.code).toBe(0);
    const slowId = (JSON.parse(submitted.stdout) as { runId: string }).runId;
    const canceled = await runCli(['cancel', slowId], host.baseUrl);
    expect(canceled.stderr).toBe('');
    expect(canceled.code).toBe(0);
    expect(canceled.stdout).toContain(`run '${slowId}' is being canceled`);
    const watch = await runCli(['watch', slowId], host.baseUrl);
    expect(watch.code).toBe(2);
    expect(watch.stdout).toContain(`run ${slowId} Canceled`);
    const again = await runCli(['cancel', slowId], host.baseUrl);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('is already Canceled');
  });
});
