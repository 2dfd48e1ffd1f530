/**
 * A worker's clocks for one try, from the deadline its message carries (the shard gives a silent try
 * up after that many seconds): heartbeats come six times within it, a claim silent for three
 * heartbeats may be taken over by another worker, and a message whose worker died reappears after
 * four — so the try moves to a live worker well before its shard would give it up.
 */
export interface TryTiming {
  heartbeatMs: number;
  takeoverMs: number;
  visibilitySeconds: number;
}

export function tryTiming(deadlineSeconds: number): TryTiming {
  const heartbeatMs = Math.min(5_000, Math.max(500, (deadlineSeconds * 1000) / 6));
  return {
    heartbeatMs,
    takeoverMs: heartbeatMs * 3,
    visibilitySeconds: Math.max(2, Math.ceil((heartbeatMs * 4) / 1000)),
  };
}
