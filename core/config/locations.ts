import {
  given,
  isObject,
  rejectNulls,
  rejectUnknownKeys,
  type Given,
  type Issues,
  type JsonObject,
} from './issues.js';
import {
  BLOB_NAME_RULE,
  BLOB_PREFIX_RULE,
  GLOB_RULE,
  LOCAL_PATH_RULE,
  NAMES_BLOB_RULE,
  pathProblem,
  readContainer,
  readPath,
  type PathRule,
} from './paths.js';
import { listChoices } from './rules.js';
import { RESERVED_ALLOWED, reservedContainerProblem, type ContainerUse } from '../storage/reserved.js';
import type { BlobLocation, FileInput, LocalInput, TableInput } from './resolved.js';
import { readTableInput } from './table-input.js';

const FILE_TYPES = ['files', 'uri_folder'];
const TABLE_TYPE = 'table';
/** Azure ML's names for tabular inputs: not read as such here, so they are pointed at "table". */
const OTHER_TABULAR_TYPES = ['mltable', 'uri_file'];
const BLOB_INPUT_KEYS = ['type', 'container', 'path', 'glob', 'names', 'names_from'];
const LOCAL_INPUT_KEYS = ['type', 'local_path'];
const LOCATION_KEYS = ['container', 'path'];
const INPUT_EXAMPLE = '{"container": "sampledata", "path": "mnist/"} or {"local_path": "./data/mnist"}';
export const MAX_NAMES = 100_000;
/** Bad entries of `input.names` reported one by one; the rest are counted, so a reply stays readable. */
const NAME_ISSUES_SHOWN = 5;

export interface InputReading {
  input: FileInput | LocalInput | TableInput;
  /** A tabular type was asked for: `mini_batch_size` is a byte size. */
  tabular: boolean;
}

function readInputType(issues: Issues, at: Given | undefined): boolean {
  if (at === undefined || (typeof at.value === 'string' && FILE_TYPES.includes(at.value))) return false;
  if (at.value === TABLE_TYPE) return true;
  if (typeof at.value === 'string' && OTHER_TABULAR_TYPES.includes(at.value)) {
    issues.notSupported(at, `read CSV, JSON Lines or Parquet files with "type": "${TABLE_TYPE}"`);
    return true;
  }
  issues.notAllowed(at, `use one of ${listChoices([...FILE_TYPES, TABLE_TYPE])}`);
  return false;
}

/** `input`: files in a blob container under a path, or in a local folder (devhost). */
export function readInput(issues: Issues, at: Given | undefined): InputReading {
  const placeholder: FileInput = { type: 'files', container: '', path: '' };
  if (at === undefined) {
    issues.missing('input', `give the files to process, e.g. ${INPUT_EXAMPLE}`);
    return { input: placeholder, tabular: false };
  }
  if (!isObject(at.value)) {
    issues.notAllowed(at, `use an object such as ${INPUT_EXAMPLE}`);
    return { input: placeholder, tabular: false };
  }
  rejectNulls(issues, at.value, 'input.');
  const tabular = readInputType(issues, given(at.value, 'type', 'input.'));
  if (tabular) {
    const { container, path } = readLocation(issues, at.value, 'input', 'input');
    return { input: readTableInput(issues, at.value, container ?? '', path ?? ''), tabular };
  }
  const input = Object.hasOwn(at.value, 'local_path')
    ? readLocalInput(issues, at.value)
    : readBlobInput(issues, at.value);
  return { input, tabular };
}

function readLocalInput(issues: Issues, obj: JsonObject): LocalInput {
  for (const key of BLOB_INPUT_KEYS.filter((k) => k !== 'type' && Object.hasOwn(obj, k))) {
    issues.add(
      `input.${key}`,
      'cannot be combined with input.local_path: give either a local folder or a container',
    );
  }
  rejectUnknownKeys(issues, obj, [...LOCAL_INPUT_KEYS, ...BLOB_INPUT_KEYS], 'input.');
  const at = given(obj, 'local_path', 'input.');
  if (at === undefined) {
    issues.missing('input.local_path', `give ${LOCAL_PATH_RULE.allowed}`);
    return { type: 'files', local_path: '' };
  }
  return { type: 'files', local_path: readPath(issues, at, LOCAL_PATH_RULE) ?? '' };
}

function readBlobInput(issues: Issues, obj: JsonObject): FileInput {
  rejectUnknownKeys(issues, obj, BLOB_INPUT_KEYS, 'input.');
  const { container, path } = readLocation(issues, obj, 'input', 'input');
  const glob = readOptionalPath(issues, given(obj, 'glob', 'input.'), GLOB_RULE);
  const names = readNames(issues, given(obj, 'names', 'input.'));
  const namesFrom = readNamesFrom(issues, given(obj, 'names_from', 'input.'));
  const lists = (
    [
      ['input.glob', glob],
      ['input.names', names],
      ['input.names_from', namesFrom],
    ] as const
  ).filter(([, v]) => v !== undefined);
  const first = lists[0]?.[0] ?? '';
  for (const [field] of lists.slice(1)) {
    issues.add(
      field,
      `cannot be combined with ${first}: give one of a pattern (glob), a list of names (names) or a blob that lists them (names_from)`,
    );
  }
  return {
    type: 'files',
    container: container ?? '',
    path: path ?? '',
    ...(glob === undefined ? {} : { glob }),
    ...(names === undefined ? {} : { names }),
    ...(namesFrom === undefined ? {} : { names_from: namesFrom }),
  };
}

const NAMES_FROM_EXAMPLE = '{"container": "lists", "path": "today.jsonl"}';

/** `input.names_from`: the blob that lists the names, one JSON string per line. */
function readNamesFrom(issues: Issues, at: Given | undefined): BlobLocation | undefined {
  if (at === undefined) return undefined;
  if (!isObject(at.value)) {
    issues.notAllowed(at, `use the location of a blob, e.g. ${NAMES_FROM_EXAMPLE}`);
    return undefined;
  }
  rejectUnknownKeys(issues, at.value, LOCATION_KEYS, 'input.names_from.');
  rejectNulls(issues, at.value, 'input.names_from.');
  const { container } = readLocation(issues, at.value, 'input.names_from', 'input');
  const pathAt = given(at.value, 'path', 'input.names_from.');
  if (pathAt === undefined)
    issues.missing('input.names_from.path', `give the blob's name, e.g. "today.jsonl"`);
  const path = pathAt === undefined ? undefined : readPath(issues, pathAt, NAMES_BLOB_RULE);
  return container === undefined || path === undefined ? undefined : { container, path };
}

function readOptionalPath(issues: Issues, at: Given | undefined, rule: PathRule): string | undefined {
  return at === undefined ? undefined : readPath(issues, at, rule);
}

/** `container` (required unless a default is given) and `path` (default: the whole container). */
function readLocation(
  issues: Issues,
  obj: JsonObject,
  prefix: string,
  use: ContainerUse,
  defaultContainer?: string,
): { container: string | undefined; path: string | undefined } {
  const containerAt = given(obj, 'container', `${prefix}.`);
  if (containerAt === undefined && defaultContainer === undefined) {
    issues.missing(`${prefix}.container`, 'give the blob container, e.g. "sampledata"');
  }
  let container = containerAt === undefined ? defaultContainer : readContainer(issues, containerAt);
  const reserved = container === undefined ? undefined : reservedContainerProblem(container, use);
  if (reserved !== undefined && containerAt !== undefined) {
    issues.notAllowed(containerAt, `${reserved}; use ${RESERVED_ALLOWED}`);
    container = undefined;
  }
  return { container, path: readOptionalPath(issues, given(obj, 'path', `${prefix}.`), BLOB_PREFIX_RULE) };
}

function nameProblem(name: unknown, seen: Set<string>): string | undefined {
  if (typeof name !== 'string') return `use ${BLOB_NAME_RULE.allowed}`;
  const problem = pathProblem(name, BLOB_NAME_RULE);
  if (problem !== undefined) return `${problem}; use ${BLOB_NAME_RULE.allowed}`;
  // A name listed twice would be processed twice: nothing twice.
  if (seen.has(name)) return 'it is listed twice: give each name once';
  seen.add(name);
  return undefined;
}

/** `input.names`: an explicit list of blobs relative to `input.path`. */
function readNames(issues: Issues, at: Given | undefined): string[] | undefined {
  if (at === undefined) return undefined;
  const list = at.value;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_NAMES) {
    issues.notAllowed(
      at,
      `use a list of 1 to ${MAX_NAMES} blob names relative to input.path, e.g. ["0/img_1.png"]`,
    );
    return undefined;
  }
  const seen = new Set<string>();
  let badCount = 0;
  list.forEach((name: unknown, index) => {
    const problem = nameProblem(name, seen);
    if (problem === undefined) return;
    badCount++;
    if (badCount <= NAME_ISSUES_SHOWN)
      issues.notAllowed({ field: `${at.field}[${index}]`, value: name }, problem);
  });
  if (badCount > NAME_ISSUES_SHOWN) {
    issues.add(
      at.field,
      `${badCount - NAME_ISSUES_SHOWN} more names are not allowed (the first ${NAME_ISSUES_SHOWN} are listed)`,
    );
  }
  return badCount === 0 ? (list as string[]) : undefined;
}

export const DEFAULT_OUTPUT_CONTAINER = 'outputs';

/** `output`: where the run's results go; by default the `outputs` container. */
export function readOutput(issues: Issues, at: Given | undefined): { container: string; path?: string } {
  const fallback = { container: DEFAULT_OUTPUT_CONTAINER };
  if (at === undefined) return fallback;
  if (!isObject(at.value)) {
    issues.notAllowed(at, 'use an object such as {"container": "outputs", "path": "mnist/"}');
    return fallback;
  }
  rejectUnknownKeys(issues, at.value, LOCATION_KEYS, 'output.');
  rejectNulls(issues, at.value, 'output.');
  const { container, path } = readLocation(issues, at.value, 'output', 'output', DEFAULT_OUTPUT_CONTAINER);
  return { container: container ?? DEFAULT_OUTPUT_CONTAINER, ...(path === undefined ? {} : { path }) };
}

/** Side input names become keys of `ctx.sideInputs` and local folder names: identifiers only. */
const SIDE_INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const LOCATION_EXAMPLE = '{"container": "sampledata", "path": "labels/"}';
const SIDE_INPUT_EXAMPLE = `{"labels": ${LOCATION_EXAMPLE}}`;

/** `side_inputs`: reference data by name, given whole to every worker. */
export function readSideInputs(
  issues: Issues,
  at: Given | undefined,
): Record<string, { container: string; path: string }> {
  if (at === undefined) return {};
  if (!isObject(at.value)) {
    issues.notAllowed(at, `use an object of names to locations, e.g. ${SIDE_INPUT_EXAMPLE}`);
    return {};
  }
  const entries = Object.entries(at.value).flatMap(([name, value]) => {
    const field = `side_inputs.${name}`;
    if (!SIDE_INPUT_NAME.test(name)) {
      issues.add(
        field,
        'this name is not allowed: use 1 to 64 letters, digits, "_" and "-", starting with a letter or "_"',
      );
      return [];
    }
    if (!isObject(value)) {
      issues.notAllowed({ field, value }, `use a location such as ${LOCATION_EXAMPLE}`);
      return [];
    }
    rejectUnknownKeys(issues, value, LOCATION_KEYS, `${field}.`);
    rejectNulls(issues, value, `${field}.`);
    const { container, path } = readLocation(issues, value, field, 'side_input');
    return [[name, { container: container ?? '', path: path ?? '' }] as const];
  });
  return Object.fromEntries(entries);
}
