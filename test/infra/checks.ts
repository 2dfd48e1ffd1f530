import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  descendants,
  finding,
  property,
  properties,
  resources,
  stringValue,
  variable,
  type BicepFile,
  type Finding,
  type Node,
  type Resource,
} from './bicep.js';

/** Tree-sitter marks what it could not parse as ERROR nodes, and what it had to invent as MISSING ones. */
export function syntaxFindings(file: BicepFile): Finding[] {
  const found: Finding[] = [];
  const walk = (node: Node) => {
    if (node.type === 'ERROR') found.push(finding(file, node, `syntax error near '${firstLine(node.text)}'`));
    else if (node.isMissing) found.push(finding(file, node, `missing ${node.type}`));
    if (node.hasError) node.children.forEach(walk);
  };
  walk(file.root);
  return found;
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.slice(0, 60) ?? '';
}

/** Calls that hand out storage keys, or secrets signed with them. */
const KEY_FUNCTIONS = new Set(['listKeys', 'listAccountSas', 'listServiceSas', 'listConnectionStrings']);

/**
 * No key anywhere: every `listKeys()`-like call is refused, except the Functions host's own keys
 * (`listKeys('<site id>/host/default', …)`), the one key the Event Grid webhook needs.
 */
export function keyCallFindings(file: BicepFile): Finding[] {
  return descendants(file.root, 'call_expression').flatMap((call) => {
    const fn = call.childForFieldName('function');
    const name = fn?.type === 'member_expression' ? fn.childForFieldName('property')?.text : fn?.text;
    if (name === undefined || !KEY_FUNCTIONS.has(name)) return [];
    const target = call.childForFieldName('arguments')?.namedChildren[0];
    if (name === 'listKeys' && fn?.type === 'identifier' && /\/host\/default'$/.test(target?.text ?? ''))
      return [];
    return [
      finding(
        file,
        call,
        `${name}() reads a key: use a managed identity (only the Functions host key, listKeys('<site id>/host/default', …), is allowed)`,
      ),
    ];
  });
}

/** Text that only a key, a key-signed secret or a keyed connection string contains, in any file. */
const KEY_TEXT: readonly { pattern: RegExp; what: string }[] = [
  { pattern: /AccountKey=/i, what: 'a connection string with an account key' },
  { pattern: /SharedAccessKey=/i, what: 'a connection string with a shared access key' },
  { pattern: /DefaultEndpointsProtocol=/i, what: 'a storage connection string' },
  { pattern: /\baz storage account keys\b/, what: 'reading storage account keys' },
  { pattern: /show-connection-string/, what: 'reading a storage connection string' },
  { pattern: /--account-key\b/, what: 'a storage account key' },
  { pattern: /\blistKeys\b/, what: 'listKeys' },
];

/** Key text in a file that is not Bicep (scripts, parameters, azure.yaml); Bicep's calls are checked on its tree. */
export function keyTextFindings(root: string, file: string): Finding[] {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  return lines.flatMap((text, i) =>
    KEY_TEXT.filter((k) => k.pattern.test(text)).map((k) =>
      finding(file, i + 1, `${k.what}: use a managed identity instead`),
    ),
  );
}

/** In Bicep, the connection-string patterns only (listKeys is judged on the tree, where the host key is told apart). */
export function keyStringFindings(file: BicepFile): Finding[] {
  return file.source
    .split('\n')
    .flatMap((text, i) =>
      KEY_TEXT.filter((k) => k.what !== 'listKeys' && k.pattern.test(text)).map((k) =>
        finding(file, i + 1, `${k.what}: use a managed identity instead`),
      ),
    );
}

export function isType(resource: Resource, type: string): boolean {
  return resource.type.startsWith(`${type}@`);
}

/** Storage accounts this deployment creates, each with shared-key access off (so no key can work). */
export function sharedKeyFindings(file: BicepFile): Finding[] {
  return resources(file)
    .filter((r) => isType(r, 'Microsoft.Storage/storageAccounts') && !r.existing)
    .flatMap((r) => {
      const setting = property(property(r.body, 'properties'), 'allowSharedKeyAccess');
      if (setting?.type === 'boolean' && setting.text === 'false') return [];
      return [
        finding(
          file,
          setting ?? r.node,
          `storage account '${r.symbol}' must set allowSharedKeyAccess: false (found ${setting?.text ?? 'nothing'})`,
        ),
      ];
    });
}

export interface RoleAssignment {
  file: BicepFile;
  node: Node;
  /** The principal's expression as written (`appPrincipalId`). */
  principal: string;
  /** The scope's expression as written (`account`). */
  scope: string;
  roleIds: string[];
  nameIsGuid: boolean;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The role definition ids an expression stands for, following variables, `role.x` and loop variables. */
function guidsOf(file: BicepFile, node: Node | undefined, loop?: Resource['loop'], depth = 0): string[] {
  if (!node || depth > 20) return [];
  const next = (n: Node | undefined) => guidsOf(file, n, loop, depth + 1);
  if (node.type === 'string') {
    const text = stringValue(node) ?? '';
    return GUID.test(text) ? [text.toLowerCase()] : [];
  }
  if (node.type === 'identifier') {
    if (loop && node.text === loop.variable) return next(loop.iterable);
    return next(variable(file, node.text));
  }
  if (node.type === 'member_expression') {
    const object = node.childForFieldName('object');
    const key = node.childForFieldName('property')?.text ?? '';
    if (object?.type === 'identifier') return next(property(variable(file, object.text), key));
  }
  return node.namedChildren.flatMap(next);
}

export function roleAssignments(file: BicepFile): RoleAssignment[] {
  return resources(file)
    .filter((r) => isType(r, 'Microsoft.Authorization/roleAssignments'))
    .map((r) => {
      const props = property(r.body, 'properties');
      return {
        file,
        node: r.node,
        principal: property(props, 'principalId')?.text ?? '',
        scope: property(r.body, 'scope')?.text ?? '(deployment scope)',
        roleIds: guidsOf(file, property(props, 'roleDefinitionId'), r.loop),
        nameIsGuid: property(r.body, 'name')?.text.startsWith('guid(') ?? false,
      };
    });
}

/** The names of the settings the Function App's `appsettings` config sets, with where they are. */
export function functionAppSettings(file: BicepFile): { name: string; node: Node }[] {
  return resources(file)
    .filter((r) => stringValue(property(r.body, 'name')) === 'appsettings')
    .flatMap((r) => properties(property(r.body, 'properties')).map((p) => ({ name: p.key, node: p.node })));
}

/** The values of `@allowed([...])` on parameter `name`. */
export function allowedValues(file: BicepFile, name: string): string[] {
  for (const decl of descendants(file.root, 'parameter_declaration')) {
    if (decl.namedChildren[0]?.text !== name) continue;
    const decorators = decl.previousNamedSibling;
    if (decorators?.type !== 'decorators') return [];
    const allowed = decorators.namedChildren
      .map((d) => d.namedChildren[0])
      .find((call) => call?.childForFieldName('function')?.text === 'allowed');
    const list = allowed?.childForFieldName('arguments')?.namedChildren[0];
    return (list?.namedChildren ?? []).map((s) => stringValue(s) ?? s.text);
  }
  return [];
}

/** The value expression of `param: value` given to module `symbol` in `file`. */
export function moduleParam(file: BicepFile, symbol: string, param: string): string | undefined {
  const module = descendants(file.root, 'module_declaration').find(
    (m) => m.namedChildren[0]?.text === symbol,
  );
  const body = module?.namedChildren.find((c) => c.type === 'object');
  return property(property(body, 'params'), param)?.text;
}

function decoratorNames(declaration: Node): string[] {
  const decorators = declaration.previousNamedSibling;
  if (decorators?.type !== 'decorators') return [];
  return decorators.namedChildren.map(
    (d) => d.namedChildren[0]?.childForFieldName('function')?.text ?? d.namedChildren[0]?.text ?? '',
  );
}

/** Every parameter says what it is for (`@description`). */
export function descriptionFindings(file: BicepFile): Finding[] {
  return descendants(file.root, 'parameter_declaration')
    .filter((decl) => !decoratorNames(decl).includes('description'))
    .map((decl) =>
      finding(file, decl, `parameter '${decl.namedChildren[0]?.text ?? ''}' has no @description`),
    );
}

/** Every top-level resource type names its API version, so a deployment means the same thing tomorrow. */
export function apiVersionFindings(file: BicepFile): Finding[] {
  return resources(file)
    .filter((r) => r.type.includes('/') && !/@\d{4}-\d{2}-\d{2}(-preview)?$/.test(r.type))
    .map((r) => finding(file, r.node, `resource '${r.symbol}' (${r.type}) pins no API version`));
}
