import type { Options, Parsed } from './args.js';
import type { Api } from './http.js';
import type { Out } from './watch.js';

export interface Context {
  api: Api;
  out: Out;
}

/** One command: its words (`pipelines run`), its help, and what it does; it returns the exit code. */
export interface Command {
  words: string[];
  usage: string;
  summary: string;
  examples: string[];
  options: Options;
  /** Lines describing the options, for --help. */
  optionHelp: string[];
  run(context: Context, parsed: Parsed): Promise<number>;
}

export const jsonOption: Options = { json: { type: 'boolean' } };
export const JSON_HELP = '--json            print the API reply as JSON (for scripts)';
export const WATCH_JSON_HELP =
  '--json            the run as one JSON line each time it changes, the ended run last (for scripts)';
export const STARTED_JSON_HELP =
  '--json            the reply as JSON; with --watch, its first JSON line, then the run as watch --json writes it';
export const WATCH_HELP =
  '--watch           follow the run until it ends; exit 0 Completed, 1 Failed, 2 Canceled';

export function printJson(out: Out, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}
