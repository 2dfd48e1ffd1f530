/**
 * A pipeline's inbox (`"inbox": {"quiet_seconds": 10, "max_files": 10000, "after_run": "move"}`):
 * files dropped under `inbox/<pipeline>/` start runs of it, one per quiet period or `max_files`.
 */
import { given, isObject, rejectNulls, rejectUnknownKeys, type Given, type Issues } from './issues.js';
import { readChoice, readNumber } from './rules.js';
import { MAX_NAMES } from './locations.js';

export const AFTER_RUN_CHOICES = ['move', 'leave'] as const;

export interface InboxSettings {
  /** A run starts once no file arrived for this long. */
  quiet_seconds: number;
  /** ... or at once when this many files wait; a larger drop becomes several runs. */
  max_files: number;
  /** `move`: the files a run took go to `inbox-done/<pipeline>/<runId>/`; `leave`: they stay. */
  after_run: (typeof AFTER_RUN_CHOICES)[number];
}

export const INBOX_DEFAULTS: InboxSettings = { quiet_seconds: 10, max_files: 10_000, after_run: 'move' };
const INBOX_KEYS = ['quiet_seconds', 'max_files', 'after_run'];
export const MAX_QUIET_SECONDS = 3600;
const EXAMPLE = '{"quiet_seconds": 10, "max_files": 10000, "after_run": "move"}';

/** `inbox` of a pipeline definition: an object (`{}` takes every default), or absent for no inbox. */
export function readInbox(issues: Issues, at: Given | undefined): InboxSettings | undefined {
  if (at === undefined) return undefined;
  if (!isObject(at.value)) {
    issues.notAllowed(at, `use an object such as ${EXAMPLE}, or leave "inbox" out`);
    return undefined;
  }
  rejectUnknownKeys(issues, at.value, INBOX_KEYS, 'inbox.');
  rejectNulls(issues, at.value, 'inbox.');
  return {
    quiet_seconds: readNumber(
      issues,
      given(at.value, 'quiet_seconds', 'inbox.'),
      {
        whole: false,
        min: 0,
        minExcluded: true,
        max: MAX_QUIET_SECONDS,
        allowed: `seconds over 0, at most ${MAX_QUIET_SECONDS}, e.g. 10`,
      },
      INBOX_DEFAULTS.quiet_seconds,
    ),
    max_files: readNumber(
      issues,
      given(at.value, 'max_files', 'inbox.'),
      {
        whole: true,
        min: 1,
        max: MAX_NAMES,
        allowed: `a whole number of files from 1 to ${MAX_NAMES}, e.g. 10000`,
      },
      INBOX_DEFAULTS.max_files,
    ),
    after_run: readChoice(
      issues,
      given(at.value, 'after_run', 'inbox.'),
      AFTER_RUN_CHOICES,
      INBOX_DEFAULTS.after_run,
    ),
  };
}
