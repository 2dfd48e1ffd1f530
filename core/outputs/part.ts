import type { BlobClient } from '@azure/storage-blob';
import type { ColumnType } from './formats.js';

/** A written part as finalize lists it. */
export interface Part {
  blob: BlobClient;
  size: number;
  /** Rows it holds (parts written before this was recorded do not say). */
  rows?: number;
  /** CSV and Parquet parts: the columns of their rows. */
  columns?: string[];
  /** Parquet parts: the type of each column. */
  types?: ColumnType[];
}
