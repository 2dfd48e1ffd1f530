import { describe, expect, it } from 'vitest';
import { InFlight } from './in-flight.js';

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
