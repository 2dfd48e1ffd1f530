import { describe, expect, it } from 'vitest';
import { assignments, merged } from '../../cli/args.js';
import { CliError } from '../../cli/http.js';
import { errorLines, printable } from '../../cli/format.js';
import { ProgressWriter, type Out } from '../../cli/watch.js';
import type { RunView } from '../../cli/wire.js';

function buffer(isTTY: boolean): Out & { text: string } {
  const out = { text: '', isTTY, columns: 200, write: (t: string) => void (out.text += t) };
  return out;
}

function running(done: number, phase = 'running'): RunView {
  return {
    runId: 'r1',
    status: 'Running',
    phase,
    createdTime: '2026-01-01T00:00:00.000Z',
    lastUpdatedTime: '2026-01-01T00:00:00.000Z',
    progress: {
      items: { total: 100, succeeded: done, failed: 0, remaining: 100 - done },
      miniBatches: { total: 10, succeeded: done / 10, failed: 0, inFlight: 2 },
      elapsedSeconds: 10,
      itemsPerSecond: done / 10,
      etaSeconds: 30,
      percent: done,
    },
  };
}

describe('CLI progress', () => {
  it('redraws one line in place on a terminal, with a bar', () => {
    const out = buffer(true);
    const writer = new ProgressWriter(out);
    writer.show(running(10));
    writer.show(running(50));
    writer.end();
    const frames = out.text.split('\r').filter((f) => f !== '');
    expect(frames).toHaveLength(2);
    expect(frames[1]).toBe(
      '[############............] running: 50.0% 50/100 items (0 failed), mini-batches 5/10 (2 in flight), 5 items/s, ETA 30s\u001b[K\n',
    );
  });

  it('writes whole lines elsewhere, one per phase at least, none repeated', () => {
    const out = buffer(false);
    const writer = new ProgressWriter(out);
    writer.show(running(0, 'planning'));
    writer.show(running(0, 'planning'));
    writer.show(running(10));
    writer.show(running(100, 'finalizing'));
    writer.end();
    const lines = out.text.trimEnd().split('\n');
    expect(out.text).not.toContain('\r');
    expect(lines.map((l) => l.replace(/^\S+Z /, ''))).toEqual([
      'planning',
      'running: 10.0% 10/100 items (0 failed), mini-batches 1/10 (2 in flight), 1 items/s, ETA 30s',
      'finalizing: 100.0% 100/100 items (0 failed), mini-batches 10/10 (2 in flight), 10 items/s, ETA 30s',
    ]);
  });
});

describe('CLI --set and --param', () => {
  it('sets nested fields, keeping JSON types, over the file', () => {
    const set = assignments(
      ['mini_batch_size=100', 'input.path=mnist/', 'models=["mnist:2"]', 'run_name=a=b'],
      'set',
    );
    expect(set).toEqual({
      mini_batch_size: 100,
      input: { path: 'mnist/' },
      models: ['mnist:2'],
      run_name: 'a=b',
    });
    expect(merged({ input: { container: 'data', path: 'old/' }, node_count: 2 }, set)).toEqual({
      input: { container: 'data', path: 'mnist/' },
      node_count: 2,
      mini_batch_size: 100,
      models: ['mnist:2'],
      run_name: 'a=b',
    });
  });

  it('keeps a number past a double as the text it was, where JSON would send null', () => {
    expect(assignments(['node_count=1e400', 'models=[1, -1e999]', 'x=1e308'], 'set')).toEqual({
      node_count: '1e400',
      models: '[1, -1e999]',
      x: 1e308,
    });
  });

  it('refuses a pair without a key, and keys that would reach an object prototype', () => {
    for (const bad of ['=5', 'novalue', '__proto__.x=1', 'input.constructor=1', 'a..b=1']) {
      expect(() => assignments([bad], 'set')).toThrow(CliError);
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('user data on the terminal', () => {
  it('escapes control characters and bidi overrides in item names and errors, keeping line breaks in errors', () => {
    const [line] = errorLines([
      {
        item: 'evil\u202Egnp.exe\nsecond',
        mini_batch: 3,
        attempts: 2,
        kind: 'try',
        error: 'boom \u001b[2J\u001b[31mred\u0007\nat line 2',
      },
    ]);
    expect(line).toBe(
      '  evil\\u202egnp.exe\\nsecond (mini-batch 3, 2 tries, try): boom \\u001b[2J\\u001b[31mred\\u0007\nat line 2',
    );
    expect(printable('tab\tand é 结果 ok')).toBe('tab\tand é 结果 ok');
    expect(printable('a\u2028b\u061cc')).toBe('a\\u2028b\\u061cc');
  });
});
