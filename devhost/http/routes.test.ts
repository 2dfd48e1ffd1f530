import { describe, expect, it } from 'vitest';
import { compileRoute } from './routes.js';

describe('route templates', () => {
  it('matches literals case-insensitively and binds parameters', () => {
    const r = compileRoute('api/runs/{id}/output');
    expect(r.match('/API/Runs/abc/output')).toEqual({ id: 'abc' });
    expect(r.match('/api/runs/abc')).toBeUndefined();
    expect(r.match('/api/runs/abc/output/x')).toBeUndefined();
  });

  it('takes an optional last parameter', () => {
    const r = compileRoute('api/runs/{id?}');
    expect(r.match('/api/runs')).toEqual({});
    expect(r.match('/api/runs/7')).toEqual({ id: '7' });
  });

  it('applies constraints and catch-alls, and decodes segments', () => {
    expect(compileRoute('api/n/{n:int}').match('/api/n/x')).toBeUndefined();
    expect(compileRoute('api/n/{n:int}').match('/api/n/12')).toEqual({ n: '12' });
    expect(compileRoute('api/files/{*path}').match('/api/files/a/b%20c.txt')).toEqual({ path: 'a/b c.txt' });
  });

  it('rejects what it cannot honour', () => {
    expect(() => compileRoute('api/{id:regex(x)}')).toThrow(/not supported/);
    expect(() => compileRoute('api/{id:nope}')).toThrow("constraint ':nope' is not supported");
  });
});
