/**
 * Shapes of resolved settings that the readers of single settings (locations, mini-batch size) and
 * the settings as a whole share: here, so that neither imports the other.
 */

export type MiniBatchSize = { kind: 'files'; count: number } | { kind: 'bytes'; bytes: number; text: string };

/** Files in blob storage: `container` and a `path` prefix inside it ('' = the whole container). */
export interface FileInput {
  type: 'files';
  container: string;
  path: string;
  /** Matched against names relative to `path`, e.g. `*.png`. */
  glob?: string;
  /** An explicit list of blob names relative to `path`. */
  names?: string[];
  /**
   * A blob listing the names relative to `path`, one JSON string per line (`"0/img 1.png"`): for lists
   * too long to carry in the settings (the inbox's manifests). Read as a stream when the run is planned.
   */
  names_from?: BlobLocation;
  /** Set at submit, never given: `path` names one blob, and that file is the dataset (core/datasets). */
  file?: boolean;
}

export interface BlobLocation {
  container: string;
  path: string;
}

/** Files in a local folder (devhost). */
export interface LocalInput {
  type: 'files';
  local_path: string;
}
