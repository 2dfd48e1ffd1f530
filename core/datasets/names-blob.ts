import { MAX_NAMES } from '../config/locations.js';
import { BLOB_NAME_RULE, pathProblem } from '../config/paths.js';
import type { BlobLocation } from '../config/resolved.js';
import { ParallelRunError } from '../errors.js';
import { isNotFound, type Storage } from '../storage/storage.js';

const FIELD = 'input.names_from';

function badLine(at: BlobLocation, line: number, problem: string): ParallelRunError {
  return new ParallelRunError(
    'INVALID_SETTINGS',
    `${FIELD}: line ${line} of ${at.container}/${at.path} ${problem}; each line is one blob name relative to input.path, as a JSON string, e.g. "0/img 1.png"`,
    FIELD,
  );
}

function missingBlob(at: BlobLocation): ParallelRunError {
  return new ParallelRunError(
    'INVALID_SETTINGS',
    `${FIELD}: blob ${at.container}/${at.path} does not exist`,
    FIELD,
  );
}

/** The lines of a stream, as they come in: memory holds one chunk and one line, not the whole. */
export async function* lines(stream: AsyncIterable<unknown>): AsyncGenerator<string> {
  let rest = '';
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of stream) {
    rest += decoder.decode(chunk as Buffer, { stream: true });
    let end = rest.indexOf('\n');
    while (end !== -1) {
      yield rest.slice(0, end);
      rest = rest.slice(end + 1);
      end = rest.indexOf('\n');
    }
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}

function nameOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Streams the names a `names_from` blob lists, checked as `input.names` entries are (no traversal,
 * no control characters, each once, at most MAX_NAMES): a bad line fails the plan, naming its number.
 * Blank lines are skipped. The set of names seen is bounded by MAX_NAMES.
 */
export async function* readNamesBlob(storage: Storage, at: BlobLocation): AsyncGenerator<string> {
  const blob = storage.blobs.getContainerClient(at.container).getBlobClient(at.path);
  let body: NodeJS.ReadableStream | undefined;
  try {
    body = (await blob.download()).readableStreamBody;
  } catch (err) {
    if (isNotFound(err)) throw missingBlob(at);
    throw err;
  }
  if (!body) return;
  const seen = new Set<string>();
  let line = 0;
  for await (const text of lines(body)) {
    line++;
    if (text.trim() === '') continue;
    const name = nameOf(text);
    if (typeof name !== 'string') throw badLine(at, line, 'is not a JSON string');
    const problem = pathProblem(name, BLOB_NAME_RULE);
    if (problem !== undefined) throw badLine(at, line, `is not allowed: ${problem}`);
    if (seen.has(name)) throw badLine(at, line, 'lists a name a second time');
    if (seen.size === MAX_NAMES) throw badLine(at, line, `goes past the ${MAX_NAMES} names a list may hold`);
    seen.add(name);
    yield name;
  }
}

/** Fails naming `input.names_from` when its container or blob does not exist (cheap: one request). */
export async function checkNamesBlob(storage: Storage, at: BlobLocation): Promise<void> {
  const exists = await storage.blobs.getContainerClient(at.container).getBlobClient(at.path).exists();
  if (!exists) throw missingBlob(at);
}
