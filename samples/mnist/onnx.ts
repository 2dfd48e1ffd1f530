/**
 * Just enough of an ONNX protobuf writer for a small float32 MLP: no dependency on a protobuf
 * library or on Python tooling. Field numbers follow onnx/onnx.proto.
 */

export interface MlpWeights {
  inputSize: number;
  hiddenSize: number;
  outputSize: number;
  /** [inputSize, hiddenSize] row-major: `hidden = relu(pixels · w1 + b1)`. */
  w1: Float32Array;
  b1: Float32Array;
  /** [hiddenSize, outputSize] row-major: `logits = hidden · w2 + b2`. */
  w2: Float32Array;
  b2: Float32Array;
}

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const FLOAT = 1;
const IR_VERSION = 8;
const OPSET = 17;

/** Appends protobuf fields; nested messages are encoded first and written as bytes. */
class ProtoWriter {
  private readonly parts: Buffer[] = [];

  varint(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_BYTES);
    this.rawVarint(value.length);
    this.parts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, build: (writer: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  /** Non-negative integers only, which is all ONNX needs here (sizes, enums, versions). */
  private rawVarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
    const out: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      out.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    out.push(rest);
    this.parts.push(Buffer.from(out));
  }
}

interface Node {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
}

function writeNode(w: ProtoWriter, node: Node): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
}

/** Float32 initializer, stored as little-endian `raw_data` whatever the host's byte order. */
function writeTensor(w: ProtoWriter, name: string, dims: number[], values: Float32Array): void {
  const size = dims.reduce((a, b) => a * b, 1);
  if (values.length !== size)
    throw new Error(`${name}: ${values.length} values for dims [${dims.join(', ')}]`);
  const raw = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) raw.writeFloatLE(values[i] ?? 0, i * 4);
  for (const dim of dims) w.varint(1, dim);
  w.varint(2, FLOAT).string(8, name).bytes(9, raw);
}

/** A float tensor value; string dims are symbolic (`dim_param`), numbers fixed (`dim_value`). */
function writeValueInfo(w: ProtoWriter, name: string, dims: (number | string)[]): void {
  w.string(1, name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.varint(1, FLOAT).message(2, (shape) => {
        for (const dim of dims) {
          shape.message(1, (d) => (typeof dim === 'number' ? d.varint(1, dim) : d.string(2, dim)));
        }
      }),
    ),
  );
}

/** The graph's name and its input and output tensors' (the iris sample names its own). */
export interface MlpNames {
  graph: string;
  input: string;
  output: string;
}

const MNIST_NAMES: MlpNames = { graph: 'mnist_mlp', input: 'pixels', output: 'logits' };

/** `pixels [N, inputSize]` → Gemm → Relu → Gemm → `logits [N, outputSize]`, as an ONNX model. */
export function writeMlpOnnx(weights: MlpWeights, names: MlpNames = MNIST_NAMES): Buffer {
  const { inputSize, hiddenSize, outputSize } = weights;
  const nodes: Node[] = [
    { opType: 'Gemm', name: 'dense1', inputs: [names.input, 'w1', 'b1'], outputs: ['dense1_out'] },
    { opType: 'Relu', name: 'relu1', inputs: ['dense1_out'], outputs: ['hidden'] },
    { opType: 'Gemm', name: 'dense2', inputs: ['hidden', 'w2', 'b2'], outputs: [names.output] },
  ];
  return new ProtoWriter()
    .varint(1, IR_VERSION)
    .string(2, 'parallel-run')
    .message(7, (graph) => {
      for (const node of nodes) graph.message(1, (n) => writeNode(n, node));
      graph.string(2, names.graph);
      graph.message(5, (t) => writeTensor(t, 'w1', [inputSize, hiddenSize], weights.w1));
      graph.message(5, (t) => writeTensor(t, 'b1', [hiddenSize], weights.b1));
      graph.message(5, (t) => writeTensor(t, 'w2', [hiddenSize, outputSize], weights.w2));
      graph.message(5, (t) => writeTensor(t, 'b2', [outputSize], weights.b2));
      graph.message(11, (v) => writeValueInfo(v, names.input, ['N', inputSize]));
      graph.message(12, (v) => writeValueInfo(v, names.output, ['N', outputSize]));
    })
    .message(8, (opset) => opset.string(1, '').varint(2, OPSET))
    .finish();
}
