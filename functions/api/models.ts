import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { hasControlCharacters } from '../../core/config/rules.js';
import { ParallelRunError } from '../../core/errors.js';
import { listModels, registerModel } from '../../core/storage/models.js';
import { storage } from '../../core/storage/storage.js';
import { knownQuery } from '../http/params.js';
import { guarded, json } from '../http/respond.js';

const MAX_MODEL_BYTES = 100 * 1024 * 1024;

/**
 * PUT /api/models/{name}?file=model.onnx&description=… with the file as the body registers the next
 * version. Model files are data; scripts are never accepted over HTTP.
 */
const register = guarded(async (request: HttpRequest): Promise<HttpResponseInit> => {
  const name = request.params.name ?? '';
  knownQuery(request, ['file', 'description']);
  const file = request.query.get('file') ?? 'model.onnx';
  const bytes = Buffer.from(await request.arrayBuffer());
  if (bytes.length === 0)
    throw new ParallelRunError(
      'INVALID_REQUEST',
      'the request body is empty: send the model file as the body',
      'body',
    );
  if (bytes.length > MAX_MODEL_BYTES)
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `the model file is ${bytes.length} bytes; at most ${MAX_MODEL_BYTES} are accepted over HTTP`,
      'body',
    );
  const description = descriptionParam(request);
  const info = await registerModel(
    storage(),
    name,
    [{ name: file, bytes }],
    description ? { description } : {},
  );
  return json(201, info);
});

const MAX_DESCRIPTION = 1024;

/** `description`: one line of text, as a run's name is (it is shown wherever models are listed). */
function descriptionParam(request: HttpRequest): string | undefined {
  const description = request.query.get('description');
  if (description === null || description === '') return undefined;
  if (description.length <= MAX_DESCRIPTION && !hasControlCharacters(description)) return description;
  throw new ParallelRunError(
    'INVALID_REQUEST',
    `description is not allowed: use one line of text of at most ${MAX_DESCRIPTION} characters, without control characters`,
    'description',
  );
}

const list = guarded(async (request: HttpRequest): Promise<HttpResponseInit> => {
  knownQuery(request, []);
  return json(200, { models: await listModels(storage()) });
});

app.http('registerModel', {
  route: 'models/{name}',
  methods: ['PUT'],
  authLevel: 'function',
  handler: register,
});
app.http('listModels', { route: 'models', methods: ['GET'], authLevel: 'function', handler: list });
