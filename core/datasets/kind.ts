import type { MiniBatchSize, RunSettings } from '../config/settings.js';
import type { Storage } from '../storage/storage.js';
import type { VersionedItem } from './listing.js';
import type { Plan } from './plan.js';
import type { TableColumns } from './table-columns.js';

export type { ManifestShard, Plan, ShardRef } from './plan.js';
export type { VersionedItem } from './listing.js';

/**
 * How a table's rows reach run(): an array of row objects (`rows`, the default), or one object
 * holding them column by column (`columns`, `TableColumns`), as the entry script asks by exporting
 * `tableView`. Files are paths either way.
 */
export type TableView = 'rows' | 'columns';

/**
 * One mini-batch as a try hands it to run(): its inputs (local file paths for files, row objects for
 * tables), each with the name its error line would carry, and the inputs that could not be read.
 * Every input of the mini-batch is in exactly one of `inputs` and `missing`.
 */
export interface Materialized {
  /** What run() receives, in input order. */
  inputs: unknown[];
  /** The name of each entry of `inputs`: a file's name, or `file.csv#row=N`. */
  readonly names: readonly string[];
  /** Inputs that could not be fetched or read (a vanished file, a malformed row), each with why. */
  missing: { item: string; reason: string }[];
  /** Tables with partition_keys: the key values every row of this mini-batch shares. */
  partitionKeyValues?: Record<string, string>;
  /** Tables read for the columns view: the rows, column by column (`inputs` is then empty). */
  columns?: TableColumns;
}

/** How many inputs run() gets, in either view. */
export function inputCount(m: Pick<Materialized, 'inputs' | 'columns'>): number {
  return m.columns?.length ?? m.inputs.length;
}

/** A run's `input` setting, as parsed (core/config): its `type` picks the dataset kind. */
export type DatasetInput = RunSettings['input'];

/**
 * What every dataset kind does, from submit to a try. Items are named by strings (a file's name
 * relative to the dataset root; a table names a file's byte range or row groups): the manifest shards hold
 * them, and a try gets them back from there. Every method takes the storage it works against: the
 * caller (an activity or HTTP handler in functions/, or a test) builds it.
 *
 * Each kind passes the shared conformance suite (core/datasets/conformance.ts).
 */
export interface DatasetKind<I extends DatasetInput = DatasetInput> {
  /** The `input.type` this kind reads. */
  readonly type: I['type'];
  /**
   * At submit: cheap checks (the dataset exists and is not empty), refusing with a ParallelRunError
   * whose `field` names the setting (`input.container`, `input.glob`, …). Returns the input as it
   * will be planned (e.g. a files `path` naming one blob becomes a one-file dataset).
   */
  validate(storage: Storage, input: I): Promise<I>;
  /**
   * Streams the listing, cuts mini-batches of `size`, writes the manifest shards under
   * `runs/<runId>/manifest/`, and returns only counts and shard refs (never the items: they would
   * enter orchestration history). Refuses an empty dataset and a size this kind cannot cut by.
   * `listed`, when given, is called with every entry of `listing`, in its order, as the plan reads
   * it: a run hashes its fingerprint from the plan's own listing, so it lists its input once.
   * `stopped`, asked as the plan goes, says the run ended meanwhile (canceled): the plan then stops,
   * throwing `planStopped`, and writes nothing more.
   */
  plan(
    storage: Storage,
    runId: string,
    input: I,
    size: MiniBatchSize,
    listed?: (entry: VersionedItem) => void,
    stopped?: () => boolean,
  ): Promise<Plan>;
  /**
   * One mini-batch for one try, into `dir` (the try's scratch folder, for kinds that write files):
   * its inputs in item order, and what could not be read listed in `missing` with why. Stops
   * fetching once `stopped()` says so (the run ended).
   */
  materialize(
    storage: Storage,
    input: I,
    items: string[],
    dir: string,
    stopped?: () => boolean,
    /** Tables: how run() takes the rows (the entry script's `tableView`). Other kinds ignore it. */
    view?: TableView,
  ): Promise<Materialized>;
  /**
   * Streams every item with a version that changes whenever its content may have (a blob's ETag, a
   * local file's size and modification time), in plan order: what a run's fingerprint hashes
   * (core/runner/fingerprint.ts). Memory stays flat however many items there are.
   */
  listing(storage: Storage, input: I): AsyncIterable<VersionedItem>;
  /** The dataset in a few words, for logs (never its list of items). */
  describe(input: I): string;
  /**
   * The name an error line gives a whole manifest item that was never read (a try lost with its
   * process): the item itself unless the kind keeps more in it (a table's range names its file's
   * version too, which no reader of errors.jsonl needs).
   */
  itemName?: (item: string) => string;
  /**
   * True when `materialize` writes no files and its inputs are rows (tables): a try then has its
   * worker process read the mini-batch itself, with clients of its own, so rows never cross the
   * channel between host and worker (core/runner/worker-read.ts). `dir` is then not given.
   */
  readonly readsInWorker?: boolean;
  /**
   * True when planning reads more than the listing (a table reads around its cut points and its
   * Parquet footers). A run that may be reused then looks its fingerprint up before it plans, reading
   * the listing twice (a table has few files) rather than every file for a plan it may not need.
   * Otherwise the plan's own listing feeds the fingerprint (`listed`): one listing a run.
   */
  readonly planReadsFiles?: boolean;
}
