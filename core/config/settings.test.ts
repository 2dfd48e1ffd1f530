import { describe, expect, it } from 'vitest';
import { SettingsError, type SettingIssue } from '../errors.js';
import { parseResumeOverrides, parseRunSettings, type RunSettings } from './settings.js';
import { configuredPools, POOL_NAME_RULE } from './pools.js';

const minimal = {
  entry_script: 'digit_identification.js',
  input: { container: 'sampledata', path: 'mnist/' },
};

function parse(extra: Record<string, unknown> = {}): RunSettings {
  return parseRunSettings({ ...minimal, ...extra });
}

/** The issues parseRunSettings throws for `body`. */
function issuesOf(body: unknown): SettingIssue[] {
  try {
    parseRunSettings(body);
  } catch (err) {
    if (err instanceof SettingsError) return err.issues;
    throw err;
  }
  throw new Error('expected a SettingsError');
}

function issuesWith(extra: Record<string, unknown>): SettingIssue[] {
  return issuesOf({ ...minimal, ...extra });
}

/** The one issue for `extra`, checked to be the only one. */
function onlyIssue(extra: Record<string, unknown>): SettingIssue {
  const issues = issuesWith(extra);
  expect(issues).toHaveLength(1);
  return issues[0] as SettingIssue;
}

describe('parseRunSettings defaults', () => {
  it('completes minimal settings with ParallelRunStep defaults, in snake_case', () => {
    expect(parse()).toEqual({
      entry_script: 'digit_identification.js',
      mini_batch_size: { kind: 'files', count: 10 },
      error_threshold: -1,
      mini_batch_error_threshold: -1,
      allowed_failed_percent: 100,
      output_action: 'append_row',
      append_row_file_name: 'parallel_run_step.txt',
      run_invocation_timeout: 60,
      run_max_try: 3,
      node_count: 1,
      process_count_per_node: 1,
      logging_level: 'INFO',
      progress_update_timeout: null,
      arguments: {},
      arguments_list: [],
      side_inputs: {},
      environment_variables: {},
      models: [],
      input: { type: 'files', container: 'sampledata', path: 'mnist/' },
      output: { container: 'outputs' },
      compute: 'functions',
      allow_reuse: true,
    });
  });

  it('takes process_count_per_node from the app default when not given', () => {
    expect(parseRunSettings(minimal, { processCountPerNode: 8 }).process_count_per_node).toBe(8);
    expect(
      parseRunSettings({ ...minimal, process_count_per_node: 2 }, { processCountPerNode: 8 }),
    ).toMatchObject({
      process_count_per_node: 2,
    });
  });

  it('keeps every given setting', () => {
    const settings = parse({
      source_directory: 'samples/mnist',
      mini_batch_size: '5',
      error_threshold: 10,
      mini_batch_error_threshold: 2,
      allowed_failed_percent: 12.5,
      output_action: 'summary_only',
      append_row_file_name: 'mnist_outputs.txt',
      run_invocation_timeout: 0.5,
      run_max_try: 1,
      node_count: 100,
      process_count_per_node: 64,
      logging_level: 'debug',
      progress_update_timeout: 300,
      side_inputs: { labels: { container: 'sampledata', path: 'labels.txt' } },
      environment_variables: { OMP_NUM_THREADS: '1' },
      models: ['mnist', 'mnist-large:12'],
      output: { container: 'results', path: 'mnist/' },
      compute: 'functions',
      allow_reuse: false,
      run_name: 'nightly mnist',
    });
    expect(settings).toMatchObject({
      source_directory: 'samples/mnist',
      mini_batch_size: { kind: 'files', count: 5 },
      error_threshold: 10,
      mini_batch_error_threshold: 2,
      allowed_failed_percent: 12.5,
      output_action: 'summary_only',
      append_row_file_name: 'mnist_outputs.txt',
      run_invocation_timeout: 0.5,
      run_max_try: 1,
      node_count: 100,
      process_count_per_node: 64,
      logging_level: 'DEBUG',
      progress_update_timeout: 300,
      side_inputs: { labels: { container: 'sampledata', path: 'labels.txt' } },
      environment_variables: { OMP_NUM_THREADS: '1' },
      models: ['mnist', 'mnist-large:12'],
      output: { container: 'results', path: 'mnist/' },
      run_name: 'nightly mnist',
    });
  });

  it('refuses null for a setting, naming it, except progress_update_timeout (not enforced)', () => {
    expect(parse({ progress_update_timeout: null }).progress_update_timeout).toBeNull();
    const nullMessage = 'null is not allowed: leave the setting out to get its default, or give a value';
    expect(
      issuesOf({
        entry_script: null,
        error_threshold: null,
        instance_count: null,
        retry_settings: { max_retries: null },
        input: { container: 'sampledata', path: null },
        output: { path: null },
        side_inputs: { labels: { container: 'sampledata', path: null } },
      }),
    ).toEqual(
      [
        'entry_script',
        'error_threshold',
        'instance_count',
        'retry_settings.max_retries',
        'input.path',
        'side_inputs.labels.path',
        'output.path',
      ].map((field) => ({ field, message: nullMessage })),
    );
  });
});

describe('the body', () => {
  it.each([[null], [[]], ['settings'], [42]])('rejects %j with one (body) issue', (body) => {
    const issues = issuesOf(body);
    expect(issues).toEqual([
      { field: '(body)', message: expect.stringContaining('send a JSON object') as string },
    ]);
    expect(issues[0]?.message.startsWith(`${JSON.stringify(body)} is not allowed`)).toBe(true);
  });

  it('names the missing required settings', () => {
    expect(issuesOf({}).map((i) => [i.field, i.message.slice(0, 8)])).toEqual([
      ['entry_script', 'missing:'],
      ['input', 'missing:'],
    ]);
  });

  it('collects every issue into one SettingsError', () => {
    let error: unknown;
    try {
      parseRunSettings({
        entry_script: '/etc/passwd.js',
        input: { container: 'Sample_Data' },
        mini_batch_size: 0,
        error_threshold: 'ten',
        miniBatchSize: 5,
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const settingsError = error as SettingsError;
    expect(settingsError.code).toBe('INVALID_SETTINGS');
    expect(settingsError.issues.map((i) => i.field)).toEqual([
      'miniBatchSize',
      'entry_script',
      'input.container',
      'mini_batch_size',
      'error_threshold',
    ]);
    expect(settingsError.message).toContain('mini_batch_size: 0 is not allowed');
    expect(settingsError.field).toBe('miniBatchSize');
  });
});

describe('unknown settings', () => {
  it('suggests mini_batch_size for miniBatchSize', () => {
    expect(onlyIssue({ miniBatchSize: 5 })).toEqual({
      field: 'miniBatchSize',
      message: 'unknown setting; did you mean "mini_batch_size"?',
    });
  });

  it.each([
    ['mini-batch-size', 'mini_batch_size'],
    ['error_treshold', 'error_threshold'],
    ['inputs', 'input'],
    ['ProcessCountPerNode', 'process_count_per_node'],
  ])('suggests for %s', (name, suggestion) => {
    expect(onlyIssue({ [name]: 1 }).message).toBe(`unknown setting; did you mean "${suggestion}"?`);
  });

  it('says only "unknown setting" when nothing is close', () => {
    expect(onlyIssue({ colour: 'blue' })).toEqual({ field: 'colour', message: 'unknown setting' });
  });

  it('rejects unknown keys inside input, output and retry_settings too', () => {
    expect(issuesWith({ input: { container: 'sampledata', pth: 'mnist/' } })).toEqual([
      { field: 'input.pth', message: 'unknown setting; did you mean "input.path"?' },
    ]);
    expect(onlyIssue({ output: { containr: 'results' } }).field).toBe('output.containr');
    expect(onlyIssue({ retry_settings: { max_retrys: 1 } }).message).toBe(
      'unknown setting; did you mean "retry_settings.max_retries"?',
    );
  });
});

describe('mini_batch_size', () => {
  it.each([
    [5, 5],
    ['5', 5],
    [' 12 ', 12],
    [1, 1],
  ])('%j is a count of files', (value, count) => {
    expect(parse({ mini_batch_size: value }).mini_batch_size).toEqual({ kind: 'files', count });
  });

  it.each([0, '0', -1, '-3', 2.5, '2.5', 'ten', '', true, [5], '1.5MB', '5 files'])('rejects %j', (value) => {
    expect(onlyIssue({ mini_batch_size: value })).toEqual({
      field: 'mini_batch_size',
      message: `${JSON.stringify(value)} is not allowed: use a whole number of files from 1 to 100000, e.g. "10" (byte sizes such as "1MB" apply to tables, input.type "table")`,
    });
  });

  it('says byte sizes apply to tables when the input is files', () => {
    expect(onlyIssue({ mini_batch_size: '1MB' })).toEqual({
      field: 'mini_batch_size',
      message:
        '"1MB" is not allowed: byte sizes apply to tables (input.type "table"); for files use a whole number of files from 1 to 100000, e.g. "10"',
    });
  });

  const table = { type: 'table', container: 'sampledata', path: 'iris/' };

  it('takes byte sizes for a table (1KB = 1024 bytes), 1MB by default, a bare number as bytes', () => {
    expect(parse({ input: table }).mini_batch_size).toEqual({ kind: 'bytes', bytes: 1024 ** 2, text: '1MB' });
    expect(parse({ input: table, mini_batch_size: '10kb' }).mini_batch_size).toEqual({
      kind: 'bytes',
      bytes: 10_240,
      text: '10kb',
    });
    expect(parse({ input: table, mini_batch_size: 4096 }).mini_batch_size).toEqual({
      kind: 'bytes',
      bytes: 4096,
      text: '4096',
    });
  });

  it.each(['1XB', '0', '-1MB', '0KB', '1.5MB'])(
    'refuses %j for a table, saying what a table takes',
    (value) => {
      expect(onlyIssue({ input: table, mini_batch_size: value })).toEqual({
        field: 'mini_batch_size',
        message: `${JSON.stringify(value)} is not allowed: for tables (input.type "table") use a byte size: a whole number of bytes from 1024, or with KB, MB or GB (1KB = 1024 bytes) up to "100GB", e.g. "1MB"`,
      });
    },
  );

  it('takes a bare number of bytes for a table up to the bytes limit, not the files limit', () => {
    expect(parse({ input: table, mini_batch_size: 1_048_576 }).mini_batch_size).toEqual({
      kind: 'bytes',
      bytes: 1_048_576,
      text: '1048576',
    });
    expect(parse({ input: table, mini_batch_size: String(100 * 1024 ** 3) }).mini_batch_size).toEqual({
      kind: 'bytes',
      bytes: 100 * 1024 ** 3,
      text: String(100 * 1024 ** 3),
    });
    expect(onlyIssue({ input: table, mini_batch_size: 100 * 1024 ** 3 + 1 }).message).toMatch(
      /up to "100GB"/,
    );
    expect(onlyIssue({ mini_batch_size: 1_048_576 }).message).toMatch(/from 1 to 100000/);
  });

  it('refuses a file count for a table, saying counts apply to files', () => {
    const issue = onlyIssue({ input: table, mini_batch_size: 10 });
    expect(issue.field).toBe('mini_batch_size');
    expect(issue.message).toMatch(/^10 is not allowed: a number of files applies to file inputs; for tables/);
  });
});

describe('numeric settings', () => {
  it.each([
    [
      'error_threshold',
      'ten',
      'use a whole number of failed items from 0 to 1000000000, or -1 to ignore failed items, e.g. 10',
    ],
    [
      'error_threshold',
      -2,
      'use a whole number of failed items from 0 to 1000000000, or -1 to ignore failed items, e.g. 10',
    ],
    [
      'error_threshold',
      1.5,
      'use a whole number of failed items from 0 to 1000000000, or -1 to ignore failed items, e.g. 10',
    ],
    [
      'mini_batch_error_threshold',
      -5,
      'use a whole number of failed mini-batches from 0 to 1000000000, or -1 to ignore failed mini-batches, e.g. 5',
    ],
    ['allowed_failed_percent', 101, 'use a percentage from 0 to 100, e.g. 10'],
    ['allowed_failed_percent', -1, 'use a percentage from 0 to 100, e.g. 10'],
    ['run_max_try', 0, 'use a whole number of tries from 1 to 100, e.g. 3'],
    ['run_invocation_timeout', 0, 'use a number of seconds over 0 and at most 604800 (7 days), e.g. 60'],
    ['node_count', 101, 'use a whole number from 1 to 100, e.g. 2'],
    ['node_count', 0, 'use a whole number from 1 to 100, e.g. 2'],
    ['process_count_per_node', 65, 'use a whole number from 1 to 64, e.g. 4'],
    ['progress_update_timeout', -1, 'use a number of seconds over 0 and at most 604800 (7 days), e.g. 60'],
  ])('%s: %j', (field, value, allowed) => {
    expect(onlyIssue({ [field]: value })).toEqual({
      field,
      message: `${JSON.stringify(value)} is not allowed: ${allowed}`,
    });
  });

  it('says when a number was given as a string', () => {
    expect(onlyIssue({ error_threshold: '10' }).message).toBe(
      '"10" is not allowed: use a number without quotes: a whole number of failed items from 0 to 1000000000, or -1 to ignore failed items, e.g. 10',
    );
  });

  it.each([
    ['run_invocation_timeout', 3_000_000],
    ['progress_update_timeout', 604_801],
    ['run_max_try', 1e12],
    ['run_max_try', 101],
    ['error_threshold', 1e10],
    ['mini_batch_error_threshold', 2.5],
    ['node_count', 1.5],
    ['run_invocation_timeout', 'NaN'],
    ['run_invocation_timeout', 'Infinity'],
    ['run_invocation_timeout', Number.POSITIVE_INFINITY],
    ['mini_batch_size', 100_001],
    ['mini_batch_size', '1e3'],
  ])('refuses %s %j, beyond what the runtime honours', (field, value) => {
    const issue = onlyIssue({ [field]: value });
    expect(issue.field).toBe(field);
    expect(issue.message).toMatch(/is not allowed: use (a whole number|a number of seconds)/);
    expect(issue.message).not.toContain('without quotes');
  });

  it('refuses retry_settings beyond 99 retries and 7 days', () => {
    expect(
      issuesWith({ retry_settings: { max_retries: 100, timeout: 604_801 } }).map((i) => i.field),
    ).toEqual(['retry_settings.timeout', 'retry_settings.max_retries']);
  });

  it('accepts the upper edges', () => {
    expect(
      parse({
        run_invocation_timeout: 604_800,
        progress_update_timeout: 604_800,
        run_max_try: 100,
        error_threshold: 1_000_000_000,
        mini_batch_size: 100_000,
      }),
    ).toMatchObject({
      run_invocation_timeout: 604_800,
      run_max_try: 100,
      mini_batch_size: { count: 100_000 },
    });
  });

  it('accepts the edges of each range', () => {
    expect(
      parse({
        error_threshold: -1,
        allowed_failed_percent: 0,
        run_max_try: 1,
        node_count: 1,
        process_count_per_node: 1,
      }),
    ).toMatchObject({ error_threshold: -1, allowed_failed_percent: 0, run_max_try: 1 });
  });
});

describe('choices and names', () => {
  it('rejects an unknown output_action and logging_level, listing the choices', () => {
    expect(issuesWith({ output_action: 'append_rows', logging_level: 'ERROR' })).toEqual([
      {
        field: 'output_action',
        message: '"append_rows" is not allowed: use one of "append_row", "summary_only"',
      },
      { field: 'logging_level', message: '"ERROR" is not allowed: use one of "WARNING", "INFO", "DEBUG"' },
    ]);
  });

  it.each([
    ['output', { container: 'runs' }],
    ['output', { container: 'models' }],
    ['output', { container: 'pipelines' }],
    ['output', { container: 'inbox-done' }],
    ['output', { container: 'inbox-state' }],
    ['side_inputs', { x: { container: 'inbox-rejected', path: '' } }],
    ['output', { container: 'azure-webjobs-secrets' }],
    ['output', { container: 'parallelrun-leases' }],
    ['output', { container: 'hubabc123-largemessages' }],
    ['input', { container: 'runs', path: '' }],
    ['input', { container: 'azure-webjobs-hosts', path: '' }],
    ['input', { container: 'parallelrun-applease', path: '' }],
    ['side_inputs', { x: { container: 'models', path: 'mnist/' } }],
    ['side_inputs', { x: { container: 'azure-webjobs-secrets', path: '' } }],
  ])("refuses the service's or the host's containers: %s %j", (setting, value) => {
    const issue = onlyIssue({ [setting]: value });
    expect(issue.field).toMatch(/\.container$/);
    expect(issue.message).toContain('is not allowed');
    expect(issue.message).toContain('use a container of your own data');
  });

  it('reads models and pipelines as input, and writes to outputs', () => {
    expect(parse({ input: { container: 'models', path: 'mnist/' } }).input).toMatchObject({
      container: 'models',
    });
    expect(parse({ output: { container: 'outputs' } }).output).toEqual({ container: 'outputs' });
  });

  it.each(['', '.', '..', 'out/put.txt', 'out\\put.txt', 'a\nb.txt', 'x'.repeat(256), 7])(
    'append_row_file_name rejects %j',
    (value) => {
      const issue = onlyIssue({ append_row_file_name: value });
      expect(issue.field).toBe('append_row_file_name');
      expect(issue.message).toContain('use a file name of 1 to 255 characters');
    },
  );

  it('run_name must be one line', () => {
    expect(onlyIssue({ run_name: 'a\nb' }).field).toBe('run_name');
  });
});

describe('entry_script and source_directory', () => {
  it.each(['digit_identification.js', 'mnist/digit_identification.ts', 'a/b-c/d_e.mjs'])(
    'accepts %s',
    (path) => {
      expect(parse({ entry_script: path }).entry_script).toBe(path);
    },
  );

  it.each([
    ['/srv/score.js', 'it is absolute'],
    ['C:/score.js', 'it is absolute'],
    ['../score.js', '".." is not allowed'],
    ['mnist/../../score.js', '".." is not allowed'],
    ['mnist\\score.js', 'it contains "\\"'],
    ['https://example.com/score.js', 'it is a URL'],
    ['score.js\nprocess.exit()', 'it contains control characters'],
    ['require("child_process").js', 'only letters, digits'],
    ['score.py', 'entry scripts are JavaScript or TypeScript modules'],
    ['node_modules/x/index.js', 'modules under node_modules are not entry scripts'],
    ['', 'it is empty'],
  ])('rejects %j: %s', (path, reason) => {
    const issue = onlyIssue({ entry_script: path });
    expect(issue.field).toBe('entry_script');
    expect(issue.message).toContain(`${JSON.stringify(path)} is not allowed: ${reason}`);
    expect(issue.message).toContain('use the relative path of a .js or .ts module in the app');
  });

  it('source_directory follows the same rules, for a folder', () => {
    expect(parse({ source_directory: 'samples/mnist/' }).source_directory).toBe('samples/mnist/');
    expect(onlyIssue({ source_directory: '../secrets' })).toMatchObject({ field: 'source_directory' });
  });
});

describe('arguments', () => {
  it('parses a ParallelRunStep argument list and keeps the list', () => {
    const args = [
      '--threshold',
      '0.5',
      '--verbose',
      '--label',
      'cat',
      '--count=3',
      '--max-items',
      '007',
      '--dry',
      'False',
    ];
    expect(parse({ arguments: args })).toMatchObject({
      arguments: { threshold: 0.5, verbose: true, label: 'cat', count: 3, max_items: '007', dry: false },
      arguments_list: args,
    });
  });

  it('takes negative numbers as values and a trailing name as a switch', () => {
    expect(parse({ arguments: ['--offset', '-3', '--fast'] }).arguments).toEqual({ offset: -3, fast: true });
  });

  it('takes an object of scalars', () => {
    expect(parse({ arguments: { threshold: 0.5, verbose: true, label: 'cat' } })).toMatchObject({
      arguments: { threshold: 0.5, verbose: true, label: 'cat' },
      arguments_list: ['--threshold', '0.5', '--verbose', 'true', '--label', 'cat'],
    });
  });

  it('rejects reserved setting names, as ParallelRunStep does', () => {
    expect(
      issuesWith({ arguments: ['--mini_batch_size', '5', '--ok', '--input=x', '--Node-Count', '2'] }),
    ).toEqual([
      {
        field: 'arguments[0]',
        message:
          '"--mini_batch_size" is not allowed: "mini_batch_size" is a setting name, reserved as in ParallelRunStep; give it as a setting or rename the argument',
      },
      { field: 'arguments[3]', message: expect.stringContaining('"input" is a setting name') as string },
      { field: 'arguments[4]', message: expect.stringContaining('"Node_Count" is a setting name') as string },
    ]);
    expect(onlyIssue({ arguments: { error_threshold: 5 } }).field).toBe('arguments.error_threshold');
  });

  it('rejects values without a name, repeated names and non-scalars', () => {
    expect(issuesWith({ arguments: ['stray', '--a', '1', '--a', '2', '--'] }).map((i) => i.field)).toEqual([
      'arguments[0]',
      'arguments[3]',
      'arguments[5]',
    ]);
    expect(onlyIssue({ arguments: ['--a', { b: 1 }] })).toEqual({
      field: 'arguments[1]',
      message: '{"b":1} is not allowed: use a string, e.g. ["--threshold", "0.5", "--verbose"]',
    });
    expect(onlyIssue({ arguments: { a: [1] } }).field).toBe('arguments.a');
    expect(onlyIssue({ arguments: '--a 1' }).field).toBe('arguments');
  });

  it('keeps __proto__ an ordinary argument name', () => {
    const settings = parse({ arguments: ['--__proto__', '1'] });
    expect(Object.getPrototypeOf(settings.arguments)).toBe(Object.prototype);
    expect(Object.hasOwn(settings.arguments, '__proto__')).toBe(true);
  });
});

describe('input', () => {
  it('accepts a container and path, glob or names, and the uri_folder alias', () => {
    expect(
      parse({ input: { type: 'uri_folder', container: 'sampledata', path: '', glob: '**/*.png' } }).input,
    ).toEqual({
      type: 'files',
      container: 'sampledata',
      path: '',
      glob: '**/*.png',
    });
    expect(parse({ input: { container: 'sampledata', names: ['0/a.png', 'b.png'] } }).input).toEqual({
      type: 'files',
      container: 'sampledata',
      path: '',
      names: ['0/a.png', 'b.png'],
    });
  });

  it('accepts a local folder', () => {
    expect(parse({ input: { local_path: './data/mnist' } }).input).toEqual({
      type: 'files',
      local_path: './data/mnist',
    });
  });

  it.each(['mltable', 'uri_file'])('type %s is pointed at "table"', (type) => {
    expect(onlyIssue({ input: { type, container: 'sampledata' } })).toEqual({
      field: 'input.type',
      message: `"${type}" is not supported yet: read CSV, JSON Lines or Parquet files with "type": "table"`,
    });
  });

  it('reads a table input, with csv output and partition keys carried to the input', () => {
    const settings = parse({
      input: { type: 'table', container: 'sampledata', path: 'iris/', format: 'csv', delimiter: ';' },
      partition_keys: ['species'],
    });
    expect(settings.input).toEqual({
      type: 'table',
      container: 'sampledata',
      path: 'iris/',
      format: 'csv',
      delimiter: ';',
      partition_keys: ['species'],
    });
    expect(settings.append_row_format).toBe('csv');
    expect(settings.partition_keys).toEqual(['species']);
  });

  it('names each bad table option', () => {
    expect(
      issuesWith({
        input: { type: 'table', container: 'sampledata', format: 'xlsx', header: 'yes', delimiter: ';;' },
        append_row_format: 'xml',
      }).map((i) => i.field),
    ).toEqual(['input.format', 'input.header', 'input.delimiter', 'append_row_format']);
    expect(
      onlyIssue({ input: { type: 'table', container: 'sampledata', format: 'parquet', header: true } }),
    ).toEqual({
      field: 'input.header',
      message: 'applies to CSV files only, not to input.format "parquet"',
    });
    expect(onlyIssue({ partition_keys: ['species'] }).message).toMatch(/applies to tables/);
    expect(
      onlyIssue({ input: { type: 'table', container: 'sampledata' }, partition_keys: ['a', 'a'] }).field,
    ).toBe('partition_keys');
  });

  it('reads carry_columns for a table, carried to the input as partition keys are', () => {
    const table = { type: 'table', container: 'sampledata', path: 'iris/' };
    const settings = parse({ input: table, carry_columns: ['id', 'customer id'] });
    expect(settings.carry_columns).toEqual(['id', 'customer id']);
    expect(settings.input).toEqual({ ...table, carry_columns: ['id', 'customer id'] });
  });

  it('refuses carry_columns where they cannot be joined, naming the field', () => {
    const table = { type: 'table', container: 'sampledata' };
    expect(onlyIssue({ carry_columns: ['id'] })).toEqual({
      field: 'carry_columns',
      message: 'applies to tables (input.type "table"): it copies columns of each input row to its result',
    });
    for (const bad of [
      [],
      ['id', 'id'],
      'id',
      [1],
      [''],
      ['a\nb'],
      Array.from({ length: 33 }, (_, i) => `c${i}`),
    ])
      expect(onlyIssue({ input: table, carry_columns: bad }).field).toBe('carry_columns');
    expect(onlyIssue({ input: table, carry_columns: ['id'], output_action: 'summary_only' })).toEqual({
      field: 'carry_columns',
      message: 'copies columns to the output rows, and output_action "summary_only" writes none',
    });
  });

  it.each(['ab', 'Sample', 'sample_data', 'sample--data', '-sample', 'sample-', 'a'.repeat(64)])(
    'rejects the container name %j, naming the rule',
    (container) => {
      expect(onlyIssue({ input: { container } })).toEqual({
        field: 'input.container',
        message: `${JSON.stringify(container)} is not allowed: use a container name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit, e.g. "sampledata"`,
      });
    },
  );

  it.each([
    ['path', '/mnist'],
    ['path', 'mnist/../x'],
    ['path', 'a//b'],
    ['glob', '../*.png'],
    ['glob', ''],
    ['local_path', '../data'],
    ['local_path', '/etc'],
  ])('rejects input.%s %j', (key, value) => {
    const body = key === 'local_path' ? { local_path: value } : { container: 'sampledata', [key]: value };
    expect(onlyIssue({ input: body }).field).toBe(`input.${key}`);
  });

  it('checks names one by one, and reports only the first few', () => {
    expect(
      issuesWith({ input: { container: 'sampledata', names: ['a.png', '../b.png', 'a.png', 3] } }),
    ).toEqual([
      {
        field: 'input.names[1]',
        message:
          '"../b.png" is not allowed: ".." is not allowed; use a blob name relative to input.path, e.g. "0/img_1.png"',
      },
      { field: 'input.names[2]', message: '"a.png" is not allowed: it is listed twice: give each name once' },
      { field: 'input.names[3]', message: expect.stringContaining('3 is not allowed') as string },
    ]);
    const many = issuesWith({
      input: { container: 'sampledata', names: Array.from({ length: 9 }, () => '/x') },
    });
    expect(many.map((i) => i.field)).toEqual([
      'input.names[0]',
      'input.names[1]',
      'input.names[2]',
      'input.names[3]',
      'input.names[4]',
      'input.names',
    ]);
    expect(many[5]?.message).toBe('4 more names are not allowed (the first 5 are listed)');
    expect(onlyIssue({ input: { container: 'sampledata', names: [] } }).field).toBe('input.names');
  });

  it('rejects mixing local and blob inputs, or glob and names', () => {
    expect(issuesWith({ input: { local_path: 'data', container: 'sampledata' } })).toEqual([
      {
        field: 'input.container',
        message: 'cannot be combined with input.local_path: give either a local folder or a container',
      },
    ]);
    expect(onlyIssue({ input: { container: 'sampledata', glob: '*.png', names: ['a.png'] } }).field).toBe(
      'input.names',
    );
  });

  it('requires a container', () => {
    expect(onlyIssue({ input: { path: 'mnist/' } })).toEqual({
      field: 'input.container',
      message: 'missing: give the blob container, e.g. "sampledata"',
    });
  });
});

describe('output, side inputs, variables and models', () => {
  it('defaults the output container and validates it', () => {
    expect(parse({ output: { path: 'mnist/' } }).output).toEqual({ container: 'outputs', path: 'mnist/' });
    expect(onlyIssue({ output: { container: 'Out' } }).field).toBe('output.container');
    expect(onlyIssue({ output: { path: '../x' } }).field).toBe('output.path');
  });

  it('validates side inputs', () => {
    expect(
      issuesWith({ side_inputs: { labels: { path: 'x' }, 'bad name': { container: 'abc' }, list: [] } }),
    ).toEqual([
      {
        field: 'side_inputs.labels.container',
        message: 'missing: give the blob container, e.g. "sampledata"',
      },
      {
        field: 'side_inputs.bad name',
        message: expect.stringContaining('this name is not allowed') as string,
      },
      { field: 'side_inputs.list', message: expect.stringContaining('[] is not allowed') as string },
    ]);
  });

  it('validates environment variables, keeping host variables out', () => {
    expect(
      issuesWith({ environment_variables: { NODE_OPTIONS: '--require x', THREADS: 4, '1X': 'a' } }),
    ).toEqual([
      {
        field: 'environment_variables.NODE_OPTIONS',
        message: expect.stringContaining(
          '"--require x" is not allowed: the name is reserved for the host',
        ) as string,
      },
      {
        field: 'environment_variables.THREADS',
        message: expect.stringContaining('4 is not allowed') as string,
      },
      {
        field: 'environment_variables.1X',
        message: expect.stringContaining('the name is not allowed') as string,
      },
    ]);
  });

  it.each([
    'AZURE_CLIENT_ID',
    'IDENTITY_ENDPOINT',
    'MSI_SECRET',
    'https_proxy',
    'NO_PROXY',
    'PARALLEL_RUN_SCRIPTS',
  ])("keeps %s, which the service's storage clients read, out of a run's variables", (name) => {
    expect(onlyIssue({ environment_variables: { [name]: 'x' } })).toMatchObject({
      field: `environment_variables.${name}`,
      message: expect.stringContaining("reserved for the service's storage clients") as string,
    });
  });

  it('refuses a variable value holding NUL, which no process environment can carry', () => {
    expect(onlyIssue({ environment_variables: { A: 'x\u0000y' } })).toMatchObject({
      field: 'environment_variables.A',
      message: expect.stringContaining('without NUL characters') as string,
    });
  });

  it('refuses variables too big together for a process to start with them', () => {
    const many = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`V${i}`, 'x'.repeat(30_000)]));
    expect(onlyIssue({ environment_variables: many })).toMatchObject({
      field: 'environment_variables',
      message: expect.stringContaining('at most 65536 characters') as string,
    });
  });

  it('refuses a model named twice, naming where it was first, and more models than a run may name', () => {
    expect(onlyIssue({ models: ['mnist:1', 'mnist', 'mnist:1'] })).toMatchObject({
      field: 'models[2]',
      message: expect.stringContaining('it is named already, at models[0]') as string,
    });
    const many = Array.from({ length: 65 }, (_, i) => `m${i}:1`);
    expect(onlyIssue({ models: many })).toMatchObject({
      field: 'models',
      message: expect.stringContaining('name at most 64') as string,
    });
    expect(parseRunSettings({ ...minimal, models: many.slice(0, 64) }).models).toHaveLength(64);
  });

  it('refuses a script path with a name longer than a file system allows, naming the field', () => {
    const long = 'a'.repeat(256);
    expect(onlyIssue({ entry_script: `${long}.js` })).toMatchObject({
      field: 'entry_script',
      message: expect.stringContaining('longer than 255 bytes') as string,
    });
    expect(onlyIssue({ source_directory: long })).toMatchObject({
      field: 'source_directory',
      message: expect.stringContaining('longer than 255 bytes') as string,
    });
    expect(parseRunSettings({ ...minimal, source_directory: 'a'.repeat(255) }).source_directory).toHaveLength(
      255,
    );
  });

  it.each(['mnist:0', 'mnist:v1', ':1', 'a b', 'x'.repeat(64), 3])('rejects the model %j', (model) => {
    expect(onlyIssue({ models: ['ok', model] })).toMatchObject({ field: 'models[1]' });
  });
});

describe('Azure ML v2 names', () => {
  it('maps v2 names to their v1 settings', () => {
    const settings = parse({
      instance_count: 4,
      max_concurrency_per_instance: 2,
      retry_settings: { max_retries: 0, timeout: 30 },
      allowed_failed_count: 7,
      program_arguments: '--threshold 0.5  --verbose',
    });
    expect(settings).toMatchObject({
      node_count: 4,
      process_count_per_node: 2,
      run_max_try: 1,
      run_invocation_timeout: 30,
      mini_batch_error_threshold: 7,
      arguments: { threshold: 0.5, verbose: true },
      arguments_list: ['--threshold', '0.5', '--verbose'],
    });
    expect(parse({ retry_settings: { max_retries: 2 } }).run_max_try).toBe(3);
  });

  it('names both when a v1 name and its v2 name are given', () => {
    expect(
      issuesWith({
        node_count: 2,
        instance_count: 3,
        run_max_try: 2,
        retry_settings: { max_retries: 1 },
        arguments: [],
        program_arguments: '',
      }),
    ).toEqual([
      {
        field: 'run_max_try',
        message:
          'cannot be given together with retry_settings.max_retries, its Azure ML v2 name: give only one of them',
      },
      {
        field: 'node_count',
        message: 'cannot be given together with instance_count, its Azure ML v2 name: give only one of them',
      },
      { field: 'arguments', message: expect.stringContaining('program_arguments') as string },
    ]);
  });

  it('validates v2 values under their own names', () => {
    expect(issuesWith({ retry_settings: { max_retries: -1, timeout: 'long' }, instance_count: 0 })).toEqual([
      {
        field: 'retry_settings.timeout',
        message: expect.stringContaining('"long" is not allowed') as string,
      },
      {
        field: 'retry_settings.max_retries',
        message: '-1 is not allowed: use a whole number of retries from 0 to 99, e.g. 2',
      },
      { field: 'instance_count', message: expect.stringContaining('0 is not allowed') as string },
    ]);
    expect(onlyIssue({ program_arguments: '--input x' }).field).toBe('program_arguments');
    expect(onlyIssue({ retry_settings: 3 }).field).toBe('retry_settings');
  });
});

describe('compute pools', () => {
  const withPools = (compute: unknown, pools?: string[]) =>
    parseRunSettings({ ...minimal, compute }, pools ? { pools } : {});

  it('takes "functions" or a configured pool', () => {
    expect(withPools('functions', []).compute).toBe('functions');
    expect(withPools('gpu', ['gpu', 't4']).compute).toBe('gpu');
  });

  it('refuses a pool the app does not have, listing those it has', () => {
    expect(() => withPools('a100', ['gpu', 't4'])).toThrow(
      'compute: "a100" is not a pool of this app: use "functions", "gpu", "t4" (app setting PARALLEL_RUN_POOLS)',
    );
    expect(() => withPools('gpu', [])).toThrow('it has none (app setting PARALLEL_RUN_POOLS is empty)');
  });

  it('refuses a name that cannot be a pool, whatever the app has', () => {
    for (const bad of ['GPU', 'gpu--x', '../gpu', 'a'.repeat(41), 7]) {
      expect(() => withPools(bad)).toThrow(/^compute: .* is not allowed: use "functions" or a pool name/);
    }
  });

  it('reads the configured pools from the app setting, refusing bad names', () => {
    expect(configuredPools({ PARALLEL_RUN_POOLS: ' gpu, t4 ,gpu,' })).toEqual(['gpu', 't4']);
    expect(configuredPools({})).toEqual([]);
    expect(() => configuredPools({ PARALLEL_RUN_POOLS: 'gpu,Bad_Name' })).toThrow(
      'app setting PARALLEL_RUN_POOLS: "Bad_Name" is not a pool name',
    );
  });
});

describe('not supported yet', () => {
  it.each([['environment', 'batch-env', '"batch-env" is not supported yet']])(
    '%s: %j',
    (field, value, message) => {
      const issue = onlyIssue({ [field]: value });
      expect(issue.field).toBe(field);
      expect(issue.message).toContain(message);
    },
  );

  it('rejects wrong types for compute and allow_reuse', () => {
    expect(issuesWith({ compute: 1, allow_reuse: 'no' })).toEqual([
      {
        field: 'compute',
        message: `1 is not allowed: use "functions" or a pool name (${POOL_NAME_RULE})`,
      },
      {
        field: 'allow_reuse',
        message:
          '"no" is not allowed: use true (reuse an earlier Completed run with the same fingerprint) or false',
      },
    ]);
  });

  it('refuses arguments_list as input: it is derived', () => {
    expect(onlyIssue({ arguments_list: ['--a'] }).message).toContain('it is derived from "arguments"');
  });
});

describe('allow_reuse', () => {
  it('is true unless given, as in ParallelRunStep', () => {
    expect(parse({}).allow_reuse).toBe(true);
    expect(parse({ allow_reuse: true }).allow_reuse).toBe(true);
    expect(parse({ allow_reuse: false }).allow_reuse).toBe(false);
  });
});

describe('resume overrides', () => {
  it('takes only what is given, in v1 or v2 names', () => {
    expect(parseResumeOverrides(undefined)).toEqual({});
    expect(parseResumeOverrides({})).toEqual({});
    expect(parseResumeOverrides({ error_threshold: -1, run_max_try: 5 })).toEqual({
      error_threshold: -1,
      run_max_try: 5,
    });
    expect(
      parseResumeOverrides({ allowed_failed_count: 3, retry_settings: { max_retries: 0, timeout: 9 } }),
    ).toEqual({ mini_batch_error_threshold: 3, run_max_try: 1, run_invocation_timeout: 9 });
    expect(parseResumeOverrides({ progress_update_timeout: null })).toEqual({
      progress_update_timeout: null,
    });
  });

  it('checks values as at submit, naming the field', () => {
    expect(() => parseResumeOverrides({ error_threshold: -2 })).toThrow(/error_threshold/);
    expect(() => parseResumeOverrides({ run_invocation_timeout: 0 })).toThrow(/run_invocation_timeout/);
    expect(() => parseResumeOverrides([])).toThrow(SettingsError);
  });

  it('answers a body that is no object with what a resume takes, not what a submit does', () => {
    expect(() => parseResumeOverrides(null)).toThrow(/a resume may change error_threshold, .*retry_settings/);
    expect(() => parseResumeOverrides([])).not.toThrow(/entry_script/);
  });

  it('refuses any other setting, naming it', () => {
    const issues = (body: object) => {
      try {
        parseResumeOverrides(body);
      } catch (err) {
        return (err as SettingsError).issues;
      }
      return [];
    };
    expect(issues({ mini_batch_size: 3 })).toEqual([
      {
        field: 'mini_batch_size',
        message: expect.stringContaining(
          "cannot be changed on resume: a resume keeps the run's settings",
        ) as string,
      },
    ]);
    expect(issues({ error_treshold: 3 })).toEqual([
      { field: 'error_treshold', message: 'unknown setting; did you mean "error_threshold"?' },
    ]);
  });
});
