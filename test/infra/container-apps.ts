import {
  finding,
  property,
  properties,
  resources,
  stringValue,
  type BicepFile,
  type Finding,
  type Node,
  type Resource,
} from './bicep.js';
import { isType } from './checks.js';

export function containerApps(file: BicepFile): Resource[] {
  return resources(file).filter((r) => isType(r, 'Microsoft.App/containerApps') && !r.existing);
}

function arrayItems(node: Node | undefined): Node[] {
  return node?.type === 'array' ? node.namedChildren.filter((c) => c.type === 'object') : [];
}

export function containersOf(app: Resource): Node[] {
  return arrayItems(property(property(property(app.body, 'properties'), 'template'), 'containers'));
}

/** The environment variables a worker app's containers set. */
export function workerEnv(app: Resource): { name: string; node: Node }[] {
  return containersOf(app).flatMap((c) =>
    arrayItems(property(c, 'env')).map((e) => ({ name: stringValue(property(e, 'name')) ?? '', node: e })),
  );
}

/** The identity expression inside `userAssignedIdentities: {'${identityId}': {}}` (`identityId`). */
function assignedIdentities(app: Resource): string[] {
  const assigned = property(property(app.body, 'identity'), 'userAssignedIdentities');
  return properties(assigned).map((p) => p.key.replace(/^\$\{(.*)\}$/, '$1'));
}

/**
 * A worker app: runs as its user-assigned identity, pulls its image and feeds KEDA's queue rule with
 * that identity (no `auth` secret, no registry password, no secrets at all), starts from zero
 * replicas, and sits on a workload profile.
 */
export function workerFindings(app: Resource): Finding[] {
  const found: Finding[] = [];
  const at = (node: Node | undefined, message: string) =>
    found.push(finding(app.file, node ?? app.node, `container app '${app.symbol}': ${message}`));
  // accountName and identity on an azureQueue rule exist from API 2025-01-01 (2024-10-02-preview): an older
  // version takes the rule without them, and KEDA then has no credential for the queue.
  const version = /@(\d{4}-\d{2}-\d{2})/.exec(app.type)?.[1] ?? '';
  if (version < '2025-01-01')
    at(
      app.node,
      `API version ${version || 'none'} has no identity on an azureQueue rule: use 2025-01-01 or later`,
    );
  const identities = assignedIdentities(app);
  if (identities.length === 0) at(property(app.body, 'identity'), 'has no user-assigned identity');
  const props = property(app.body, 'properties');
  if (!property(props, 'workloadProfileName')) at(props, 'names no workload profile (workloadProfileName)');
  const configuration = property(props, 'configuration');
  if (property(configuration, 'secrets')) at(property(configuration, 'secrets'), 'holds secrets');
  for (const registry of arrayItems(property(configuration, 'registries'))) {
    const password = property(registry, 'passwordSecretRef');
    if (password) at(password, 'pulls its image with a password');
    const identity = property(registry, 'identity')?.text;
    if (identity === undefined || !identities.includes(identity))
      at(registry, `pulls its image without its identity (found ${identity ?? 'none'})`);
  }
  const scale = property(property(props, 'template'), 'scale');
  const minReplicas = property(scale, 'minReplicas');
  if (minReplicas?.text !== '0') at(minReplicas ?? scale, 'must scale to zero (minReplicas: 0)');
  const rules = arrayItems(property(scale, 'rules'));
  const queueRules = rules.map((r) => property(r, 'azureQueue')).filter((q) => q !== undefined);
  if (queueRules.length === 0) at(scale, 'has no KEDA azureQueue scale rule');
  for (const rule of queueRules) {
    if (property(rule, 'auth')) at(property(rule, 'auth'), 'its queue rule authenticates with a secret');
    const identity = property(rule, 'identity')?.text;
    if (identity === undefined || !identities.includes(identity))
      at(rule, `its queue rule does not use the app's own identity (found ${identity ?? 'none'})`);
    if (!property(rule, 'accountName')) at(rule, 'its queue rule names no storage account (accountName)');
    if (!/minibatches-/.test(property(rule, 'queueName')?.text ?? ''))
      at(rule, "its queue rule does not watch the pool's minibatches-<pool> queue");
  }
  return found;
}
