/**
 * Storage requests made a few at a time: `add` starts one once fewer than `limit` are under way, so
 * a long series (manifest shards, a composition's block copies) is not one round trip after another;
 * `drain` waits for them all. The first failure is kept, and thrown by the next `add` or by `drain`;
 * requests already under way still settle, so none is left unwatched.
 */
export class InFlight {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  /** Starts `request` once there is room; resolves as soon as it has started. */
  async add(request: () => Promise<unknown>): Promise<void> {
    this.throwIfFailed();
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.throwIfFailed();
    const settled: Promise<void> = request().then(
      () => {
        this.running.delete(settled);
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.running.delete(settled);
      },
    );
    this.running.add(settled);
  }

  /** Waits for every request started; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

/**
 * A request started before its result is wanted, to be awaited in its turn: until then its failure
 * must not count as unhandled (which ends the process), and a caller that stops early never sees it.
 */
export function startedAhead<T>(request: Promise<T>): Promise<T> {
  request.catch(() => undefined);
  return request;
}

/**
 * `fetch(0)`, `fetch(1)`, … `fetch(count - 1)` in that order, up to `ahead` of them under way at
 * once: a series of independent small requests (a big file's cut points) in a few round trips'
 * time rather than one after another. A failure is thrown where its result would have been.
 */
export async function* inOrderAhead<T>(
  count: number,
  fetch: (k: number) => Promise<T>,
  ahead: number,
): AsyncGenerator<T> {
  if (!(ahead >= 1)) throw new RangeError(`inOrderAhead: ahead must be 1 or more, not ${ahead}`);
  const started: Promise<T>[] = [];
  let next = 0;
  const start = () => started.push(startedAhead(fetch(next++)));
  while (next < count && started.length < ahead) start();
  for (let k = 0; k < count; k++) {
    const request = started.shift();
    if (!request) return;
    const value = await request;
    if (next < count) start();
    yield value;
  }
}
