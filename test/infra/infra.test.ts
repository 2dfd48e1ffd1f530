import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_SETTINGS, settingsToDeploy } from '../../core/config/app-settings.js';
import { describeFindings, filesUnder, finding, parseBicep, type BicepFile, type Finding } from './bicep.js';
import {
  allowedValues,
  apiVersionFindings,
  descriptionFindings,
  functionAppSettings,
  keyCallFindings,
  keyStringFindings,
  keyTextFindings,
  moduleParam,
  roleAssignments,
  sharedKeyFindings,
  syntaxFindings,
} from './checks.js';
import { containerApps, workerEnv, workerFindings } from './container-apps.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const bicepFiles: BicepFile[] = filesUnder(repoRoot, 'infra', ['.bicep']).map((f) => parseBicep(repoRoot, f));
const otherFiles = [...filesUnder(repoRoot, 'infra', ['.json', '.sh', '.ps1', '.yaml']), 'azure.yaml'];
const fileNamed = (name: string): BicepFile => {
  const file = bicepFiles.find((f) => f.file === name);
  if (!file) throw new Error(`${name} is missing`);
  return file;
};
const all = (check: (file: BicepFile) => Finding[]) => describeFindings(bicepFiles.flatMap(check));

describe('the Bicep of infra/, checked offline', () => {
  it('finds the deployment and its modules', () => {
    expect(bicepFiles.map((f) => f.file)).toEqual(
      expect.arrayContaining(['infra/main.bicep', 'infra/inbox-events.bicep', 'infra/modules/storage.bicep']),
    );
    expect(fileNamed('infra/main.bicep').source).toMatch(/^targetScope = 'subscription'$/m);
  });

  it('parses every .bicep file with no ERROR or MISSING node', () => {
    expect(all(syntaxFindings)).toEqual([]);
  });

  it('describes every parameter and pins every API version', () => {
    expect(all((f) => [...descriptionFindings(f), ...apiVersionFindings(f)])).toEqual([]);
  });

  it('reads no storage key anywhere: no listKeys() but the host key, no keyed connection string', () => {
    expect(all((f) => [...keyCallFindings(f), ...keyStringFindings(f)])).toEqual([]);
    expect(describeFindings(otherFiles.flatMap((f) => keyTextFindings(repoRoot, f)))).toEqual([]);
  });

  it('turns shared-key access off on the storage account', () => {
    expect(all(sharedKeyFindings)).toEqual([]);
    expect(fileNamed('infra/modules/storage.bicep').source).toMatch(/allowSharedKeyAccess: false/);
  });

  it('runs every worker app on its identity: KEDA queue rule, image pull, no secrets, from zero', () => {
    const apps = bicepFiles.flatMap(containerApps);
    expect(apps.length).toBeGreaterThan(0);
    expect(describeFindings(apps.flatMap(workerFindings))).toEqual([]);
  });

  it('gives a worker replica the time its tries need to finish when it is scaled in, and tells the worker', () => {
    const workers = fileNamed('infra/modules/workers.bicep').source;
    const grace = Number(/^var terminationGraceSeconds = (\d+)$/m.exec(workers)?.[1]);
    // Container Apps' default is 30 s: a try killed there reappears, one delivery nearer its poisoning.
    expect(grace).toBeGreaterThanOrEqual(120);
    expect(workers).toMatch(/^ {8}terminationGracePeriodSeconds: terminationGraceSeconds$/m);
    expect(workers).toMatch(
      /name: 'PARALLEL_RUN_WORKER_GRACE_SECONDS'\n\s*value: string\(terminationGraceSeconds - 10\)/,
    );
  });

  it('offers the GPU profiles by parameter, and the environment takes the one chosen', () => {
    expect(allowedValues(fileNamed('infra/main.bicep'), 'gpuProfile')).toEqual([
      'none',
      'Consumption-GPU-NC8as-T4',
      'Consumption-GPU-NC24-A100',
    ]);
    expect(fileNamed('infra/modules/workers.bicep').source).toMatch(/workloadProfileType: gpuProfile/);
  });
});

/** Built-in role definition ids (docs: built-in roles). */
const ROLE = {
  blobOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  blobContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  queueContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  queueSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a',
  tableContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  metricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d',
};

/** What each identity is granted, as `<scope> <role id>`, over every role assignment in infra/. */
function grants(principal: string): string[] {
  return bicepFiles
    .flatMap(roleAssignments)
    .filter((a) => a.principal === principal)
    .flatMap((a) => a.roleIds.map((id) => `${a.scope} ${id}`))
    .sort();
}

describe('the identities and their roles', () => {
  it("gives the app's identity storage blob owner, queue and table contributor, and metrics publisher", () => {
    expect(grants('appPrincipalId')).toEqual(
      [
        `account ${ROLE.blobOwner}`,
        `account ${ROLE.queueContributor}`,
        `account ${ROLE.tableContributor}`,
        `insights ${ROLE.metricsPublisher}`,
      ].sort(),
    );
  });

  it("gives the workers' identity blob data, its pool's queue, sending to its poison and the results queue, AcrPull: nothing more", () => {
    // Queue Data Contributor on the pool's queue, not Message Processor: the heartbeat's Update Message
    // needs messages/write, which Message Processor lacks (docs: built-in roles, Storage).
    expect(grants('workerPrincipalId')).toEqual(
      [
        `account ${ROLE.blobContributor}`,
        `poolQueue[i] ${ROLE.queueContributor}`,
        `poisonQueue[i] ${ROLE.queueSender}`,
        `resultsQueue ${ROLE.queueSender}`,
        `registry ${ROLE.acrPull}`,
      ].sort(),
    );
  });

  it('lets the Event Grid topic write the inbox events it could not deliver into the rejected container, and nothing else', () => {
    expect(grants('topicPrincipalId')).toEqual([`rejectedContainer ${ROLE.blobContributor}`]);
    expect(moduleParam(fileNamed('infra/main.bicep'), 'roles', 'topicPrincipalId')).toBe(
      'events.outputs.principalId',
    );
    const subscription = fileNamed('infra/inbox-events.bicep').source;
    expect(subscription).toMatch(
      /deadLetterWithResourceIdentity: \{\s*identity: \{\s*type: 'SystemAssigned'/,
    );
    expect(subscription).toMatch(/blobContainerName: rejectedContainer/);
    expect(subscription).toMatch(/param rejectedContainer string = '\$\{inboxContainer\}-rejected'/);
    expect(fileNamed('infra/modules/event-grid.bicep').source).toMatch(
      /identity: \{\s*type: 'SystemAssigned'/,
    );
  });

  it("keeps the workers' blob writes out of the app package's container", () => {
    const roles = fileNamed('infra/modules/roles.bicep').source;
    expect(roles).toMatch(/condition: workerBlobCondition/);
    expect(roles).toMatch(/containers:name\] StringNotEquals \\'\$\{deploymentContainerName\}\\'/);
    expect(moduleParam(fileNamed('infra/main.bicep'), 'roles', 'deploymentContainerName')).toBe(
      'deploymentContainerName',
    );
  });

  it('names every role assignment with guid(), so a redeployment finds it again', () => {
    const unnamed = bicepFiles
      .flatMap(roleAssignments)
      .filter((a) => !a.nameIsGuid)
      .map((a) => finding(a.file, a.node, 'role assignment not named with guid()'));
    expect(describeFindings(unnamed)).toEqual([]);
  });

  it('hands the app its identity and the workers theirs', () => {
    const main = fileNamed('infra/main.bicep');
    expect(moduleParam(main, 'roles', 'appPrincipalId')).toBe('appIdentity.outputs.principalId');
    expect(moduleParam(main, 'roles', 'workerPrincipalId')).toBe('workerIdentity.outputs.principalId');
    expect(moduleParam(main, 'functionApp', 'identityId')).toBe('appIdentity.outputs.id');
    expect(moduleParam(main, 'functionApp', 'identityClientId')).toBe('appIdentity.outputs.clientId');
    expect(moduleParam(main, 'workers', 'identityId')).toBe('workerIdentity.outputs.id');
    expect(moduleParam(main, 'workers', 'identityClientId')).toBe('workerIdentity.outputs.clientId');
  });
});

describe('the app settings the code reads (core/config/app-settings.ts)', () => {
  const appSettings = bicepFiles.flatMap(functionAppSettings);
  const workerSettings = bicepFiles.flatMap(containerApps).flatMap(workerEnv);
  const listed = new Map(APP_SETTINGS.map((s) => [s.name, s]));
  const ours = /^(PARALLEL_RUN_|AzureWebJobsStorage)/;

  /** A setting `reader` reads that the Bicep does not set, found at the settings the Bicep does set. */
  const unset = (settings: typeof appSettings, reader: 'functions' | 'worker', file: string) => {
    const set = new Set(settings.map((s) => s.name));
    const at = settings[0]?.node ?? 1;
    return settingsToDeploy(reader)
      .filter((s) => !set.has(s.name))
      .map((s) =>
        finding(file, at, `${s.name} is read by ${reader} (core/config/app-settings.ts) but not set`),
      );
  };

  it('sets every setting the Function App reads in its appsettings', () => {
    expect(appSettings.length).toBeGreaterThan(0);
    expect(describeFindings(unset(appSettings, 'functions', 'infra/modules/function-app.bicep'))).toEqual([]);
  });

  it('sets every setting a worker reads in its environment', () => {
    expect(workerSettings.length).toBeGreaterThan(0);
    expect(describeFindings(unset(workerSettings, 'worker', 'infra/modules/workers.bicep'))).toEqual([]);
  });

  it('sets none that is not in the list, or is local only, or is read by the other side', () => {
    const stray = (settings: typeof appSettings, reader: 'functions' | 'worker', file: string) =>
      settings
        .filter((s) => ours.test(s.name))
        .filter((s) => {
          const deploy = listed.get(s.name)?.readBy[reader];
          return deploy === undefined || deploy === 'local';
        })
        .map((s) =>
          finding(file, s.node, `${s.name} is not a ${reader} setting of core/config/app-settings.ts`),
        );
    expect(
      describeFindings([
        ...stray(appSettings, 'functions', 'infra/modules/function-app.bicep'),
        ...stray(workerSettings, 'worker', 'infra/modules/workers.bicep'),
      ]),
    ).toEqual([]);
  });

  it('lists every setting name the code mentions', () => {
    const sources = ['core', 'functions', 'orchestrations', 'worker']
      .flatMap((folder) => {
        try {
          return filesUnder(repoRoot, folder, ['.ts']);
        } catch {
          return []; // a folder not there yet (worker/ arrives with the GPU pools)
        }
      })
      .filter((f) => !f.endsWith('.test.ts'));
    const unlisted = sources.flatMap((file) =>
      readFileSync(path.join(repoRoot, file), 'utf8')
        .split('\n')
        .flatMap((text, i) =>
          [...text.matchAll(/\b(PARALLEL_RUN_[A-Z0-9_]+|AzureWebJobsStorage(?:__\w+)?)\b/g)]
            .map((m) => m[1] ?? '')
            .filter((name) => !listed.has(name))
            .map((name) => finding(file, i + 1, `${name} is read but not listed`)),
        ),
    );
    expect(describeFindings(unlisted)).toEqual([]);
  });
});

describe('the azd template (azure.yaml)', () => {
  const yaml = readFileSync(path.join(repoRoot, 'azure.yaml'), 'utf8');

  it('deploys the staged package of npm run package and the worker image from worker/Dockerfile', () => {
    expect(yaml).toMatch(/^ {4}dist: \.package\/app$/m);
    expect(yaml).toMatch(/^ {4}remoteBuild: false$/m);
    expect(yaml).toMatch(/^ {6}path: \.\/worker\/Dockerfile$/m);
  });

  it("maps azd's environment onto the parameters, so a later `azd provision` keeps the worker image it built", () => {
    const parameters = (
      JSON.parse(readFileSync(path.join(repoRoot, 'infra/main.parameters.json'), 'utf8')) as {
        parameters: Record<string, { value: unknown }>;
      }
    ).parameters;
    const value = (name: string) => parameters[name]?.value;
    expect(value('environmentName')).toBe('${AZURE_ENV_NAME}');
    expect(value('location')).toBe('${AZURE_LOCATION}');
    // Left empty where azd has none yet (the first provision): the placeholder image until the first deploy.
    expect(value('workerImage')).toBe('${SERVICE_WORKER_IMAGE_NAME=}');
    expect(value('principalId')).toBe('${AZURE_PRINCIPAL_ID=}');
    const declared = [...fileNamed('infra/main.bicep').source.matchAll(/^param (\w+)/gm)].map((m) => m[1]);
    expect(Object.keys(parameters).filter((name) => !declared.includes(name))).toEqual([]);
  });

  it('runs the post-deploy step, an executable script', () => {
    expect(yaml).toMatch(/run: \.\/infra\/scripts\/postdeploy\.sh$/m);
    expect(statSync(path.join(repoRoot, 'infra/scripts/postdeploy.sh')).mode & 0o111).not.toBe(0);
  });

  it('gives the worker image to the worker apps only: those the Bicep tags with their pool', () => {
    const script = readFileSync(path.join(repoRoot, 'infra/scripts/postdeploy.sh'), 'utf8');
    expect(script).toContain(
      'az containerapp list -g "$rg" --query "[?tags.\\"parallel-run-pool\\" != null].name"',
    );
    expect(fileNamed('infra/modules/workers.bicep').source).toMatch(/'parallel-run-pool': pool\.name/);
  });
});
