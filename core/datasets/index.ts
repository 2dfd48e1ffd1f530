import { filesKind } from './files-kind.js';
import type { DatasetInput, DatasetKind } from './kind.js';

export type { DatasetInput, DatasetKind } from './kind.js';

/**
 * Every dataset kind, by the `input.type` it reads. A new kind (tables: `input.type: 'tabular'`)
 * adds its input shape to the settings' `input` union (core/config/settings.ts, which today refuses
 * tabular inputs as "not supported yet"), implements DatasetKind in its own file beside files-kind.ts,
 * is listed here, and runs the conformance suite (core/datasets/conformance.ts) in a test of its own.
 */
export const kinds: {
  readonly [T in DatasetInput['type']]: DatasetKind<Extract<DatasetInput, { type: T }>>;
} = {
  files: filesKind,
};

/** The kind that reads this input (picked by `input.type`). */
export function datasetKindOf(input: DatasetInput): DatasetKind {
  // One kind today; with a second, narrow on `input.type` here and hand the kind its own input.
  return kinds[input.type];
}
