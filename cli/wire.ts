/**
 * The HTTP API's replies as the CLI reads them. Written out here rather than imported: the CLI talks
 * to the service over HTTP only and never loads its modules (ESLint refuses such imports in cli/).
 */

export type RunState = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Canceled';

export interface ProgressView {
  items: { total: number; succeeded: number; failed: number; remaining: number };
  miniBatches: { total: number; succeeded: number; failed: number; inFlight: number };
  elapsedSeconds: number;
  itemsPerSecond: number;
  etaSeconds: number | null;
  percent: number;
}

export interface RunSummary {
  status: 'Completed' | 'Failed' | 'Canceled';
  reason?: string;
  totals: {
    items: number;
    itemsSucceeded: number;
    itemsFailed: number;
    miniBatches: number;
    miniBatchesSucceeded: number;
    miniBatchesFailed: number;
    tries: number;
  };
  durationSeconds: number;
  itemsPerSecond: number;
  output?: { container: string; blob: string; bytes: number };
  errors: { container: string; blob: string; lines: number };
  logs: { overview: string; script: string };
}

export interface RunView {
  runId: string;
  status: RunState;
  phase?: string;
  reason?: string;
  pipeline?: string;
  runName?: string;
  createdTime: string;
  lastUpdatedTime: string;
  progress?: ProgressView;
  summary?: RunSummary;
}

export interface ErrorLine {
  item: string;
  mini_batch: number;
  attempts: number;
  kind: string;
  error: string;
  stack?: string;
}

export interface ModelInfo {
  name: string;
  version: number;
  files: string[];
  description?: string;
  created: string;
}

/** One model in `GET /api/models`. */
export interface ModelEntry {
  name: string;
  versions: number[];
}

/** `{error: {code, message, field?, issues?}}`, as every API error is answered. */
export interface ApiProblem {
  code: string;
  message: string;
  field?: string;
  issues?: { field: string; message: string }[];
}

export function isEnded(status: RunState): boolean {
  return status === 'Completed' || status === 'Failed' || status === 'Canceled';
}
