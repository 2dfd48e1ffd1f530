import { describe, expect, inject, it } from 'vitest';
import { containerOf, storageFromEnv } from './storage.js';

describe('containerOf', () => {
  it('keeps one client per container and Storage, and a bounded number of them', () => {
    const storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
    const other = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
    const first = containerOf(storage, 'inputs');
    expect(containerOf(storage, 'inputs')).toBe(first);
    expect(first.containerName).toBe('inputs');
    expect(containerOf(other, 'inputs')).not.toBe(first);
    // A host that serves many containers' runs keeps at most 64 clients: the 65th starts afresh.
    for (let i = 0; i < 64; i++) containerOf(storage, `c${i}`);
    expect(containerOf(storage, 'inputs')).not.toBe(first);
  });
});
