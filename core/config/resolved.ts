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

/** How a table's files are written: the format is given, or read from the files' extension. */
export type TableFormat = 'csv' | 'jsonl' | 'parquet';

/** Rows of CSV, JSON Lines or Parquet files in blob storage (core/datasets/table-kind.ts). */
export interface TableInput {
  type: 'table';
  container: string;
  path: string;
  /** Matched against names relative to `path`, e.g. `*.csv`. */
  glob?: string;
  /** Absent: each file's extension says (`.csv`, `.jsonl`/`.ndjson`, `.parquet`). */
  format?: TableFormat;
  /** CSV: the first line names the columns (default true); without it columns are `c1`, `c2`, …. */
  header?: boolean;
  /** CSV: one character between fields (default `,`). */
  delimiter?: string;
  /**
   * CSV: quoted fields may hold line breaks, so a line break is not a record boundary and files are
   * not split by bytes (each file is one mini-batch).
   */
  newlines_in_quotes?: boolean;
  /** Set at submit, never given: `path` names one blob, and that file is the table. */
  file?: boolean;
  /** The run's `partition_keys`, carried here so the dataset kind sees them: files are grouped by these folder keys. */
  partition_keys?: string[];
  /** The run's `carry_columns`, carried here so the kind checks each row read has them. */
  carry_columns?: string[];
}
