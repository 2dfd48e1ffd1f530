import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './http.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** node:util's parser in strict mode; its own messages name the flag ("Unknown option '--x'"). */
export function parse(argv: string[], options: Options): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
}

export function stringOption(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listOption(parsed: Parsed, name: string): string[] {
  const value = parsed.values[name];
  return Array.isArray(value) ? value : [];
}

/** `--head 10`: a whole number from 1 to `max`, or undefined when not given. */
export function countOption(parsed: Parsed, name: string, max = 100_000): number | undefined {
  const raw = stringOption(parsed, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > max) {
    throw new CliError(`--${name} '${raw}' is not allowed: use a whole number from 1 to ${max}`);
  }
  return n;
}

/** The positional arguments a command needs, or a usage error naming the first one missing. */
export function positionals(parsed: Parsed, names: string[], usage: string): string[] {
  const missing = names[parsed.positionals.length];
  if (missing !== undefined) throw new CliError(`missing <${missing}>: usage: ${usage}`);
  if (parsed.positionals.length > names.length) {
    const extra = parsed.positionals[names.length] ?? '';
    throw new CliError(`unexpected argument '${extra}': usage: ${usage}`);
  }
  return parsed.positionals;
}

/**
 * `"5"` → 5, `true` → true, `"[1,2]"` → [1, 2]; anything that is not JSON stays the text it was, and
 * so does a number past a double (`1e400` parses as Infinity, which a request body would carry as
 * null: the service would then name a null nobody wrote).
 */
function valueOf(text: string): unknown {
  try {
    return JSON.parse(text, (_key, value: unknown) => {
      if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError(text);
      return value;
    }) as unknown;
  } catch {
    return text;
  }
}

const UNSAFE_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * `key=value` pairs into an object: `input.path=mnist/` sets a nested field, and values that read as
 * JSON (numbers, booleans, lists) keep their type, as they would in the settings file.
 */
export function assignments(pairs: string[], flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const keys = eq > 0 ? pair.slice(0, eq).split('.') : [];
    if (keys.length === 0 || keys.some((k) => k === '' || UNSAFE_KEYS.has(k))) {
      throw new CliError(`--${flag} '${pair}' is not allowed: use key=value, e.g. --${flag} node_count=2`);
    }
    setPath(out, keys, valueOf(pair.slice(eq + 1)));
  }
  return out;
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  keys.slice(0, -1).forEach((key) => {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
  node[keys[keys.length - 1] ?? ''] = value;
}

/** Settings with `overrides` merged in, nested objects field by field. */
export function merged(
  base: Record<string, unknown>,
  overrides: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = out[key];
    const bothObjects = [current, value].every(
      (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
    );
    out[key] = bothObjects
      ? merged(current as Record<string, unknown>, value as Record<string, unknown>)
      : value;
  }
  return out;
}
