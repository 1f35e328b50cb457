// Builds one-node ONNX models (InstanceNormalization, opset 17; any operator
// via nodeModel) as protobuf bytes, so the benchmark needs no model file and
// no protobuf library.
// Field numbers are those of onnx.proto (ModelProto, GraphProto, ...).

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_BYTES = 2;

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const key = (field, wire) => varint((field << 3) | wire);
const bytesField = (field, bytes) => [...key(field, WIRE_BYTES), ...varint(bytes.length), ...bytes];
const strField = (field, s) => bytesField(field, [...Buffer.from(s, 'utf8')]);
const intField = (field, n) => [...key(field, WIRE_VARINT), ...varint(n)];
function floatField(field, f) {
  const b = Buffer.alloc(4);
  b.writeFloatLE(f);
  return [...key(field, WIRE_FIXED32), ...b];
}

const TENSOR_FLOAT = 1;
const ATTRIBUTE_FLOAT = 1;

function valueInfo(name, dims) {
  const dimMsgs = dims.flatMap((d) => bytesField(1, intField(1, d)));         // TensorShapeProto.dim
  const tensorType = [...intField(1, TENSOR_FLOAT), ...bytesField(2, dimMsgs)]; // TypeProto.Tensor
  const typeProto = bytesField(1, tensorType);                                 // TypeProto.tensor_type
  return [...strField(1, name), ...bytesField(2, typeProto)];                  // ValueInfoProto
}

/** ONNX model bytes computing y = InstanceNormalization(x, scale, B) for `shape`. */
export function instanceNormModel(shape, eps) {
  const C = shape[1];
  const attr = [...strField(1, 'epsilon'), ...floatField(2, eps), ...intField(20, ATTRIBUTE_FLOAT)];
  const node = [
    ...strField(1, 'x'), ...strField(1, 'scale'), ...strField(1, 'B'),
    ...strField(2, 'y'), ...strField(3, 'in'), ...strField(4, 'InstanceNormalization'),
    ...bytesField(5, attr),
  ];
  const graph = [
    ...bytesField(1, node), ...strField(2, 'instance_norm'),
    ...bytesField(11, valueInfo('x', shape)), ...bytesField(11, valueInfo('scale', [C])),
    ...bytesField(11, valueInfo('B', [C])), ...bytesField(12, valueInfo('y', shape)),
  ];
  const opset = [...strField(1, ''), ...intField(2, 17)];
  const model = [...intField(1, 8), ...strField(2, 'instnorm-bench'), ...bytesField(7, graph), ...bytesField(8, opset)];
  return Uint8Array.from(model);
}

const ATTRIBUTE_INT = 2;

/**
 * ONNX model bytes for one node of any operator (default domain).
 * inputs/outputs: [name, dims] pairs, in the operator's argument order;
 * attrs: { name: number }, encoded as INT when Number.isInteger and the
 * name is listed in `ints`, else as FLOAT.
 */
export function nodeModel({ op, opset, inputs, outputs, attrs = {}, ints = [] }) {
  const attrMsgs = Object.entries(attrs).map(([name, v]) => (ints.includes(name)
    ? [...strField(1, name), ...intField(3, v), ...intField(20, ATTRIBUTE_INT)]
    : [...strField(1, name), ...floatField(2, v), ...intField(20, ATTRIBUTE_FLOAT)]));
  const node = [
    ...inputs.flatMap(([n]) => strField(1, n)), ...outputs.flatMap(([n]) => strField(2, n)),
    ...strField(3, 'n0'), ...strField(4, op), ...attrMsgs.flatMap((a) => bytesField(5, a)),
  ];
  const graph = [
    ...bytesField(1, node), ...strField(2, op),
    ...inputs.flatMap(([n, d]) => bytesField(11, valueInfo(n, d))),
    ...outputs.flatMap(([n, d]) => bytesField(12, valueInfo(n, d))),
  ];
  const opsetMsg = [...strField(1, ''), ...intField(2, opset)];
  const model = [...intField(1, 8), ...strField(2, 'instnorm-bench'), ...bytesField(7, graph), ...bytesField(8, opsetMsg)];
  return Uint8Array.from(model);
}
