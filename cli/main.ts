#!/usr/bin/env node
import process from 'node:process';
import { parse } from './args.js';
import type { Command } from './command.js';
import { catalogCommands } from './commands/catalog.js';
import { runCommands } from './commands/runs.js';
import { commandHelp, overview } from './help.js';
import { Api, ApiError, CliError } from './http.js';
import { exitCodes, type Out } from './watch.js';

const commands: Command[] = [...runCommands, ...catalogCommands];

const globalOptions = {
  url: { type: 'string' },
  key: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * `--url X` and `--key X` (or `--url=X`) given before the command's words: they belong to every
 * command, and `parallel-run --url http://host runs` reads as naturally. `rest` names the command.
 */
function leadingGlobals(argv: string[]): { leading: string[]; rest: string[] } {
  const leading: string[] = [];
  let at = 0;
  while (at < argv.length) {
    const word = argv[at] ?? '';
    if (/^--(url|key)=/.test(word)) {
      leading.push(word);
      at += 1;
    } else if ((word === '--url' || word === '--key') && at + 1 < argv.length) {
      leading.push(word, argv[at + 1] ?? '');
      at += 2;
    } else break;
  }
  return { leading, rest: argv.slice(at) };
}

/** The command named by the first one or two words of `argv`, and the arguments after them. */
function find(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (const command of commands) {
    if (command.words.every((w, i) => argv[i] === w))
      return { command, rest: argv.slice(command.words.length) };
  }
  return undefined;
}

function describeProblem(err: ApiError): string {
  const { problem } = err;
  if (problem.issues && problem.issues.length > 0) {
    return ['the service refused it:', ...problem.issues.map((i) => `  ${i.field}: ${i.message}`)].join('\n');
  }
  return `${problem.message}${problem.field && !problem.message.includes(problem.field) ? ` (field: ${problem.field})` : ''}`;
}

const isHelp = (word: string | undefined) =>
  word === undefined || word === '--help' || word === '-h' || word === 'help';

/** No command matched: the overview (of a group, for `pipelines`), or an unknown command. */
function helpOrUnknown(argv: string[], out: Out, err: (text: string) => void): number {
  const group = commands.filter((c) => c.words.length > 1 && c.words[0] === argv[0]);
  if (group.length === 0 && isHelp(argv[0])) {
    out.write(overview(commands));
    return 0;
  }
  if (group.length > 0 && isHelp(argv[1])) {
    out.write(overview(group));
    return 0;
  }
  err(
    `parallel-run: unknown command '${argv.slice(0, group.length > 0 ? 2 : 1).join(' ')}'\n\n${overview(group.length > 0 ? group : commands)}`,
  );
  return exitCodes.usage;
}

/**
 * The function key goes in a header: a character a header cannot hold (a line break pasted with it)
 * made every request fail as if the service could not be reached.
 */
function checkedKey(key: string | undefined): string | undefined {
  if (key !== undefined && !/^[\x21-\x7e]*$/.test(key))
    throw new CliError(
      '--key (or PARALLEL_RUN_KEY) holds a space, line break or other character a function key never has: copy the key alone',
    );
  return key;
}

/**
 * The service's address, checked before any request: one holding a user name or password can never
 * be fetched (and the failure would repeat the password on the screen), and one that is not an
 * http(s) URL would fail as if the service could not be reached.
 */
function checkedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(
      `--url (or PARALLEL_RUN_URL) is not a URL: give the service's address, e.g. http://localhost:7071`,
    );
  }
  if (parsed.username !== '' || parsed.password !== '')
    throw new CliError(
      '--url (or PARALLEL_RUN_URL) holds a user name or password: give the address alone, and the function key with --key',
    );
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new CliError(
      `--url (or PARALLEL_RUN_URL) is not http or https: give the service's address, e.g. http://localhost:7071`,
    );
  return url.replace(/\/+$/, '');
}

async function main(
  argv: string[],
  out: Out,
  err: (text: string) => void,
  env = process.env,
): Promise<number> {
  const { leading, rest: words } = leadingGlobals(argv);
  const found = find(words);
  if (!found) return helpOrUnknown(words, out, err);
  const { command, rest } = found;
  try {
    const parsed = parse([...leading, ...rest], { ...globalOptions, ...command.options });
    if (parsed.values.help === true) {
      out.write(commandHelp(command));
      return 0;
    }
    // An empty variable counts as unset, as shells leave them.
    const url =
      (typeof parsed.values.url === 'string' ? parsed.values.url : env.PARALLEL_RUN_URL) ||
      'http://localhost:7071';
    const key = checkedKey(typeof parsed.values.key === 'string' ? parsed.values.key : env.PARALLEL_RUN_KEY);
    const api = new Api({ url: checkedUrl(url), ...(key ? { key } : {}) });
    return await command.run({ api, out }, parsed);
  } catch (e) {
    if (e instanceof ApiError) err(`parallel-run ${command.words.join(' ')}: ${describeProblem(e)}\n`);
    else if (e instanceof CliError) err(`parallel-run ${command.words.join(' ')}: ${e.message}\n`);
    else throw e;
    return exitCodes.usage;
  }
}

const stdout: Out = {
  write: (text) => process.stdout.write(text),
  isTTY: process.stdout.isTTY,
  columns: process.stdout.columns || 80,
};

process.exitCode = await main(process.argv.slice(2), stdout, (text) => process.stderr.write(text)).catch(
  (e: unknown) => {
    // A bug of the CLI itself: one line, not a stack, and the usage exit code.
    process.stderr.write(`parallel-run: unexpected error: ${e instanceof Error ? e.message : String(e)}\n`);
    return exitCodes.usage;
  },
);
