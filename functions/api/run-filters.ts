import type { HttpRequest } from '@azure/functions';
import { show } from '../../core/config/issues.js';
import { isPipelineName, PIPELINE_NAME_ALLOWED } from '../../core/config/parameters.js';
import { ParallelRunError } from '../../core/errors.js';
import { knownQuery } from '../http/params.js';

export const RUN_STATES = ['Pending', 'Running', 'Completed', 'Failed', 'Canceled'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** What `GET /api/runs` may be asked to leave out, as the CLI's `runs` command asks. */
export interface RunFilters {
  status?: ReadonlySet<RunState>;
  pipeline?: string;
  top?: number;
}

const MAX_TOP = 100_000;
function invalid(field: string, raw: string, allowed: string): ParallelRunError {
  return new ParallelRunError('INVALID_REQUEST', `${field} ${show(raw)} is not allowed: ${allowed}`, field);
}

/** `status=running,failed`: any of the states, in any case. */
function statusFilter(raw: string): ReadonlySet<RunState> {
  const states = raw.split(',').map((part) => {
    const state = RUN_STATES.find((s) => s.toLowerCase() === part.trim().toLowerCase());
    if (!state)
      throw invalid('status', raw, `use one or more of ${RUN_STATES.join(', ')}, separated by commas`);
    return state;
  });
  return new Set(states);
}

/** A pipeline's name, as published: any other text names no pipeline, and is refused as a typo would be. */
function pipelineFilter(raw: string): string {
  if (!isPipelineName(raw)) throw invalid('pipeline', raw, PIPELINE_NAME_ALLOWED);
  return raw;
}

function topFilter(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_TOP)
    throw invalid('top', raw, `use a whole number from 1 to ${MAX_TOP}`);
  return n;
}

/**
 * The list's query, checked: a parameter it does not know is refused rather than ignored (a
 * misspelled `staus=Failed` would otherwise answer every run as if they had failed).
 */
export function runFilters(
  request: HttpRequest,
  takes: readonly (keyof RunFilters)[] = ['status', 'pipeline', 'top'],
): RunFilters {
  const filters: RunFilters = {};
  for (const [name, raw] of knownQuery(request, takes)) {
    if (name === 'status') filters.status = statusFilter(raw);
    if (name === 'pipeline') filters.pipeline = pipelineFilter(raw);
    if (name === 'top') filters.top = topFilter(raw);
  }
  return filters;
}

/** Runs newest first, as listed, less those the filters leave out. */
export function filterRuns<T extends { status: RunState; pipeline?: string }>(
  runs: T[],
  filters: RunFilters,
): T[] {
  return runs
    .filter((r) => filters.status === undefined || filters.status.has(r.status))
    .filter((r) => filters.pipeline === undefined || r.pipeline === filters.pipeline)
    .slice(0, filters.top);
}
