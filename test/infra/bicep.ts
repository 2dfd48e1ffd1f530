import { readFileSync } from 'node:fs';
import path from 'node:path';
import Parser from 'tree-sitter';
import Bicep from 'tree-sitter-bicep';
import { filesUnder as allFilesUnder } from '../../scripts/package-files.js';

export type Node = Parser.SyntaxNode;

/** Something a check found, where it is (1-based line), and why it matters. */
export interface Finding {
  file: string;
  line: number;
  message: string;
}

export interface BicepFile {
  /** Relative to the repository root, as findings name it. */
  file: string;
  source: string;
  root: Node;
}

const parser = new Parser();
parser.setLanguage(Bicep as unknown as Parser.Language);

export function parseBicep(root: string, file: string): BicepFile {
  const source = readFileSync(path.join(root, file), 'utf8');
  // tree-sitter's default buffer is 32 KB; a bigger file would otherwise throw instead of parsing.
  const tree = parser.parse(source, undefined, { bufferSize: Math.max(32 * 1024, source.length * 2) });
  return { file, source, root: tree.rootNode };
}

/** Every file under `folder` (relative to `root`) whose name ends with one of `extensions`. */
export function filesUnder(root: string, folder: string, extensions: readonly string[]): string[] {
  return allFilesUnder(root, folder).filter((f) => extensions.some((e) => f.endsWith(e)));
}

export function finding(file: BicepFile | string, node: Node | number, message: string): Finding {
  const line = typeof node === 'number' ? node : node.startPosition.row + 1;
  return { file: typeof file === 'string' ? file : file.file, line, message };
}

export function describeFindings(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.file}:${f.line}: ${f.message}`);
}

export function descendants(node: Node, type: string): Node[] {
  return node.descendantsOfType(type);
}

/** The text of a string literal without its quotes (interpolations kept as written). */
export function stringValue(node: Node | undefined): string | undefined {
  if (node?.type !== 'string') return undefined;
  return node.text.replace(/^'''|'''$|^'|'$/g, '');
}

/** The value node of `key: value` directly in `object`. */
export function property(object: Node | undefined, key: string): Node | undefined {
  if (object?.type !== 'object') return undefined;
  for (const prop of object.namedChildren) {
    if (prop.type !== 'object_property') continue;
    const [name, value] = prop.namedChildren;
    const keyText = name?.type === 'string' ? stringValue(name) : name?.text;
    if (keyText === key) return value;
  }
  return undefined;
}

/** The keys of `object`'s own properties, each with its node. */
export function properties(object: Node | undefined): { key: string; node: Node }[] {
  if (object?.type !== 'object') return [];
  return object.namedChildren
    .filter((p) => p.type === 'object_property')
    .map((p) => {
      const name = p.namedChildren[0];
      return { key: (name?.type === 'string' ? stringValue(name) : name?.text) ?? '', node: p };
    });
}

export interface Resource {
  file: BicepFile;
  /** Declared with `existing`: a reference, not something this deployment creates. */
  existing: boolean;
  node: Node;
  symbol: string;
  /** `Microsoft.Storage/storageAccounts@2023-05-01`, or a nested child's short type (`config`). */
  type: string;
  body: Node | undefined;
  /** The loop variable and what it iterates, for `[for x in xs: {...}]`. */
  loop?: { variable: string; iterable: Node };
}

/** Every resource declaration of the file, nested ones included. */
export function resources(file: BicepFile): Resource[] {
  return descendants(file.root, 'resource_declaration').map((node) => {
    const [symbol, type] = node.namedChildren;
    const value = node.namedChildren.find((c) =>
      ['object', 'for_statement', 'if_statement'].includes(c.type),
    );
    const resource: Resource = {
      file,
      existing: node.children.some((c) => c.type === 'existing'),
      node,
      symbol: symbol?.text ?? '',
      type: stringValue(type) ?? '',
      body: bodyOf(value),
    };
    if (value?.type === 'for_statement') {
      const variable = value.childForFieldName('initializer') ?? value.namedChildren[0];
      const iterable = value.namedChildren.find(
        (c) => c.startIndex !== variable?.startIndex && c.type !== 'object',
      );
      if (variable && iterable) resource.loop = { variable: variable.text, iterable };
    }
    return resource;
  });
}

function bodyOf(value: Node | undefined): Node | undefined {
  if (!value) return undefined;
  if (value.type === 'object') return value;
  return value.childForFieldName('body') ?? value.namedChildren.find((c) => c.type === 'object');
}

/** The value of `var name = value` in the file. */
export function variable(file: BicepFile, name: string): Node | undefined {
  for (const decl of descendants(file.root, 'variable_declaration')) {
    const [id, value] = decl.namedChildren;
    if (id?.text === name) return value;
  }
  return undefined;
}
