import { describe, expect, it } from 'vitest';
import { SettingsError, type SettingIssue } from '../errors.js';
import { parsePipeline } from './parameters.js';
import { parseRunSettings } from './settings.js';

const settings = { entry_script: 'score.js', input: { container: 'sampledata', path: 'mnist/' } };

function issuesOf(parse: () => unknown): SettingIssue[] {
  try {
    parse();
  } catch (err) {
    if (err instanceof SettingsError) return err.issues;
    throw err;
  }
  throw new Error('expected a SettingsError');
}

describe('a pipeline inbox', () => {
  it('takes every default from {}, and the values given', () => {
    expect(parsePipeline({ settings, inbox: {} }, 'mnist').inbox).toEqual({
      quiet_seconds: 10,
      max_files: 10_000,
      after_run: 'move',
    });
    expect(
      parsePipeline({ settings, inbox: { quiet_seconds: 1.5, max_files: 3, after_run: 'leave' } }, 'mnist')
        .inbox,
    ).toEqual({ quiet_seconds: 1.5, max_files: 3, after_run: 'leave' });
    expect(parsePipeline({ settings }, 'mnist').inbox).toBeUndefined();
  });

  it('names each wrong field and what is allowed', () => {
    const issues = issuesOf(() =>
      parsePipeline(
        { settings, inbox: { quiet_seconds: 0, max_files: 100_001, after_run: 'delete', quiet_second: 1 } },
        'mnist',
      ),
    );
    expect(issues.map((i) => i.field).sort()).toEqual([
      'inbox.after_run',
      'inbox.max_files',
      'inbox.quiet_second',
      'inbox.quiet_seconds',
    ]);
    expect(issues.find((i) => i.field === 'inbox.after_run')?.message).toContain('"move", "leave"');
    expect(issues.find((i) => i.field === 'inbox.quiet_second')?.message).toContain(
      'did you mean "inbox.quiet_seconds"',
    );
    expect(issuesOf(() => parsePipeline({ settings, inbox: true }, 'mnist'))[0]?.field).toBe('inbox');
  });

  it('is refused for a table pipeline, naming inbox: its runs read the drops as files', () => {
    const table = { type: 'table', container: 'sampledata', path: 'iris/' };
    const issues = issuesOf(() =>
      parsePipeline({ settings: { ...settings, input: table }, inbox: {} }, 'iris'),
    );
    expect(issues.map((i) => i.field)).toEqual(['inbox']);
    expect(issues[0]?.message).toContain('input.type "files"');
    // Through a parameter's default too: inbox runs take the defaults.
    const byParameter = issuesOf(() =>
      parsePipeline(
        {
          settings: { ...settings, input: { ...table, type: '${{parameters.kind}}' } },
          parameters: { kind: { default: 'table' } },
          inbox: {},
        },
        'iris',
      ),
    );
    expect(byParameter.map((i) => i.field)).toEqual(['inbox']);
    expect(parsePipeline({ settings: { ...settings, input: table } }, 'iris').inbox).toBeUndefined();
  });

  it('needs a default for every parameter: a drop gives none', () => {
    const issues = issuesOf(() =>
      parsePipeline(
        {
          settings: { ...settings, mini_batch_size: '${{parameters.size}}' },
          parameters: { size: {} },
          inbox: {},
        },
        'mnist',
      ),
    );
    expect(issues).toEqual([
      { field: 'parameters.size', message: expect.stringContaining('has no default') as string },
    ]);
  });
});

describe('input.names_from', () => {
  it('reads the location of the blob that lists the names', () => {
    const parsed = parseRunSettings({
      ...settings,
      input: { container: 'inbox', path: 'mnist/', names_from: { container: 'lists', path: 'a/b.jsonl' } },
    });
    expect(parsed.input).toEqual({
      type: 'files',
      container: 'inbox',
      path: 'mnist/',
      names_from: { container: 'lists', path: 'a/b.jsonl' },
    });
  });

  it('refuses a second list, a missing path, a traversing path and a host container', () => {
    const issues = (names_from: unknown, extra: object = {}) =>
      issuesOf(() =>
        parseRunSettings({ ...settings, input: { container: 'data', path: 'x/', names_from, ...extra } }),
      );
    expect(issues({ container: 'lists', path: 'l.jsonl' }, { glob: '*.png' })[0]?.field).toBe(
      'input.names_from',
    );
    expect(issues({ container: 'lists' })[0]?.field).toBe('input.names_from.path');
    expect(issues({ container: 'lists', path: '../l.jsonl' })[0]?.field).toBe('input.names_from.path');
    expect(issues({ container: 'azure-webjobs-secrets', path: 'l.jsonl' })[0]?.field).toBe(
      'input.names_from.container',
    );
  });
});

describe('the inbox containers', () => {
  it("are the service's, under the name this app gives its inbox too", () => {
    const before = process.env.PARALLEL_RUN_INBOX;
    process.env.PARALLEL_RUN_INBOX = 'dropzone';
    try {
      const issues = issuesOf(() =>
        parseRunSettings({ ...settings, output: { container: 'dropzone-done' } }),
      );
      expect(issues.map((i) => i.field)).toEqual(['output.container']);
    } finally {
      if (before === undefined) delete process.env.PARALLEL_RUN_INBOX;
      else process.env.PARALLEL_RUN_INBOX = before;
    }
  });
});
