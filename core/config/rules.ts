import type { Given, Issues } from './issues.js';

/** The range of a numeric setting, and how to say it in a message. */
export interface NumberRule {
  whole: boolean;
  min: number;
  /** `min` itself is not allowed (timeouts must be over 0). */
  minExcluded?: boolean;
  max?: number;
  /** e.g. `a whole number of tries, at least 1, e.g. 3`. */
  allowed: string;
}

function fits(value: number, rule: NumberRule): boolean {
  if (!Number.isFinite(value) || (rule.whole && !Number.isSafeInteger(value))) return false;
  if (rule.minExcluded ? value <= rule.min : value < rule.min) return false;
  return rule.max === undefined || value <= rule.max;
}

/** Numbers must be JSON numbers; a quoted one gets told so, since that is the likely slip. */
export function readNumber(
  issues: Issues,
  at: Given | undefined,
  rule: NumberRule,
  fallback: number,
): number {
  if (at === undefined) return fallback;
  if (typeof at.value === 'number' && fits(at.value, rule)) return at.value;
  // A quoted number that would be allowed unquoted; "NaN", "Infinity" or "1e999" are not numbers to suggest.
  const quoted = typeof at.value === 'string' && at.value.trim() !== '' && fits(Number(at.value), rule);
  issues.notAllowed(at, `use ${quoted ? 'a number without quotes: ' : ''}${rule.allowed}`);
  return fallback;
}

export function listChoices(choices: readonly string[]): string {
  return choices.map((c) => `"${c}"`).join(', ');
}

/** One of a few strings; `normalize` lets e.g. `info` stand for `INFO`. */
export function readChoice<T extends string>(
  issues: Issues,
  at: Given | undefined,
  choices: readonly T[],
  fallback: T,
  normalize: (text: string) => string = (text) => text,
): T {
  if (at === undefined) return fallback;
  const text = typeof at.value === 'string' ? normalize(at.value) : undefined;
  const choice = choices.find((c) => c === text);
  if (choice !== undefined) return choice;
  issues.notAllowed(at, `use one of ${listChoices(choices)}`);
  return fallback;
}

export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** A short free-text string such as a run name: one line, not empty. */
export function readLabel(issues: Issues, at: Given | undefined, maxLength: number): string | undefined {
  if (at === undefined) return undefined;
  const { value } = at;
  if (
    typeof value === 'string' &&
    value.trim() !== '' &&
    value.length <= maxLength &&
    !hasControlCharacters(value)
  ) {
    return value;
  }
  issues.notAllowed(at, `use a one-line text of 1 to ${maxLength} characters, e.g. "mnist nightly"`);
  return undefined;
}
