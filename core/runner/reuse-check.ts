import { findReusable } from '../outputs/reuse.js';
import type { RunRecord } from '../runs/record.js';
import type { Storage } from '../storage/storage.js';
import { fingerprintRun, readFingerprint, type ListingDigest } from './fingerprint.js';

/** What the run does before planning: run, reuse an earlier Completed run, or (a resume) refuse. */
export interface ReuseCheck {
  fingerprint: string;
  /** allow_reuse: the Completed run with the same fingerprint; nothing is planned or run. */
  reusedFrom?: string;
  /** A resume whose input changed: the run ends Failed with this reason, nothing run. */
  refused?: string;
}

/**
 * Fingerprints the run (see fingerprint.ts), then: a resume goes on only
 * if the input listing is the one the resumed run planned (same items, same ETags), since it keeps
 * that run's mini-batches by index; a run with allow_reuse looks its fingerprint up (one read). A
 * resume never reuses another run: it was asked to run what failed. `listed`: the input listing's
 * digest, when the plan has just read it (a run lists its input once).
 */
export async function checkReuse(
  storage: Storage,
  run: RunRecord,
  listed?: ListingDigest,
): Promise<ReuseCheck> {
  const mine = await fingerprintRun(storage, run, listed);
  const base = { fingerprint: mine.fingerprint };
  if (run.resumeOf) {
    const before = await readFingerprint(storage, run.resumeOf);
    if (!before) {
      return {
        ...base,
        refused: `not resumed: run '${run.resumeOf}' recorded no input listing, so what changed since cannot be known`,
      };
    }
    if (before.listing !== mine.listing) {
      return {
        ...base,
        refused: `not resumed: the input of run '${run.resumeOf}' changed since it ran (${before.items} items then, ${mine.items} now, or an item was added, removed or rewritten): its mini-batches no longer match the input; submit a new run instead`,
      };
    }
    return base;
  }
  if (!run.settings.allow_reuse) return base;
  const found = await findReusable(storage, mine.fingerprint);
  return found ? { ...base, reusedFrom: found.runId } : base;
}
