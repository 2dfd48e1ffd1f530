import { filesKind } from './files-kind.js';
import type { DatasetInput, DatasetKind } from './kind.js';
import { tableKind } from './table-kind.js';

export type { DatasetInput, DatasetKind } from './kind.js';

/**
 * Every dataset kind, by the `input.type` it reads. A new kind adds its input shape to the settings'
 * `input` union (core/config/resolved.ts, read in core/config/locations.ts), implements DatasetKind
 * in its own file beside files-kind.ts, is listed here, and runs the conformance suite
 * (core/datasets/conformance.ts) in a test of its own.
 */
export const kinds: {
  readonly [T in DatasetInput['type']]: DatasetKind<Extract<DatasetInput, { type: T }>>;
} = {
  files: filesKind,
  table: tableKind,
};

/** The kind that reads this input (picked by `input.type`), handed its own input. */
export function datasetKindOf(input: DatasetInput): DatasetKind {
  return kinds[input.type];
}

/** Manifest items as error lines name them: as their kind names them (`DatasetKind.itemName`), else themselves. */
export function itemNames(input: DatasetInput, items: string[]): string[] {
  const nameOf = datasetKindOf(input).itemName;
  return nameOf ? items.map(nameOf) : items;
}
