import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { ParallelRunError } from '../../core/errors.js';
import { listModels, registerModel } from '../../core/storage/models.js';
import { storage } from '../../core/storage/storage.js';
import { guarded, json } from '../http/respond.js';

const MAX_MODEL_BYTES = 100 * 1024 * 1024;

/**
 * PUT /api/models/{name}?file=model.onnx&description=… with the file as the body registers the next
 * version. Model files are data; scripts are never accepted over HTTP.
 */
const register = guarded(async (request: HttpRequest): Promise<HttpResponseInit> => {
  const name = request.params.name ?? '';
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
  const description = request.query.get('description');
  const info = await registerModel(
    storage(),
    name,
    [{ name: file, bytes }],
    description ? { description } : {},
  );
  return json(201, info);
});

const list = guarded(async (): Promise<HttpResponseInit> =>
  json(200, { models: await listModels(storage()) }),
);

app.http('registerModel', {
  route: 'models/{name}',
  methods: ['PUT'],
  authLevel: 'function',
  handler: register,
});
app.http('listModels', { route: 'models', methods: ['GET'], authLevel: 'function', handler: list });
