import { describe, expect, it } from 'vitest';
import { RESULTS_QUEUE, resultsQueue } from './pools.js';

describe('resultsQueue (app setting PARALLEL_RUN_RESULTS_QUEUE)', () => {
  it('is minibatch-results unless set', () => {
    expect(resultsQueue({})).toBe(RESULTS_QUEUE);
    expect(resultsQueue({ PARALLEL_RUN_RESULTS_QUEUE: ' results-app1 ' })).toBe('results-app1');
  });

  it.each([
    ['minibatches-gpu', /"minibatches-gpu" is a pool's queue/],
    ['minibatches-gpu-poison', /"minibatches-gpu-poison" is a pool's queue/],
    ['minibatch-results-poison', /"minibatch-results-poison" is a poison queue/],
    ['Results', /"Results" is not a queue name/],
  ])('refuses %s, naming the setting', (name, why) => {
    expect(() => resultsQueue({ PARALLEL_RUN_RESULTS_QUEUE: name })).toThrow(why);
    expect(() => resultsQueue({ PARALLEL_RUN_RESULTS_QUEUE: name })).toThrow(
      /^app setting PARALLEL_RUN_RESULTS_QUEUE: /,
    );
  });
});
