import {
  cpuFallbackAllowed,
  EXECUTION_PROVIDERS_SETTING,
  executionProviders,
  CPU_FALLBACK_SETTING,
} from '../core/config/pools.js';
import { errorMessage, ParallelRunError } from '../core/errors.js';

/**
 * The smallest ONNX model (one float in, the same float out through Identity; IR 8, opset 13): a
 * session over it with an execution provider loads that provider's libraries, nothing more.
 */
const PROBE_MODEL = Buffer.from(
  'CAg6OwoQCgF4EgF5IghJZGVudGl0eRIFcHJvYmVaDwoBeBIKCggIARIECgIIAWIPCgF5EgoKCAgBEgQKAggBQgQKABAN',
  'base64',
);

/** onnxruntime's CPU provider is always there; every other one is checked by loading it. */
const ALWAYS_THERE = new Set(['cpu']);

/**
 * The execution providers this worker's entry scripts will be told to use. Each one asked for is
 * loaded once here, at start: a GPU worker whose CUDA cannot load fails now, with the reason, rather
 * than score on the CPU unnoticed — unless PARALLEL_RUN_ALLOW_CPU_FALLBACK=true, which drops it.
 */
export async function checkedProviders(
  env: Readonly<Record<string, string | undefined>> = process.env,
  log: (line: string) => void = console.log,
): Promise<string[]> {
  const wanted = executionProviders(env);
  const usable: string[] = [];
  for (const provider of wanted) {
    if (ALWAYS_THERE.has(provider)) {
      usable.push(provider);
      continue;
    }
    const problem = await loadProblem(provider);
    if (!problem) {
      usable.push(provider);
      continue;
    }
    if (!cpuFallbackAllowed(env)) {
      throw new ParallelRunError(
        'CONFIGURATION',
        `${EXECUTION_PROVIDERS_SETTING} asks for "${provider}", but it cannot load here: ${problem}. ` +
          (provider === 'cuda'
            ? 'A GPU worker needs an NVIDIA GPU, CUDA 12 + cuDNN 9 and onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12 (worker/Dockerfile). '
            : '') +
          `To run on the CPU instead, set ${CPU_FALLBACK_SETTING}=true or leave "${provider}" out.`,
      );
    }
    log(
      `execution provider "${provider}" cannot load (${problem}): ${CPU_FALLBACK_SETTING}=true, so it is left out`,
    );
  }
  return usable.length > 0 ? usable : ['cpu'];
}

// onnxruntime colours its log lines; the message is shown plain.
// eslint-disable-next-line no-control-regex
const ANSI_COLOUR = /\u001b\[[0-9;]*m/g;

async function loadProblem(provider: string): Promise<string | undefined> {
  const ort = await import('onnxruntime-node');
  try {
    const session = await ort.InferenceSession.create(PROBE_MODEL, { executionProviders: [provider] });
    await session.release();
    return undefined;
  } catch (err) {
    // onnxruntime's own text runs on with its log: the first line says what failed.
    return (errorMessage(err).split('\n')[0] ?? '').replace(ANSI_COLOUR, '').slice(0, 300);
  }
}
