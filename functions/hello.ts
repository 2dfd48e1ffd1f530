import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';

/** Placeholder until the run API lands: proves the app loads and serves. */
export function hello(request: HttpRequest): HttpResponseInit {
  const name = request.query.get('name') ?? 'world';
  return { jsonBody: { message: `Hello, ${name}` } };
}

app.http('hello', { methods: ['GET'], authLevel: 'function', handler: hello });
