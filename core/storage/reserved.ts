/**
 * Containers that belong to the service or to the Functions host, never to a run's data. A run's
 * output written into `runs` could replace its own summary.json (or another run's run.json); a side
 * input read from `azure-webjobs-secrets` would hand the host's keys to a script.
 */
import { containers, inboxContainers, type InboxContainers } from './layout.js';

const inboxNames = (names: InboxContainers) => [names.inbox, names.done, names.rejected, names.state];

/** The service's own records: readable as data where harmless, never written by a run. */
export const SERVICE_CONTAINERS: readonly string[] = [
  containers.runs,
  containers.models,
  containers.pipelines,
  ...inboxNames(inboxContainers({})),
];

/** The service's containers, with the inbox's as this app names them (PARALLEL_RUN_INBOX). */
function serviceContainers(): readonly string[] {
  return [...SERVICE_CONTAINERS, ...inboxNames(inboxContainers())];
}

/** The Functions host's and Durable Functions' storage, and the deployment package: never data. */
const HOST_CONTAINERS: readonly string[] = [
  'azure-webjobs-hosts',
  'azure-webjobs-secrets',
  'azure-webjobs-eventhub',
  'webjobs-blobtrigger-poison',
  'scm-releases',
  'function-releases',
];
/** `azure-webjobs-*`, the flex plan's `app-package-*`, and a task hub's `<hub>-leases` and the like. */
const HOST_PATTERNS: readonly RegExp[] = [
  /^azure-webjobs-/,
  /^webjobs-/,
  /^app-package-/,
  /^[a-z][a-z0-9]{2,44}-(?:leases|applease|largemessages|devhost)$/,
];

/** How a container is used in a run's settings. */
export type ContainerUse = 'input' | 'side_input' | 'output';

export const RESERVED_ALLOWED =
  'a container of your own data; the service\'s containers (runs, models, pipelines, inbox, inbox-done, inbox-rejected, inbox-state) are not run outputs or side inputs, and the host\'s (azure-webjobs-*, webjobs-*, app-package-*, scm-releases, a task hub\'s "<hub>-leases", "-applease", "-largemessages", "-devhost") are never used';

/** Why `name` may not be used this way, or undefined when it may. */
export function reservedContainerProblem(name: string, use: ContainerUse): string | undefined {
  if (HOST_CONTAINERS.includes(name) || HOST_PATTERNS.some((p) => p.test(name)))
    return `"${name}" belongs to the Functions host or its Durable Functions task hub`;
  if (!serviceContainers().includes(name)) return undefined;
  // Run records hold environment variables and logs: not a dataset. Models and pipelines are harmless to read.
  if (use === 'input' && name !== containers.runs) return undefined;
  return `"${name}" holds the service's own records`;
}
