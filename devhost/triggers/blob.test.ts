import { RestError } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { scanFailure } from './blob.js';

describe('scanFailure', () => {
  it('says what a listing Azurite failed with a 500 means for the trigger, and where to look', () => {
    const text = scanFailure(new RestError('', { statusCode: 500 }), 'inbox', 'drop/');
    expect(text).toContain('Azurite answered HTTP 500 to the listing of inbox/drop/ (no message)');
    expect(text).toContain('nothing under inbox/drop/ is handed over until a listing succeeds');
    expect(text).toContain('a blob under it with an unusual name');
  });

  it('gives any other failure as it is', () => {
    expect(scanFailure(new Error('connect ECONNREFUSED 127.0.0.1:10000'), 'inbox', '')).toBe(
      'connect ECONNREFUSED 127.0.0.1:10000',
    );
  });
});
