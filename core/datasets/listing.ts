/** One item of a dataset's listing and the version of its content as storage reports it. */
export interface VersionedItem {
  item: string;
  version: string;
}
