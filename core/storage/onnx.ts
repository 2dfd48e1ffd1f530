/**
 * A cheap structural check of an ONNX file (a serialized `onnx.ModelProto`): its top-level protobuf
 * fields are walked, never decoded, so a 100 MB model costs a few dozen steps. It catches a text file,
 * an HTML error page or a truncated upload registered as `.onnx`; onnxruntime remains the real judge.
 */

/** ModelProto's fields (onnx.proto): number → wire type (0 varint, 2 length-delimited). */
const MODEL_PROTO_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, 0], // ir_version
  [2, 2], // producer_name
  [3, 2], // producer_version
  [4, 2], // domain
  [5, 0], // model_version
  [6, 2], // doc_string
  [7, 2], // graph
  [8, 2], // opset_import
  [14, 2], // metadata_props
  [20, 2], // training_info
  [25, 2], // functions
  [26, 2], // configuration (multi-device)
]);

/** A varint at `at`: its value (exact up to 2^53) and where the next field starts. */
function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i] ?? 0;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

/** Why `bytes` is not an ONNX model, or undefined when its structure is one. */
export function onnxProblem(bytes: Uint8Array): string | undefined {
  const seen = new Set<number>();
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    if (!tag) return `the protobuf is cut short at byte ${at}`;
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    if (MODEL_PROTO_FIELDS.get(field) !== wireType) {
      return at === 0
        ? 'it does not start like an ONNX ModelProto (field 1, ir_version)'
        : `byte ${at} holds protobuf field ${field} of wire type ${wireType}, which an ONNX ModelProto does not have`;
    }
    const value = readVarint(bytes, tag.next);
    if (!value) return `the protobuf is cut short at byte ${tag.next}`;
    at = wireType === 2 ? value.next + value.value : value.next;
    if (at > bytes.length) return `field ${field} runs past the end of the file (truncated upload?)`;
    // An empty graph or opset entry is as good as none: onnxruntime refuses both.
    if (wireType === 0 || value.value > 0) seen.add(field);
  }
  if (!seen.has(1)) return 'it has no ir_version (field 1)';
  if (!seen.has(7)) return 'it has no graph (field 7), or an empty one';
  if (!seen.has(8)) return 'it has no opset_import (field 8): onnxruntime cannot load a model without one';
  return undefined;
}
