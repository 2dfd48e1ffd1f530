import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { SettingsError } from '../errors.js';
import { parsePipeline } from './parameters.js';
import { settingsSchema } from './schema.js';
import { parseRunSettings } from './settings.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const schemaPath = path.join(repoRoot, 'schemas/run-settings.schema.json');

const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
  settingsSchema(),
);

/** What the service says of a settings file: undefined when it takes it, else the fields it names. */
function validatorVerdict(doc: unknown): string[] | undefined {
  try {
    const isPipeline = typeof doc === 'object' && doc !== null && 'settings' in doc;
    if (isPipeline) parsePipeline(doc, 'sample');
    else parseRunSettings(doc);
    return undefined;
  } catch (err) {
    if (err instanceof SettingsError) return err.issues.map((i) => i.field);
    throw err;
  }
}

async function jsonFiles(dir: string): Promise<{ name: string; doc: unknown }[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      doc: JSON.parse(await readFile(path.join(dir, name), 'utf8')) as unknown,
    })),
  );
}

/** The settings examples of the README: its ```json blocks of settings, and the body `curl` submits. */
async function readmeExamples(): Promise<{ name: string; doc: unknown }[]> {
  const text = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const blocks = [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const bodies = [...text.matchAll(/curl -X POST \S+\/api\/runs [^\n]*-d '(\{[\s\S]*?\})'/g)].map(
    (m) => m[1] ?? '',
  );
  return [...blocks, ...bodies]
    .filter((b) => b.includes('"entry_script"'))
    .map((b, i) => ({ name: `README example ${i + 1}`, doc: JSON.parse(b) as unknown }));
}

describe('the settings JSON Schema', () => {
  it('is committed as npm run schema generates it from the validator', async () => {
    const committed = JSON.parse(await readFile(schemaPath, 'utf8')) as unknown;
    expect(committed).toEqual(settingsSchema());
  });

  it('accepts every sample settings file, as the validator does', async () => {
    const samples = await jsonFiles(path.join(repoRoot, 'samples/settings'));
    expect(samples.map((s) => s.name)).toEqual(['mnist-pipeline.json', 'mnist-tutorial.json']);
    for (const { name, doc } of samples) {
      expect({ name, errors: validate(doc) ? null : validate.errors }).toEqual({ name, errors: null });
      expect({ name, issues: validatorVerdict(doc) }).toEqual({ name, issues: undefined });
    }
  });

  it("accepts the README's settings examples, as the validator does", async () => {
    const examples = await readmeExamples();
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const { name, doc } of examples) {
      expect({ name, errors: validate(doc) ? null : validate.errors }).toEqual({ name, errors: null });
      expect({ name, issues: validatorVerdict(doc) }).toEqual({ name, issues: undefined });
    }
  });

  it('refuses every invalid sample, as the validator does', async () => {
    const invalid = await jsonFiles(path.join(repoRoot, 'test/fixtures/settings'));
    expect(invalid.length).toBe(3);
    for (const { name, doc } of invalid) {
      expect({ name, valid: validate(doc) }).toEqual({ name, valid: false });
      expect({ name, named: validatorVerdict(doc) !== undefined }).toEqual({ name, named: true });
    }
  });

  const base = {
    entry_script: 'score.js',
    input: { container: 'sampledata', path: 'mnist/' },
  };
  // Each case changes one setting of `base`: the schema and the validator must agree on every one.
  const cases: [string, Record<string, unknown>][] = [
    ['a whole error_threshold', { error_threshold: 10 }],
    ['error_threshold -2', { error_threshold: -2 }],
    ['a fractional run_max_try', { run_max_try: 1.5 }],
    ['run_max_try 101', { run_max_try: 101 }],
    ['run_invocation_timeout 0', { run_invocation_timeout: 0 }],
    ['run_invocation_timeout 0.5', { run_invocation_timeout: 0.5 }],
    ['run_invocation_timeout over 7 days', { run_invocation_timeout: 604_801 }],
    ['allowed_failed_percent 100.5', { allowed_failed_percent: 100.5 }],
    ['node_count 100', { node_count: 100 }],
    ['process_count_per_node 65', { process_count_per_node: 65 }],
    ['output_action summary_only', { output_action: 'summary_only' }],
    ['output_action append', { output_action: 'append' }],
    ['logging_level debug', { logging_level: 'debug' }],
    ['logging_level TRACE', { logging_level: 'TRACE' }],
    ['mini_batch_size 0', { mini_batch_size: 0 }],
    ['mini_batch_size "20"', { mini_batch_size: '20' }],
    ['progress_update_timeout null', { progress_update_timeout: null }],
    ['compute gpu', { compute: 'gpu' }],
    ['allow_reuse true', { allow_reuse: true }],
    ['a v2 name', { instance_count: 2, retry_settings: { max_retries: 2, timeout: 30 } }],
    ['an unknown retry setting', { retry_settings: { retries: 2 } }],
    ['an upper-case container', { input: { container: 'SampleData', path: 'mnist/' } }],
    ['glob and names together', { input: { container: 'sampledata', glob: '*.png', names: ['a.png'] } }],
    ['a local folder', { input: { local_path: './data' } }],
    ['a model version', { models: ['mnist:2'] }],
    ['a model version 0', { models: ['mnist:0'] }],
    ['arguments as a list', { arguments: ['--k', '1'] }],
    ['$schema', { $schema: '../schemas/run-settings.schema.json' }],
    ['a refused setting', { partition_keys: ['a'] }],
    ['carry_columns for files', { carry_columns: ['id'] }],
    [
      'carry_columns for a table',
      { input: { type: 'table', container: 'sampledata', path: 'iris/' }, carry_columns: ['id', 'a b'] },
    ],
    [
      'carry_columns twice the same',
      { input: { type: 'table', container: 'sampledata', path: 'iris/' }, carry_columns: ['id', 'id'] },
    ],
    [
      'a carried column with a line break',
      { input: { type: 'table', container: 'sampledata', path: 'iris/' }, carry_columns: ['a\nb'] },
    ],
  ];
  it.each(cases)('agrees with the validator on %s', (_name, change) => {
    const doc = { ...base, ...change };
    expect(validate(doc)).toBe(validatorVerdict(doc) === undefined);
  });
});
