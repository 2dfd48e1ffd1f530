import type { Given, Issues } from './issues.js';
import { hasControlCharacters } from './rules.js';

/** What one kind of path may look like, and how to say it in a message. */
export interface PathRule {
  /** e.g. `a folder path inside the container, e.g. "mnist/"`. */
  allowed: string;
  maxLength: number;
  emptyOk?: boolean;
  trailingSlashOk?: boolean;
  /** `./data/mnist` is natural for local folders; in blob names `.` segments are lost to URL normalisation. */
  dotSegmentsOk?: boolean;
  /** The characters a segment may have; any when absent. */
  segment?: { pattern: RegExp; hint: string };
  /** A segment's most UTF-8 bytes, where each segment is a file or folder name (file systems allow 255). */
  segmentMaxBytes?: number;
  /** Checks particular to this kind of path, run once the generic ones pass. */
  extra?: (text: string) => string | undefined;
}

/** Why `text` is not an acceptable path under `rule`, or undefined when it is. */
export function pathProblem(text: string, rule: PathRule): string | undefined {
  if (text === '') return rule.emptyOk ? undefined : 'it is empty';
  if (text.length > rule.maxLength) return `it is longer than ${rule.maxLength} characters`;
  if (hasControlCharacters(text)) return 'it contains control characters such as line breaks';
  if (text.includes('://')) return 'it is a URL';
  if (text.includes('\\')) return 'it contains "\\": separate folders with "/"';
  if (text.startsWith('/') || /^[A-Za-z]:/.test(text)) return 'it is absolute: give a relative path';
  if (text.endsWith('/') && !rule.trailingSlashOk) return 'it ends with "/"';
  const body = text.endsWith('/') ? text.slice(0, -1) : text;
  return (
    body
      .split('/')
      .map((segment) => segmentProblem(segment, rule))
      .find(Boolean) ?? rule.extra?.(text)
  );
}

function segmentProblem(segment: string, rule: PathRule): string | undefined {
  if (segment === '..') return '".." is not allowed';
  if (segment === '.') return rule.dotSegmentsOk ? undefined : '"." segments are not allowed';
  if (segment === '') return 'it has an empty segment ("//")';
  if (rule.segment && !rule.segment.pattern.test(segment)) return rule.segment.hint;
  if (rule.segmentMaxBytes !== undefined && Buffer.byteLength(segment) > rule.segmentMaxBytes)
    return `a name between "/" is longer than ${rule.segmentMaxBytes} bytes, the most a file system allows`;
  return undefined;
}

/** The path at `at`, or undefined (with an issue) when it is not a string that satisfies `rule`. */
export function readPath(issues: Issues, at: Given, rule: PathRule): string | undefined {
  if (typeof at.value !== 'string') {
    issues.notAllowed(at, `use ${rule.allowed}`);
    return undefined;
  }
  const problem = pathProblem(at.value, rule);
  if (problem === undefined) return at.value;
  issues.notAllowed(at, `${problem}; use ${rule.allowed}`);
  return undefined;
}

const CODE_SEGMENT = {
  pattern: /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/,
  hint: 'only letters, digits, ".", "_" and "-" may appear in names',
};
const MODULE_EXTENSION = /\.(?:[cm]?js|[cm]?ts)$/;
/** A file or folder name's most bytes on the file systems scripts and local data live on. */
const FILE_NAME_MAX_BYTES = 255;

/**
 * Entry scripts are modules deployed with the app, named by a plain relative path: nothing that could be
 * code, a URL or a way out of the app folder, and not a dependency's module (importing one runs it).
 */
export const ENTRY_SCRIPT_RULE: PathRule = {
  allowed: 'the relative path of a .js or .ts module in the app, e.g. "mnist/digit_identification.js"',
  maxLength: 1024,
  segment: CODE_SEGMENT,
  segmentMaxBytes: FILE_NAME_MAX_BYTES,
  extra: (text) => {
    if (!MODULE_EXTENSION.test(text)) return 'entry scripts are JavaScript or TypeScript modules';
    if (text.split('/').includes('node_modules')) return 'modules under node_modules are not entry scripts';
    return undefined;
  },
};

export const SOURCE_DIRECTORY_RULE: PathRule = {
  allowed: 'the relative path of a folder under the scripts folder, e.g. "mnist"',
  maxLength: 1024,
  trailingSlashOk: true,
  segment: CODE_SEGMENT,
  segmentMaxBytes: FILE_NAME_MAX_BYTES,
};

/** Blob name limit: 1,024 characters. */
export const BLOB_NAME_MAX = 1024;

export const BLOB_PREFIX_RULE: PathRule = {
  allowed: 'a path inside the container, e.g. "mnist/" ("" for the whole container)',
  maxLength: BLOB_NAME_MAX,
  emptyOk: true,
  trailingSlashOk: true,
};

export const BLOB_NAME_RULE: PathRule = {
  allowed: 'a blob name relative to input.path, e.g. "0/img_1.png"',
  maxLength: BLOB_NAME_MAX,
};

export const NAMES_BLOB_RULE: PathRule = {
  allowed: 'the name of a blob listing one JSON string per line, e.g. "lists/today.jsonl"',
  maxLength: BLOB_NAME_MAX,
};

export const GLOB_RULE: PathRule = {
  allowed: 'a pattern for names relative to input.path, e.g. "*.png" or "**/*.png"',
  maxLength: BLOB_NAME_MAX,
};

export const LOCAL_PATH_RULE: PathRule = {
  allowed: 'a folder relative to the local data root, e.g. "./data/mnist"',
  maxLength: 4096,
  trailingSlashOk: true,
  dotSegmentsOk: true,
  segmentMaxBytes: FILE_NAME_MAX_BYTES,
};

export const CONTAINER_ALLOWED =
  'a container name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit, e.g. "sampledata"';

export function isContainerName(text: string): boolean {
  return text.length >= 3 && text.length <= 63 && /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(text);
}

export function readContainer(issues: Issues, at: Given): string | undefined {
  if (typeof at.value === 'string' && isContainerName(at.value)) return at.value;
  issues.notAllowed(at, `use ${CONTAINER_ALLOWED}`);
  return undefined;
}

const FILE_NAME_MAX = 255;

/** A plain file name: it becomes one blob under the run's output, so it must not reach into folders. */
export function isFileName(text: string): boolean {
  return (
    text !== '' &&
    text !== '.' &&
    text !== '..' &&
    text.length <= FILE_NAME_MAX &&
    !/[/\\]/.test(text) &&
    !hasControlCharacters(text)
  );
}

export function readFileName(issues: Issues, at: Given | undefined, fallback: string): string {
  if (at === undefined) return fallback;
  if (typeof at.value === 'string' && isFileName(at.value)) return at.value;
  issues.notAllowed(
    at,
    `use a file name of 1 to ${FILE_NAME_MAX} characters without "/", "\\" or control characters, e.g. "mnist_outputs.txt"`,
  );
  return fallback;
}
