import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFindings, parseBicep } from './bicep.js';
import {
  apiVersionFindings,
  descriptionFindings,
  keyCallFindings,
  keyStringFindings,
  sharedKeyFindings,
  syntaxFindings,
} from './checks.js';
import { containerApps, workerFindings } from './container-apps.js';

// The checks of infra.test.ts, shown to catch what they are for, naming the file and the line.
const repoRoot = path.resolve(import.meta.dirname, '../..');
const fixture = (name: string) => parseBicep(repoRoot, `test/infra/fixtures/${name}`);

describe('the offline infra checks on deliberately bad Bicep', () => {
  it('a broken file fails the parse check at the line of the fault', () => {
    const found = describeFindings(syntaxFindings(fixture('broken.bicep')));
    expect(found.length).toBeGreaterThan(0);
    expect(found).toContainEqual(expect.stringMatching(/^test\/infra\/fixtures\/broken\.bicep:(7|8|9|10): /));
  });

  it('an added listKeys, a SAS and a keyed connection string each fail, with their lines', () => {
    const file = fixture('list-keys.bicep');
    expect(syntaxFindings(file)).toEqual([]);
    expect(describeFindings(keyCallFindings(file))).toEqual([
      expect.stringMatching(/^test\/infra\/fixtures\/list-keys\.bicep:16: listKeys\(\) reads a key/),
      expect.stringMatching(/^test\/infra\/fixtures\/list-keys\.bicep:18: listAccountSas\(\) reads a key/),
    ]);
    expect(describeFindings(keyStringFindings(file))).toEqual([
      'test/infra/fixtures/list-keys.bicep:17: a connection string with an account key: use a managed identity instead',
      'test/infra/fixtures/list-keys.bicep:17: a storage connection string: use a managed identity instead',
    ]);
  });

  it('a storage account with shared keys on fails at its setting', () => {
    expect(describeFindings(sharedKeyFindings(fixture('list-keys.bicep')))).toEqual([
      "test/infra/fixtures/list-keys.bicep:12: storage account 'account' must set allowSharedKeyAccess: false (found true)",
    ]);
  });

  it('a worker scaling on a secret, pulling with a password, from one replica, fails on each', () => {
    const found = describeFindings(containerApps(fixture('keda-secret.bicep')).flatMap(workerFindings));
    const at = (line: number, what: string) =>
      `test/infra/fixtures/keda-secret.bicep:${line}: container app 'worker': ${what}`;
    expect(found).toEqual([
      at(4, 'API version 2024-03-01 has no identity on an azureQueue rule: use 2025-01-01 or later'),
      at(16, 'holds secrets'),
      at(26, 'pulls its image with a password'),
      at(23, 'pulls its image without its identity (found none)'),
      at(38, 'must scale to zero (minReplicas: 0)'),
      at(46, 'its queue rule authenticates with a secret'),
      at(43, "its queue rule does not use the app's own identity (found none)"),
      at(43, 'its queue rule names no storage account (accountName)'),
    ]);
  });

  it('a parameter without @description fails at its line', () => {
    expect(describeFindings(descriptionFindings(fixture('list-keys.bicep')))).toEqual([
      "test/infra/fixtures/list-keys.bicep:2: parameter 'location' has no @description",
    ]);
    expect(apiVersionFindings(fixture('list-keys.bicep'))).toEqual([]);
  });

  it('the host key for the Event Grid webhook is the one key allowed', () => {
    expect(keyCallFindings(parseBicep(repoRoot, 'infra/inbox-events.bicep'))).toEqual([]);
    expect(parseBicep(repoRoot, 'infra/inbox-events.bicep').source).toMatch(
      /listKeys\('\$\{app\.id\}\/host\/default'/,
    );
  });
});
