import type { Command } from './command.js';

export const GLOBAL_HELP = [
  '--url <url>       the service (default: $PARALLEL_RUN_URL, else http://localhost:7071)',
  '--key <key>       function key, sent as x-functions-key (default: $PARALLEL_RUN_KEY)',
  '-h, --help        help for a command',
];

export function overview(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.words.join(' ').length));
  return [
    'parallel-run: submit and follow batch inference runs (ParallelRunStep semantics) over HTTP',
    '',
    'usage: parallel-run <command> [arguments] [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'options for every command:',
    ...GLOBAL_HELP.map((l) => `  ${l}`),
    '',
    'exit codes: 0 Completed (or done), 1 Failed, 2 Canceled, 3 bad usage, refused by the service or unreachable',
    "'parallel-run <command> --help' shows a command's options and examples.",
    '',
  ].join('\n');
}

export function commandHelp(command: Command): string {
  return [
    command.summary,
    '',
    `usage: ${command.usage}`,
    '',
    'options:',
    ...[...command.optionHelp, ...GLOBAL_HELP].map((l) => `  ${l}`),
    '',
    'examples:',
    ...command.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}
