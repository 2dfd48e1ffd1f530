/**
 * An iris-like table, generated deterministically: 50 flowers of each species drawn around the
 * per-species means and spreads of Fisher's iris measurements (cm, one decimal). Not the original
 * 150 rows; close enough that the same small classifier separates them as well.
 */
export const SPECIES = ['setosa', 'versicolor', 'virginica'] as const;
export type Species = (typeof SPECIES)[number];
export const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;

export interface IrisRow {
  id: number;
  sepal_length: number;
  sepal_width: number;
  petal_length: number;
  petal_width: number;
  species: Species;
}

/** Mean and standard deviation of each feature, per species. */
const SHAPE: Record<Species, [number, number][]> = {
  setosa: [
    [5.01, 0.35],
    [3.43, 0.38],
    [1.46, 0.17],
    [0.25, 0.11],
  ],
  versicolor: [
    [5.94, 0.52],
    [2.77, 0.31],
    [4.26, 0.47],
    [1.33, 0.2],
  ],
  virginica: [
    [6.59, 0.64],
    [2.97, 0.32],
    [5.55, 0.55],
    [2.03, 0.27],
  ],
};

/** mulberry32: a small seeded generator, so every run writes the same table. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function irisRows(): IrisRow[] {
  const next = random(1936);
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const rows: IrisRow[] = [];
  for (const species of SPECIES) {
    for (let i = 0; i < 50; i++) {
      const [sl, sw, pl, pw] = SHAPE[species].map(([mean, sd]) =>
        Math.max(0.1, Math.round((mean + sd * normal()) * 10) / 10),
      );
      rows.push({
        id: rows.length + 1,
        sepal_length: sl ?? 0,
        sepal_width: sw ?? 0,
        petal_length: pl ?? 0,
        petal_width: pw ?? 0,
        species,
      });
    }
  }
  return rows;
}

/** Every fifth flower is held out of training: the demo's accuracy is measured on those. */
export const isHeldOut = (id: number) => id % 5 === 0;

export function irisCsv(rows: IrisRow[]): string {
  const lines = rows.map((r) => [r.id, ...FEATURES.map((f) => r[f]), r.species].join(','));
  return `id,${FEATURES.join(',')},species\n${lines.join('\n')}\n`;
}
