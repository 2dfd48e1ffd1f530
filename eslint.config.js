// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * The rooms of core/, lowest first: each may import only the rooms before it (type-only imports
 * too), so dependencies between them point one way (ARCHITECTURE.md).
 */
const coreRooms = ['storage', 'config', 'datasets', 'runs', 'outputs', 'runner', 'compute', 'inbox'];
const coreDirection = coreRooms.map((room, i) => ({
  files: [`core/${room}/**/*.ts`],
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: coreRooms.slice(i + 1).map((above) => ({
          group: [`../${above}/*`],
          message: `core/${room} sits below core/${above}: it may import only ${coreRooms.slice(0, i).join(', ') || 'nothing of core but errors.ts'} (ARCHITECTURE.md).`,
        })),
      },
    ],
  },
}));

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'test/fixtures/app/dist/**',
      'test/fixtures/stub-app/dist/**',
      'test/fixtures/scripts/dist/**',
      'bench/apps/*/dist/**',
      '.data/**',
      '.package/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true },
      ],
    },
  },
  ...coreDirection,
  {
    // Orchestrators are replayed: they must be deterministic and do no I/O of their own.
    files: ['orchestrations/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'http', 'https', 'crypto', 'child_process'],
              message: 'Orchestrators do no I/O.',
            },
            {
              group: ['@azure/storage-*', '@azure/data-tables', '@azure/identity', 'onnxruntime-node'],
              message: 'Orchestrators do no I/O: call an activity.',
            },
            {
              // The contract map (activities.ts) names activity inputs declared there: types only.
              group: ['**/core/storage/**', '**/core/runner/**'],
              allowTypeImports: true,
              message: 'Orchestrators import only pure code and activity types (import type).',
            },
            {
              group: ['**/functions/**'],
              message: 'Orchestrators import only pure code and activity types.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use context.df.currentUtcDateTime.' },
        { object: 'Math', property: 'random', message: 'Orchestrators must be deterministic.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Use context.df.currentUtcDateTime.',
        },
        { selector: "CallExpression[callee.name='setTimeout']", message: 'Use context.df.createTimer.' },
      ],
    },
  },
  {
    // A pool worker runs outside the Functions app: it shares core with it, nothing else.
    files: ['worker/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/functions/**', '**/orchestrations/**', '**/devhost/**', '**/scripts/**'],
              message: 'worker/ imports only core/ (ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
  },
  {
    // The CLI is a client: it talks to the service over HTTP only, so it never loads the service's code.
    files: ['cli/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/core/**',
                '**/functions/**',
                '**/orchestrations/**',
                '**/devhost/**',
                '**/scripts/**',
              ],
              message:
                'The CLI talks to the service over HTTP only (ARCHITECTURE.md): declare the reply shapes in cli/wire.ts.',
            },
            {
              group: ['@azure/*', 'durable-functions', 'onnxruntime-node'],
              message: 'The CLI talks to the service over HTTP only (ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The status page's script runs in the browser, served as it is committed.
    files: ['functions/ui/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'fetch', 'URLSearchParams', 'setTimeout'].map((g) => [
          g,
          'readonly',
        ]),
      ),
    },
  },
  prettier,
);
