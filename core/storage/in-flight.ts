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
