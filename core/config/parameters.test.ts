import { describe, expect, it } from 'vitest';
import { SettingsError, type SettingIssue } from '../errors.js';
import { parsePipeline, resolveParameters, settingsForRun, usedParameters } from './parameters.js';
import { parseRunSettings } from './settings.js';

function issuesOf(action: () => unknown): SettingIssue[] {
  try {
    action();
  } catch (err) {
    if (err instanceof SettingsError) return err.issues;
    throw err;
  }
  throw new Error('expected a SettingsError');
}

const mnist = {
  settings: {
    entry_script: 'digit_identification.js',
    mini_batch_size: '${{parameters.batch_size}}',
    error_threshold: '${{ parameters.errors }}',
    input: { container: 'sampledata', path: '${{parameters.dataset}}/' },
    arguments: ['--threshold', '${{parameters.threshold}}'],
    run_name: 'mnist ${{parameters.dataset}} x${{parameters.batch_size}}',
  },
  parameters: {
    batch_size: { default: 5, description: 'files per mini-batch' },
    errors: { default: 10 },
    dataset: { default: 'mnist' },
    threshold: {},
  },
};

describe('resolveParameters', () => {
  it('keeps the type of whole values and writes text inside longer strings', () => {
    const template = {
      a: '${{parameters.n}}',
      b: 'n=${{parameters.n}}, flag=${{parameters.flag}}, obj=${{parameters.obj}}',
      c: ['${{parameters.flag}}', '${{parameters.obj}}', 3, null],
      d: '${{ parameters.n }}',
    };
    const resolved = resolveParameters(template, { n: 5, flag: false, obj: { x: 1 } });
    expect(resolved).toEqual({
      a: 5,
      b: 'n=5, flag=false, obj={"x":1}',
      c: [false, { x: 1 }, 3, null],
      d: 5,
    });
  });

  it('substitutes once: a value that looks like a reference stays as it is', () => {
    expect(resolveParameters('${{parameters.a}}-x', { a: '${{parameters.b}}', b: 'no' })).toBe(
      '${{parameters.b}}-x',
    );
  });

  it('does not change the template', () => {
    const template = { a: '${{parameters.n}}' };
    resolveParameters(template, { n: 1 });
    expect(template).toEqual({ a: '${{parameters.n}}' });
  });

  it('reports parameters used but not given', () => {
    expect(issuesOf(() => resolveParameters(['${{parameters.a}}', 'x ${{parameters.b}}'], {}))).toEqual([
      { field: 'parameters.a', message: 'missing: give a value' },
      { field: 'parameters.b', message: 'missing: give a value' },
    ]);
  });

  it('finds the parameters used, with the first field using each', () => {
    expect(usedParameters(mnist.settings)).toEqual(
      new Map([
        ['batch_size', 'settings.mini_batch_size'],
        ['errors', 'settings.error_threshold'],
        ['dataset', 'settings.input.path'],
        ['threshold', 'settings.arguments[1]'],
      ]),
    );
  });
});

describe('parsePipeline', () => {
  it('accepts a pipeline whose parameters are declared and used', () => {
    expect(parsePipeline(mnist, 'mnist')).toEqual({ name: 'mnist', ...mnist });
  });

  it('rejects undeclared and unused parameters, with a suggestion', () => {
    const input = {
      settings: { ...mnist.settings, error_threshold: '${{parameters.error}}' },
      parameters: { ...mnist.parameters, unused: { default: 1 } },
    };
    expect(issuesOf(() => parsePipeline(input, 'mnist'))).toEqual([
      {
        field: 'settings.error_threshold',
        message: 'uses parameter "error", which is not declared in "parameters"; did you mean "errors"?',
      },
      {
        field: 'parameters.errors',
        message: 'declared but not used in settings: use it as "${{parameters.errors}}" or remove it',
      },
      {
        field: 'parameters.unused',
        message: 'declared but not used in settings: use it as "${{parameters.unused}}" or remove it',
      },
    ]);
  });

  it.each(['${{parameters.${{parameters.dataset}}}}', '${{parameters.dataset', 'x ${{ }} y'])(
    'refuses %j, a reference nested, unclosed or empty, naming the field',
    (runName) => {
      const input = { ...mnist, settings: { ...mnist.settings, run_name: runName } };
      expect(issuesOf(() => parsePipeline(input, 'mnist'))).toContainEqual({
        field: 'settings.run_name',
        message: expect.stringContaining('does not open a reference') as string,
      });
    },
  );

  it('checks the shape of the definition', () => {
    expect(issuesOf(() => parsePipeline([], 'mnist'))).toEqual([
      { field: '(body)', message: expect.stringContaining('[] is not allowed') as string },
    ]);
    expect(issuesOf(() => parsePipeline({ parameters: {} }, 'bad/name')).map((i) => i.field)).toEqual([
      'name',
      'settings',
    ]);
    expect(
      issuesOf(() =>
        parsePipeline(
          {
            name: 'other',
            setings: {},
            settings: { a: '${{parameters.x}}' },
            parameters: { x: { defualt: 1 } },
          },
          'mnist',
        ),
      ),
    ).toEqual([
      { field: 'setings', message: 'unknown setting; did you mean "settings"?' },
      { field: 'name', message: expect.stringContaining('"other" is not allowed') as string },
      { field: 'parameters.x.defualt', message: 'unknown setting; did you mean "parameters.x.default"?' },
    ]);
  });

  it('validates the settings now when every parameter has a default', () => {
    const input = {
      settings: {
        entry_script: 'score.js',
        input: { container: 'sampledata' },
        node_count: '${{parameters.nodes}}',
      },
      parameters: { nodes: { default: 0 } },
    };
    expect(issuesOf(() => parsePipeline(input, 'mnist'))).toEqual([
      { field: 'settings.node_count', message: '0 is not allowed: use a whole number from 1 to 100, e.g. 2' },
    ]);
  });
});

describe('settingsForRun', () => {
  const pipeline = parsePipeline(mnist, 'mnist');

  it('fills in defaults and overrides, keeping types', () => {
    const settings = settingsForRun(pipeline, { threshold: 0.7, dataset: 'mnist-2' });
    expect(settings).toMatchObject({
      mini_batch_size: 5,
      error_threshold: 10,
      input: { container: 'sampledata', path: 'mnist-2/' },
      arguments: ['--threshold', 0.7],
      run_name: 'mnist mnist-2 x5',
    });
    expect(parseRunSettings(settings)).toMatchObject({
      mini_batch_size: { kind: 'files', count: 5 },
      arguments: { threshold: 0.7 },
      arguments_list: ['--threshold', '0.7'],
    });
  });

  it('rejects unknown parameters with a suggestion, and missing ones without a default', () => {
    expect(issuesOf(() => settingsForRun(pipeline, { batchSize: 3 }))).toEqual([
      {
        field: 'parameters.batchSize',
        message: 'not a parameter of pipeline "mnist"; did you mean "batch_size"?',
      },
      {
        field: 'parameters.threshold',
        message: 'missing: pipeline "mnist" has no default for it; give it in "parameters"',
      },
    ]);
  });

  it('keeps a parameter named __proto__ an ordinary value', () => {
    const definition: unknown = JSON.parse(
      '{"settings": {"a": "${{parameters.__proto__}}"}, "parameters": {"__proto__": {}}}',
    );
    const odd = parsePipeline(definition, 'odd');
    expect(settingsForRun(odd, JSON.parse('{"__proto__": 3}') as Record<string, unknown>)).toEqual({ a: 3 });
  });
});
