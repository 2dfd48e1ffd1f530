import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localImports } from './imports.js';

const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'imports-')));
const at = (name: string) => path.join(root, name);
function write(name: string, text: string): void {
  mkdirSync(path.dirname(at(name)), { recursive: true });
  writeFileSync(at(name), text);
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('localImports', () => {
  it('follows static, re-exported, literal dynamic and require() imports, through links to the real files', async () => {
    write('shared/helper.js', "export const h = 1;\nexport * from './deeper.js';\n");
    write('shared/deeper.js', 'export const d = 2;\n');
    write('shared/config.json', '{"a": 1}\n');
    write('shared/legacy.cjs', "module.exports = require('./config');\n");
    write('app/local.js', 'export const l = 3;\n');
    symlinkSync(at('shared/helper.js'), at('app/linked.js'));
    write(
      'app/entry.js',
      [
        "import { h } from './linked.js';",
        "import pkg from 'some-package';",
        "const later = () => import('./local.js');",
        "import { createRequire } from 'node:module';",
        'const require = createRequire(import.meta.url);',
        "const legacy = require('../shared/legacy.cjs');",
        'const computed = (n) => import(`./${n}.js`);',
        'export function run(files) { return files; }',
      ].join('\n'),
    );
    const found = await localImports(at('app/entry.js'));
    expect(found.complete).toBe(true);
    expect(found.files.map((f) => path.relative(root, f)).sort()).toEqual(
      [
        'app/entry.js',
        'app/local.js',
        'shared/config.json',
        'shared/deeper.js',
        'shared/helper.js',
        'shared/legacy.cjs',
      ].sort(),
    );
  });

  it('says when there were too many files to follow them all', async () => {
    const chain = 2_001;
    for (let i = 0; i < chain; i++) write(`chain/m${i}.js`, `import './m${i + 1}.js';\n`);
    const found = await localImports(at('chain/m0.js'));
    expect(found.complete).toBe(false);
    expect(found.files.length).toBeLessThan(chain + 1);
  });
});
