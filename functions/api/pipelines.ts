import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { isObject } from '../../core/config/issues.js';
import { settingsForRun } from '../../core/config/parameters.js';
import { ParallelRunError } from '../../core/errors.js';
import { listPipelines, loadPipeline, savePipeline } from '../../core/runs/pipelines.js';
import { storage } from '../../core/storage/storage.js';
import { pipelineNameParam } from '../http/params.js';
import { bodyText, guarded, json, readJsonBody } from '../http/respond.js';
import { startRun } from './runs.js';

/** PUT /api/pipelines/{name}: `{"settings": {… "${{parameters.x}}" …}, "parameters": {"x": {"default": …}}}`. */
const publish = guarded(async (request: HttpRequest): Promise<HttpResponseInit> => {
  const { pipeline, replaced } = await savePipeline(
    storage(),
    pipelineNameParam(request),
    readJsonBody(await bodyText(request), 'the pipeline definition ({"settings": {…}, "parameters": {…}})'),
  );
  return json(replaced ? 200 : 201, pipeline);
});

const get = guarded(async (request: HttpRequest): Promise<HttpResponseInit> =>
  json(200, await loadPipeline(storage(), pipelineNameParam(request))),
);

const list = guarded(async (): Promise<HttpResponseInit> =>
  json(200, { pipelines: await listPipelines(storage()) }),
);

/** POST /api/pipelines/{name}/runs with `{"parameters": {…}}`: the same pipeline, new data and knobs. */
const run = guarded(
  async (
    request: HttpRequest,
    client: df.DurableClient,
    context: InvocationContext,
  ): Promise<HttpResponseInit> => {
    const name = pipelineNameParam(request);
    const text = await bodyText(request);
    const body = text.trim() === '' ? {} : readJsonBody(text);
    const unknownKey = isObject(body) ? Object.keys(body).find((k) => k !== 'parameters') : undefined;
    if (unknownKey !== undefined) {
      throw new ParallelRunError(
        'INVALID_REQUEST',
        `unknown field '${unknownKey}': the body is {"parameters": {…}}, with the values inside it`,
        unknownKey,
      );
    }
    // Left out: the defaults. null is refused as any other non-object.
    const parameters: unknown = isObject(body)
      ? Object.hasOwn(body, 'parameters')
        ? body.parameters
        : {}
      : body;
    if (!isObject(parameters)) {
      throw new ParallelRunError(
        'INVALID_REQUEST',
        'parameters must be a JSON object of parameter values',
        'parameters',
      );
    }
    const settings = settingsForRun(await loadPipeline(storage(), name), parameters);
    return startRun(client, context, settings, { kind: 'pipeline', pipeline: name, parameters });
  },
);

app.http('publishPipeline', {
  route: 'pipelines/{name}',
  methods: ['PUT'],
  authLevel: 'function',
  handler: publish,
});
app.http('listPipelines', { route: 'pipelines', methods: ['GET'], authLevel: 'function', handler: list });
app.http('getPipeline', { route: 'pipelines/{name}', methods: ['GET'], authLevel: 'function', handler: get });
df.app.client.http('runPipeline', {
  route: 'pipelines/{name}/runs',
  methods: ['POST'],
  authLevel: 'function',
  handler: run,
});
