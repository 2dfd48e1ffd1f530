import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { NotFoundError } from '../../core/errors.js';
import { guarded } from '../http/respond.js';

/**
 * The status page: plain HTML, a script and a style sheet committed as source in functions/ui/ (no
 * build step), served by the app itself. They hold no data: the script reads the API, with the key
 * the page was opened with (`/api/ui?code=…` in Azure), and shows what it reads as text only.
 */
const uiFolder = path.resolve(import.meta.dirname, '../../../functions/ui');

const assets: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** Scripts only from the app itself, no inline script, no plugins, no framing: user data cannot run. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

const files = new Map<string, Promise<string>>();

function asset(name: string): Promise<string> {
  let text = files.get(name);
  if (!text) {
    text = readFile(path.join(uiFolder, name), 'utf8');
    files.set(name, text);
  }
  return text;
}

/** The key the page was opened with goes on to its script and style sheet (authLevel function). */
function assetQuery(request: HttpRequest): string {
  const code = request.query.get('code');
  return code ? `?code=${encodeURIComponent(code)}` : '';
}

const page = guarded(async (request: HttpRequest): Promise<HttpResponseInit> => {
  const html = (await asset('index.html')).replaceAll('{{assetQuery}}', assetQuery(request));
  return {
    status: 200,
    body: html,
    headers: { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS },
  };
});

const file = guarded(async (request: HttpRequest): Promise<HttpResponseInit> => {
  const name = request.params.file ?? '';
  // Only the named assets: a request never reaches any other file.
  const type = Object.hasOwn(assets, name) ? assets[name] : undefined;
  if (type === undefined) throw new NotFoundError(`the page has no file '${name.slice(0, 64)}': use /api/ui`);
  return { status: 200, body: await asset(name), headers: { 'content-type': type, ...SECURITY_HEADERS } };
});

app.http('statusPage', { route: 'ui', methods: ['GET'], authLevel: 'function', handler: page });
app.http('statusPageFile', { route: 'ui/{file}', methods: ['GET'], authLevel: 'function', handler: file });
