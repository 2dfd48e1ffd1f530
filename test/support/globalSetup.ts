import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../devhost/azurite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    storage: string;
  }
}

/** One in-memory Azurite on free ports for the whole test run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('storage', azurite.connectionString);
  return () => azurite.stop();
}
