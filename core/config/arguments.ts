/** The run's `arguments`, parsed, as an entry script receives them (`ctx.arguments`). */
export type ScriptArguments = Record<string, string | number | boolean>;
import { isObject, show, type Given, type Issues } from './issues.js';

export interface ParsedArguments {
  arguments: ScriptArguments;
  /** The arguments as a command line, as ParallelRunStep passes them. */
  arguments_list: string[];
}

/** `--name` or `--name=value`; names as argparse takes them. */
const FLAG = /^--([A-Za-z_][A-Za-z0-9_-]*)(?:=(.*))?$/s;
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Plain decimal numbers only: `007` stays a string, since leading zeros mean an identifier, not a number. */
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const EXAMPLE = '["--threshold", "0.5", "--verbose"]';

/** argparse turns `--max-count` into `max_count`; scripts get the same names here. */
function argumentName(name: string): string {
  return name.replace(/-/g, '_');
}

function isScalar(value: unknown): value is string | number | boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** `"0.5"` → 0.5, `"true"` → true; anything else stays the string it was. */
export function parseArgumentValue(text: string): string | number | boolean {
  if (/^true$/i.test(text)) return true;
  if (/^false$/i.test(text)) return false;
  const number = Number(text);
  return NUMBER.test(text) && Number.isFinite(number) ? number : text;
}

/** Builds the arguments object, refusing reserved and repeated names. */
class ArgumentsBuilder {
  private readonly values = new Map<string, string | number | boolean>();

  constructor(
    private readonly issues: Issues,
    private readonly reserved: ReadonlySet<string>,
  ) {}

  set(field: string, given: string, name: string, value: string | number | boolean): void {
    if (this.reserved.has(name.toLowerCase())) {
      this.issues.notAllowed(
        { field, value: given },
        `"${name}" is a setting name, reserved as in ParallelRunStep; give it as a setting or rename the argument`,
      );
    } else if (this.values.has(name)) {
      this.issues.notAllowed({ field, value: given }, `"${name}" is given more than once; give it once`);
    } else {
      this.values.set(name, value);
    }
  }

  /** Object.fromEntries: a name such as `__proto__` stays an ordinary key. */
  build(): ScriptArguments {
    return Object.fromEntries(this.values);
  }
}

/**
 * ParallelRunStep style: `["--threshold", "0.5", "--verbose"]` → `{threshold: 0.5, verbose: true}`. A name
 * followed by another name (or by nothing) is a switch: true. `fieldOf(i)` names token i in issues.
 */
export function parseArgumentList(
  issues: Issues,
  tokens: readonly string[],
  fieldOf: (index: number) => string,
  reserved: ReadonlySet<string>,
): ScriptArguments {
  const builder = new ArgumentsBuilder(issues, reserved);
  let pending: { name: string; flag: string; index: number } | undefined;
  const flush = (value: string | number | boolean) => {
    if (pending) builder.set(fieldOf(pending.index), pending.flag, pending.name, value);
    pending = undefined;
  };
  tokens.forEach((token, index) => {
    const flag = FLAG.exec(token);
    if (flag) {
      flush(true);
      pending = { name: argumentName(flag[1] ?? ''), flag: token, index };
      if (flag[2] !== undefined) flush(parseArgumentValue(flag[2]));
    } else if (pending && !token.startsWith('--')) {
      flush(parseArgumentValue(token));
    } else {
      flush(true);
      issues.notAllowed(
        { field: fieldOf(index), value: token },
        `each value must follow a --name, and names are letters, digits, "_" and "-", e.g. ${EXAMPLE}`,
      );
    }
  });
  flush(true);
  return builder.build();
}

function readArgumentTokens(issues: Issues, at: Given, list: readonly unknown[]): string[] | undefined {
  const tokens: string[] = [];
  list.forEach((item, index) => {
    if (isScalar(item)) {
      tokens.push(String(item));
    } else {
      issues.notAllowed({ field: `${at.field}[${index}]`, value: item }, `use a string, e.g. ${EXAMPLE}`);
    }
  });
  return tokens.length === list.length ? tokens : undefined;
}

function readArgumentObject(
  issues: Issues,
  at: Given,
  obj: Record<string, unknown>,
  reserved: ReadonlySet<string>,
) {
  const builder = new ArgumentsBuilder(issues, reserved);
  for (const [key, value] of Object.entries(obj)) {
    const field = `${at.field}.${key}`;
    if (!NAME.test(key)) {
      issues.add(
        field,
        `the name ${show(key)} is not allowed: use letters, digits, "_" and "-", e.g. "threshold"`,
      );
    } else if (isScalar(value)) {
      builder.set(field, key, argumentName(key), value);
    } else {
      issues.notAllowed({ field, value }, 'use a string, a number or true/false');
    }
  }
  const parsed = builder.build();
  return {
    arguments: parsed,
    arguments_list: Object.entries(parsed).flatMap(([k, v]) => [`--${k}`, String(v)]),
  };
}

/** `arguments`: a ParallelRunStep-style list, or an object of scalars. */
export function readArguments(issues: Issues, at: Given, reserved: ReadonlySet<string>): ParsedArguments {
  const { value } = at;
  if (Array.isArray(value)) {
    const tokens = readArgumentTokens(issues, at, value) ?? [];
    const parsed = parseArgumentList(issues, tokens, (i) => `${at.field}[${i}]`, reserved);
    return { arguments: parsed, arguments_list: tokens };
  }
  if (isObject(value)) return readArgumentObject(issues, at, value, reserved);
  issues.notAllowed(at, `use a list such as ${EXAMPLE}, or an object such as {"threshold": 0.5}`);
  return { arguments: {}, arguments_list: [] };
}

/** Azure ML v2 `program_arguments`: one command-line string, split on whitespace (no quoting). */
export function readProgramArguments(
  issues: Issues,
  at: Given,
  reserved: ReadonlySet<string>,
): ParsedArguments {
  if (typeof at.value !== 'string') {
    issues.notAllowed(at, 'use one string of arguments, e.g. "--threshold 0.5 --verbose"');
    return { arguments: {}, arguments_list: [] };
  }
  const tokens = at.value.split(/\s+/).filter((token) => token !== '');
  return { arguments: parseArgumentList(issues, tokens, () => at.field, reserved), arguments_list: tokens };
}
