import { SettingsError, type SettingIssue } from '../errors.js';
import { suggestName } from './suggest.js';

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One setting as the user gave it: its dotted field name and its value. */
export interface Given {
  field: string;
  value: unknown;
}

/**
 * `obj[key]` as given, or undefined when absent. `null` is read as absent here; callers report it first
 * with `rejectNulls`, so null never silently means "the default".
 */
export function given(obj: JsonObject, key: string, prefix = ''): Given | undefined {
  if (!Object.hasOwn(obj, key)) return undefined;
  const value = obj[key];
  return value === null || value === undefined ? undefined : { field: prefix + key, value };
}

const SHOWN_MAX = 80;

/** The value as JSON, cut short: a message quotes what was given without echoing a whole body back. */
export function show(value: unknown): string {
  const text =
    value === undefined
      ? 'nothing'
      : typeof value === 'number' && !Number.isFinite(value)
        ? String(value)
        : JSON.stringify(value);
  return text.length > SHOWN_MAX ? `${text.slice(0, SHOWN_MAX)}…` : text;
}

/** Collects every problem in the settings, so that one reply lists them all. */
export class Issues {
  readonly list: SettingIssue[] = [];

  add(field: string, message: string): void {
    this.list.push({ field, message });
  }

  /** The one shape of a value error: `<value> is not allowed: <what is allowed>`. */
  notAllowed(at: Given, allowed: string): void {
    this.add(at.field, `${show(at.value)} is not allowed: ${allowed}`);
  }

  notSupported(at: Given, instead: string): void {
    this.add(at.field, `${show(at.value)} is not supported yet: ${instead}`);
  }

  /** Not reported again for a field already named (a null there is reported as null, not as missing). */
  missing(field: string, what: string): void {
    if (this.list.some((issue) => issue.field === field)) return;
    this.add(field, `missing: ${what}`);
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new SettingsError(this.list);
  }
}

const FIELD_NAME_MAX = 64;

/**
 * Reports every key of `obj` whose value is null: leaving a setting out gives its default, null is
 * refused rather than read one way or the other. `meaningful` names keys where null has a meaning.
 */
export function rejectNulls(
  issues: Issues,
  obj: JsonObject,
  prefix = '',
  meaningful: readonly string[] = [],
): void {
  for (const [key, value] of Object.entries(obj)) {
    if (value !== null || meaningful.includes(key)) continue;
    issues.add(
      prefix + key.slice(0, FIELD_NAME_MAX),
      'null is not allowed: leave the setting out to get its default, or give a value',
    );
  }
}

/** Reports every key of `obj` that is not in `known`, with the closest known name when one is close. */
export function rejectUnknownKeys(
  issues: Issues,
  obj: JsonObject,
  known: readonly string[],
  prefix = '',
): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const suggestion = suggestName(key, known);
    const hint = suggestion === undefined ? '' : `; did you mean "${prefix}${suggestion}"?`;
    issues.add(prefix + key.slice(0, FIELD_NAME_MAX), `unknown setting${hint}`);
  }
}
