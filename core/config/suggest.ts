/** How different a misspelt setting name may be from a known one and still be suggested. */
const MAX_DISTANCE = 2;

/** Case, underscores and hyphens do not count: `miniBatchSize` and `mini-batch-size` are `mini_batch_size`. */
function normalize(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/** Levenshtein distance, or `limit + 1` as soon as it is known to be over `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1));
    }
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

/** The known name closest to `name`, if one is close enough to be what the user meant. */
export function suggestName(name: string, known: readonly string[]): string | undefined {
  const target = normalize(name);
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(target, normalize(candidate), MAX_DISTANCE);
    if (distance <= MAX_DISTANCE && (best === undefined || distance < best.distance)) {
      best = { name: candidate, distance };
    }
  }
  return best?.name;
}
