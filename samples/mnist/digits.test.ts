import { describe, expect, it } from 'vitest';
import { PIXELS } from '../scripts/mnist/pixels.js';
import { HELD_OUT, loadDigits } from './digits.js';
import { labelsByName } from './images.js';

describe('loadDigits', () => {
  const digits = loadDigits();

  it('holds all 10,000 digits with 784 pixels in 0..1', () => {
    expect(digits).toHaveLength(10_000);
    for (const { pixels, label } of digits) {
      expect(pixels).toHaveLength(PIXELS);
      expect(label >= 0 && label <= 9).toBe(true);
      expect(pixels.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
  });

  it('interleaves the classes, in the training and the held-out part alike', () => {
    const perClass = (part: typeof digits): number[] =>
      [...Array(10).keys()].map((label) => part.filter((d) => d.label === label).length);
    expect(Math.min(...perClass(digits.slice(0, 100)))).toBeGreaterThan(0);
    expect(Math.min(...perClass(digits.slice(-HELD_OUT)))).toBeGreaterThan(100);
  });

  it('returns the same order every time, matching labelsByName', () => {
    // Pinned: blob names, the training split and the committed model all depend on this order.
    expect(
      digits
        .slice(0, 20)
        .map((d) => d.label)
        .join(''),
    ).toBe('47601679126779708379');
    const labels = labelsByName();
    expect(labels.size).toBe(10_000);
    expect(labels.get('0.png')).toBe(digits[0]?.label);
    expect(labels.get('9999.png')).toBe(digits[9999]?.label);
  });
});
