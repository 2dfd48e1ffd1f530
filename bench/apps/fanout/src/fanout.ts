import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';

df.app.activity('noop', { handler: () => null });

/** Fans out `n` no-op activities through sub-orchestrations of at most `per` (bounded history each). */
df.app.orchestration('benchFanOut', function* (context: OrchestrationContext) {
  const { n, per } = context.df.getInput<{ n: number; per: number }>();
  const shards = Math.ceil(n / per);
  const counts = (yield context.df.Task.all(
    Array.from({ length: shards }, (_, s) =>
      context.df.callSubOrchestrator('benchShard', Math.min(per, n - s * per)),
    ),
  )) as number[];
  return counts.reduce((a, b) => a + b, 0);
});

df.app.orchestration('benchShard', function* (context: OrchestrationContext) {
  const count = context.df.getInput<number>();
  const done = (yield context.df.Task.all(
    Array.from({ length: count }, () => context.df.callActivity('noop', null)),
  )) as unknown[];
  return done.length;
});
