import { describe, expect, it } from 'vitest';
import { InFlight, inOrderAhead } from './in-flight.js';

/** A request the test ends by hand, and whether it has started. */
function gated() {
  let end: (failure?: Error) => void = () => undefined;
  let started = false;
  const request = () => {
    started = true;
    return new Promise<void>((resolve, reject) => {
      end = (failure) => (failure ? reject(failure) : resolve());
    });
  };
  return { request, end: (failure?: Error) => end(failure), started: () => started };
}

describe('InFlight', () => {
  it('starts a request only once fewer than its limit are under way', async () => {
    const inFlight = new InFlight(2);
    const [a, b, c] = [gated(), gated(), gated()];
    await inFlight.add(a.request);
    await inFlight.add(b.request);
    const third = inFlight.add(c.request);
    await new Promise((resolve) => setImmediate(resolve));
    expect(c.started()).toBe(false);
    b.end();
    await third;
    expect(c.started()).toBe(true);
    a.end();
    c.end();
    await inFlight.drain();
  });

  it('throws the first failure from the next add and from drain, after the others settled', async () => {
    const inFlight = new InFlight(2);
    const [a, b] = [gated(), gated()];
    await inFlight.add(a.request);
    await inFlight.add(b.request);
    a.end(new Error('403 on shard 0'));
    const drained = inFlight.drain();
    let settled = false;
    void drained.catch(() => (settled = true));
    // A turn of the event loop: a drain that rejected at the first failure would have by now.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    b.end();
    await expect(drained).rejects.toThrow('403 on shard 0');
    await expect(inFlight.add(gated().request)).rejects.toThrow('403 on shard 0');
  });
});

/** Reads `inOrderAhead` over `count` gated requests, `ahead` at once: what it yielded so far, and its end. */
function readGated(count: number, ahead: number) {
  const gates = Array.from({ length: count }, () => gated());
  const got: number[] = [];
  const reading = (async () => {
    for await (const k of inOrderAhead(count, async (k) => (await gates[k]?.request(), k), ahead))
      got.push(k);
  })();
  return { gates, got, reading };
}

describe('inOrderAhead', () => {
  it('yields in order while up to `ahead` requests are under way, whichever ends first', async () => {
    const { gates, got, reading } = readGated(5, 2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(gates.map((g) => g.started())).toEqual([true, true, false, false, false]);
    gates[1]?.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toEqual([]);
    gates[0]?.end();
    await expect.poll(() => gates[3]?.started(), { interval: 5 }).toBe(true);
    expect(got).toEqual([0, 1]);
    for (const g of gates.slice(2)) {
      await expect.poll(() => g.started(), { interval: 5 }).toBe(true);
      g.end();
    }
    await reading;
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it('throws a failure in its turn, and a failure ahead of it never goes unhandled', async () => {
    const { gates, got, reading } = readGated(3, 3);
    await new Promise((resolve) => setImmediate(resolve));
    gates[2]?.end(new Error('404 on the third'));
    gates[1]?.end();
    gates[0]?.end();
    await expect(reading).rejects.toThrow('404 on the third');
    expect(got).toEqual([0, 1]);
  });
});
