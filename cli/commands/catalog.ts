import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { assignments, listOption, positionals, stringOption } from '../args.js';
import { JSON_HELP, STARTED_JSON_HELP, WATCH_HELP, jsonOption, printJson, type Command } from '../command.js';
import { CliError, pathSegment } from '../http.js';
import type { ModelEntry, ModelInfo } from '../wire.js';
import { started } from './runs.js';

async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read ${what} '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError(
      `${what} '${file}' is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

const pipelinePath = (name: string) => `/api/pipelines/${pathSegment(name, 'name')}`;

const publish: Command = {
  words: ['pipelines', 'publish'],
  usage: 'parallel-run pipelines publish <name> <pipeline.json> [--json]',
  summary: 'publish (or replace) a pipeline: settings with ${{parameters.x}} and their defaults',
  examples: ['parallel-run pipelines publish mnist samples/settings/mnist-pipeline.json'],
  options: jsonOption,
  optionHelp: [JSON_HELP],
  async run(context, parsed) {
    const [name = '', file = ''] = positionals(parsed, ['name', 'pipeline.json'], this.usage);
    const body = await readJsonFile(file, 'pipeline file');
    const reply = await context.api.json<{ name: string; parameters: Record<string, unknown> }>(
      'PUT',
      pipelinePath(name),
      body,
    );
    if (parsed.values.json === true) printJson(context.out, reply);
    else
      context.out.write(
        `published pipeline ${reply.name} (parameters: ${Object.keys(reply.parameters).join(', ') || 'none'})\n`,
      );
    return 0;
  },
};

const runPipeline: Command = {
  words: ['pipelines', 'run'],
  usage: 'parallel-run pipelines run <name> [--param key=value …] [--watch] [--json]',
  summary: 'start a run of a published pipeline',
  examples: ['parallel-run pipelines run mnist --param folder=mnist-new/ --param batch=20 --watch'],
  options: { param: { type: 'string', multiple: true }, watch: { type: 'boolean' }, ...jsonOption },
  optionHelp: [
    '--param key=value a parameter value (JSON values keep their type)',
    WATCH_HELP,
    STARTED_JSON_HELP,
  ],
  async run(context, parsed) {
    const [name = ''] = positionals(parsed, ['name'], this.usage);
    const parameters = assignments(listOption(parsed, 'param'), 'param');
    const reply = await context.api.json<{ runId: string; status: string }>(
      'POST',
      `${pipelinePath(name)}/runs`,
      { parameters },
    );
    return started(context, reply, parsed.values.watch === true, parsed.values.json === true);
  },
};

const listPipelines: Command = {
  words: ['pipelines', 'list'],
  usage: 'parallel-run pipelines list [--json]',
  summary: 'list published pipelines',
  examples: ['parallel-run pipelines list'],
  options: jsonOption,
  optionHelp: [JSON_HELP],
  async run(context, parsed) {
    positionals(parsed, [], this.usage);
    const reply = await context.api.json<{
      pipelines: { name: string; parameters: string[]; updated: string }[];
    }>('GET', '/api/pipelines');
    if (parsed.values.json === true) printJson(context.out, reply);
    else
      for (const p of reply.pipelines)
        context.out.write(
          `${p.name.padEnd(32)}  ${p.updated}  parameters: ${p.parameters.join(', ') || 'none'}\n`,
        );
    return 0;
  },
};

const register: Command = {
  words: ['models', 'register'],
  usage: 'parallel-run models register <name> <file> [--description <text>] [--json]',
  summary: 'register the next version of a model from a file',
  examples: ['parallel-run models register mnist samples/mnist/model/mnist.onnx --description "MLP, 97%"'],
  options: { description: { type: 'string' }, ...jsonOption },
  optionHelp: ['--description <t> a description kept with the version', JSON_HELP],
  async run(context, parsed) {
    if (parsed.positionals.length > 2) {
      throw new CliError(
        'one file per version: the API registers a model version from a single file (PUT /api/models/{name})',
      );
    }
    const [name = '', file = ''] = positionals(parsed, ['name', 'file'], this.usage);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new CliError(
        `cannot read model file '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
    const query = new URLSearchParams({ file: path.basename(file) });
    const description = stringOption(parsed, 'description');
    if (description !== undefined) query.set('description', description);
    const res = await context.api.send(
      'PUT',
      `/api/models/${pathSegment(name, 'name')}?${query.toString()}`,
      bytes,
      'application/octet-stream',
    );
    const info = (await res.json()) as ModelInfo;
    if (parsed.values.json === true) printJson(context.out, info);
    else context.out.write(`registered model ${info.name}:${info.version}\n`);
    return 0;
  },
};

const listModels: Command = {
  words: ['models', 'list'],
  usage: 'parallel-run models list [--json]',
  summary: 'list registered models and their versions',
  examples: ['parallel-run models list'],
  options: jsonOption,
  optionHelp: [JSON_HELP],
  async run(context, parsed) {
    positionals(parsed, [], this.usage);
    const reply = await context.api.json<{ models: ModelEntry[] }>('GET', '/api/models');
    if (parsed.values.json === true) printJson(context.out, reply);
    else
      for (const m of reply.models)
        context.out.write(`${m.name.padEnd(32)}  versions ${m.versions.join(', ') || 'none'}\n`);
    return 0;
  },
};

export const catalogCommands: Command[] = [publish, runPipeline, listPipelines, register, listModels];
