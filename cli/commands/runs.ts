import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { assignments, countOption, listOption, merged, positionals, stringOption } from '../args.js';
import {
  JSON_HELP,
  STARTED_JSON_HELP,
  WATCH_HELP,
  WATCH_JSON_HELP,
  jsonOption,
  printJson,
  type Command,
  type Context,
} from '../command.js';
import { RUN_HEADER, errorLines, printable, progressLine, runRow, summaryLines } from '../format.js';
import { ApiError, CliError, runPath } from '../http.js';
import { watchRun } from '../watch.js';
import type { ErrorLine, RunState, RunView } from '../wire.js';

interface Started {
  runId: string;
  status: string;
}

/** What a submit prints, then the watch if asked for. */
export async function started(
  context: Context,
  reply: Started,
  watch: boolean,
  json: boolean,
): Promise<number> {
  if (json && !watch) {
    printJson(context.out, reply);
    return 0;
  }
  if (json) {
    // The reply, then the run as it changes: one JSON line each.
    context.out.write(`${JSON.stringify(reply)}\n`);
    return watchRun(context.api, reply.runId, context.out, true);
  }
  context.out.write(`submitted run ${reply.runId}\n`);
  if (!watch) {
    context.out.write(`follow it: parallel-run watch ${reply.runId}\n`);
    return 0;
  }
  return watchRun(context.api, reply.runId, context.out);
}

async function readSettings(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read settings file '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError(
      `settings file '${file}' is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CliError(`settings file '${file}' must hold a JSON object of settings`);
  }
  return doc as Record<string, unknown>;
}

const submit: Command = {
  words: ['submit'],
  usage: 'parallel-run submit <settings.json> [--set key=value …] [--watch] [--json]',
  summary: 'submit a run from a settings file',
  examples: [
    'parallel-run submit samples/settings/mnist-tutorial.json --watch',
    'parallel-run submit run.json --set mini_batch_size=100 --set input.path=mnist-new/',
  ],
  options: { set: { type: 'string', multiple: true }, watch: { type: 'boolean' }, ...jsonOption },
  optionHelp: [
    '--set key=value   override a setting (dotted for nested fields; JSON values keep their type)',
    WATCH_HELP,
    STARTED_JSON_HELP,
  ],
  async run(context, parsed) {
    const [file = ''] = positionals(parsed, ['settings.json'], this.usage);
    const settings = merged(await readSettings(file), assignments(listOption(parsed, 'set'), 'set'));
    const reply = await context.api.json<Started>('POST', '/api/runs', settings);
    return started(context, reply, parsed.values.watch === true, parsed.values.json === true);
  },
};

const RUN_STATES: RunState[] = ['Pending', 'Running', 'Completed', 'Failed', 'Canceled'];

function statusFilter(raw: string | undefined): RunState | undefined {
  if (raw === undefined) return undefined;
  const state = RUN_STATES.find((s) => s.toLowerCase() === raw.toLowerCase());
  if (state) return state;
  throw new CliError(`--status '${raw}' is not allowed: use one of ${RUN_STATES.join(', ')}`);
}

const runs: Command = {
  words: ['runs'],
  usage: 'parallel-run runs [--status <state>] [--pipeline <name>] [--top N] [--json]',
  summary: 'list runs, newest first',
  examples: ['parallel-run runs --status running', 'parallel-run runs --pipeline mnist --top 5'],
  options: {
    status: { type: 'string' },
    pipeline: { type: 'string' },
    top: { type: 'string' },
    ...jsonOption,
  },
  optionHelp: [
    '--status <state>  only runs in this state: Pending, Running, Completed, Failed, Canceled',
    '--pipeline <name> only runs of this pipeline',
    '--top N           at most N runs',
    JSON_HELP,
  ],
  async run(context, parsed) {
    positionals(parsed, [], this.usage);
    const status = statusFilter(stringOption(parsed, 'status'));
    const pipelineName = stringOption(parsed, 'pipeline');
    const top = countOption(parsed, 'top');
    // Asked of the service, which then reads only the runs shown, and applied here too: a service
    // from before it took filters answers every run.
    const query = new URLSearchParams();
    if (status !== undefined) query.set('status', status);
    if (pipelineName !== undefined) query.set('pipeline', pipelineName);
    if (top !== undefined) query.set('top', String(top));
    const path = query.size > 0 ? `/api/runs?${query.toString()}` : '/api/runs';
    const all = (await context.api.json<{ runs: RunView[] }>('GET', path)).runs;
    const shown = all
      .filter((r) => status === undefined || r.status === status)
      .filter((r) => pipelineName === undefined || r.pipeline === pipelineName)
      .slice(0, top);
    if (parsed.values.json === true) printJson(context.out, { runs: shown });
    else context.out.write([RUN_HEADER, ...shown.map(runRow)].join('\n') + '\n');
    return 0;
  },
};

const status: Command = {
  words: ['status'],
  usage: 'parallel-run status <runId> [--json]',
  summary: "a run's status, progress and summary",
  examples: ['parallel-run status mnist-tutorial-20240101-120000-a1b2c3'],
  options: jsonOption,
  optionHelp: [JSON_HELP],
  async run(context, parsed) {
    const [runId = ''] = positionals(parsed, ['runId'], this.usage);
    const view = await context.api.json<RunView>('GET', runPath(runId));
    if (parsed.values.json === true) printJson(context.out, view);
    else {
      const lines = view.summary
        ? summaryLines(view)
        : [`run ${view.runId} ${view.status}`, `  ${progressLine(view)}`];
      context.out.write(`${lines.join('\n')}\n`);
    }
    return 0;
  },
};

const watch: Command = {
  words: ['watch'],
  usage: 'parallel-run watch <runId> [--json]',
  summary: 'follow a run until it ends (exit 0 Completed, 1 Failed, 2 Canceled)',
  examples: ['parallel-run watch mnist-tutorial-20240101-120000-a1b2c3 && echo done'],
  options: jsonOption,
  optionHelp: [WATCH_JSON_HELP],
  async run(context, parsed) {
    const [runId = ''] = positionals(parsed, ['runId'], this.usage);
    return watchRun(context.api, runId, context.out, parsed.values.json === true);
  },
};

async function saveTo(context: Context, path: string, file: string): Promise<void> {
  const res = await context.api.send('GET', path);
  if (!res.body) throw new CliError(`the service sent no body for ${path}`);
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(file));
  } catch (err) {
    // A folder that does not exist, no permission: the user's file, not a bug of the CLI.
    throw new CliError(`cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  context.out.write(`wrote ${file}\n`);
}

const results: Command = {
  words: ['results'],
  usage: 'parallel-run results <runId> [--head N] [--out file]',
  summary: "a run's output (the append_row file), in input order",
  examples: [
    'parallel-run results mnist-tutorial-20240101-120000-a1b2c3 --head 10',
    'parallel-run results mnist-tutorial-20240101-120000-a1b2c3 --out results.txt',
  ],
  options: { head: { type: 'string' }, out: { type: 'string' } },
  optionHelp: [
    '--head N          only the first N rows',
    '--out <file>      save to a file instead of printing',
  ],
  async run(context, parsed) {
    const [runId = ''] = positionals(parsed, ['runId'], this.usage);
    const head = countOption(parsed, 'head');
    const path = runPath(runId, head === undefined ? '/output' : `/output?head=${head}`);
    const file = stringOption(parsed, 'out');
    if (file !== undefined) {
      await saveTo(context, path, file);
      return 0;
    }
    const res = await context.api.send('GET', path);
    // The service sends a text output as text/plain; anything else (Parquet) is bytes for a file.
    const type = res.headers.get('content-type') ?? '';
    if (!type.startsWith('text/')) {
      await res.body?.cancel();
      throw new CliError(`the output of run ${runId} is ${type} (not text): save it with --out <file>`);
    }
    context.out.write(await res.text());
    return 0;
  },
};

const errors: Command = {
  words: ['errors'],
  usage: 'parallel-run errors <runId> [--head N] [--json]',
  summary: "a run's failed items, with their errors and stacks",
  examples: ['parallel-run errors mnist-tutorial-20240101-120000-a1b2c3 --head 5'],
  options: { head: { type: 'string' }, ...jsonOption },
  optionHelp: [
    '--head N          only the first N lines',
    '--json            the errors.jsonl lines as they are',
  ],
  async run(context, parsed) {
    const [runId = ''] = positionals(parsed, ['runId'], this.usage);
    const head = countOption(parsed, 'head');
    const text = await context.api.text(
      runPath(runId, head === undefined ? '/errors' : `/errors?head=${head}`),
    );
    if (parsed.values.json === true) {
      context.out.write(text);
      return 0;
    }
    const lines = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as ErrorLine);
    if (lines.length === 0) context.out.write(`run ${runId} has no failed items\n`);
    for (const [i, line] of errorLines(lines).entries()) {
      context.out.write(`${line}\n`);
      const stack = lines[i]?.stack;
      if (stack) context.out.write(`${printable(stack).replace(/^/gm, '      ')}\n`);
    }
    return 0;
  },
};

const cancel: Command = {
  words: ['cancel'],
  usage: 'parallel-run cancel <runId>',
  summary: 'cancel a pending or running run',
  examples: ['parallel-run cancel mnist-tutorial-20240101-120000-a1b2c3'],
  options: jsonOption,
  optionHelp: [JSON_HELP],
  async run(context, parsed) {
    const [runId = ''] = positionals(parsed, ['runId'], this.usage);
    const reply = await context.api.json<{ status: string; message: string }>(
      'POST',
      runPath(runId, '/cancel'),
    );
    if (parsed.values.json === true) printJson(context.out, reply);
    else context.out.write(`${reply.message}\n`);
    return 0;
  },
};

const resume: Command = {
  words: ['resume'],
  usage: 'parallel-run resume <runId> [--watch] [--json]',
  summary: 'run again what a failed or canceled run left undone (needs the resume API)',
  examples: ['parallel-run resume mnist-tutorial-20240101-120000-a1b2c3 --watch'],
  options: { watch: { type: 'boolean' }, ...jsonOption },
  optionHelp: [WATCH_HELP, STARTED_JSON_HELP],
  async run(context, parsed) {
    const [runId = ''] = positionals(parsed, ['runId'], this.usage);
    let reply: Started;
    try {
      reply = await context.api.json<Started>('POST', runPath(runId, '/resume'));
    } catch (err) {
      // Our API answers 404 as {error: …} for a run it does not know; a bare 404 is a route it lacks.
      if (err instanceof ApiError && err.status === 404 && err.problem.code !== 'NOT_FOUND') {
        throw new CliError(
          `this service has no resume API (POST /api/runs/{id}/resume): update it to resume runs`,
        );
      }
      throw err;
    }
    return started(context, reply, parsed.values.watch === true, parsed.values.json === true);
  },
};

export const runCommands: Command[] = [submit, runs, status, watch, results, errors, cancel, resume];
