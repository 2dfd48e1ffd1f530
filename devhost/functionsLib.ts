import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Functions from '@azure/functions';

export type FunctionsLib = Pick<typeof Functions, 'InvocationContext' | 'HttpRequest' | 'HttpResponse'>;

/**
 * The app's own copy of @azure/functions: `instanceof HttpResponse` only holds within one copy,
 * so the host builds contexts and requests with the classes the app itself imports.
 */
export function loadFunctionsLib(appRoot: string): FunctionsLib {
  const require = createRequire(path.join(appRoot, 'package.json'));
  return require('@azure/functions') as FunctionsLib;
}
