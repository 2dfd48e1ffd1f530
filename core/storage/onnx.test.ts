import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { onnxProblem } from './onnx.js';

const sample = readFileSync(path.resolve(import.meta.dirname, '../../samples/mnist/model/mnist.onnx'));

describe('onnxProblem', () => {
  it('passes the sample model, which onnxruntime loads', async () => {
    expect(onnxProblem(sample)).toBeUndefined();
    const session = await ort.InferenceSession.create(sample);
    expect(session.inputNames.length).toBeGreaterThan(0);
  });

  it('passes a minimal ModelProto whose fields come in any order', () => {
    // graph (7) = a message holding one node (field 1, empty), opset_import (8) = {version: 17}, then ir_version (1) = 8
    expect(
      onnxProblem(Uint8Array.from([0x3a, 0x02, 0x0a, 0x00, 0x42, 0x02, 0x10, 0x11, 0x08, 0x08])),
    ).toBeUndefined();
  });

  it.each([
    ['text', Buffer.from('this is not a model\n')],
    ['JSON', Buffer.from('{"weights": [1, 2, 3]}')],
    ['HTML', Buffer.from('<html><body>404</body></html>')],
    ['truncated', sample.subarray(0, Math.floor(sample.length / 2))],
    ['no graph', Uint8Array.from([0x08, 0x08])],
    ['no ir_version', Uint8Array.from([0x3a, 0x00])],
    ['a lone tag', Uint8Array.from([0x08])],
    // What onnxruntime refuses with "Missing opset in the model": ir_version 7 and an empty graph.
    ['an empty graph and no opset_import', Uint8Array.from([0x08, 0x07, 0x3a, 0x00])],
    ['no opset_import', Uint8Array.from([0x08, 0x08, 0x3a, 0x02, 0x0a, 0x00])],
  ])('refuses %s', (_what, bytes) => {
    expect(onnxProblem(bytes)).toEqual(expect.any(String));
  });
});
