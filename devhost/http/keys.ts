import { timingSafeEqual } from 'node:crypto';
import type { HostKeys } from '../settings.js';

export type AuthLevel = 'anonymous' | 'function' | 'admin';

export function parseAuthLevel(value: unknown): AuthLevel {
  const v = typeof value === 'string' ? value.toLowerCase() : 'anonymous';
  return v === 'function' || v === 'admin' ? v : 'anonymous';
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when the request may call the function. With no keys configured everything is anonymous, as in Core Tools. */
export function isAuthorized(
  keys: HostKeys,
  level: AuthLevel,
  functionName: string,
  presented: string | undefined,
): boolean {
  const anyConfigured = keys.master !== undefined || Object.keys(keys.function).length > 0;
  if (level === 'anonymous' || !anyConfigured) return true;
  if (!presented) return false;
  if (keys.master !== undefined && same(presented, keys.master)) return true;
  if (level === 'admin') return false;
  const candidates = Object.entries(keys.function)
    .filter(([name]) => name === 'default' || name.toLowerCase() === functionName.toLowerCase())
    .map(([, key]) => key);
  return candidates.some((k) => same(presented, k));
}
