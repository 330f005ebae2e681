// Writes a stacked-LSTM ONNX model (one `LSTM` node per layer, opset 14) with protobufjs, from
// PyTorch-layout weights (weight_ih_l{k} (4H, I), weight_hh_l{k} (4H, H), bias_ih_l{k}, bias_hh_l{k}
// in gate order i, f, g, o). No Python and no `onnx` package needed: the subset of onnx.proto
// below is all a model file of this kind uses (field numbers as in onnx/onnx.proto3).
//
// Graph: x [T, B, I] -> LSTM -> Y [T, 1, B, H] -> Squeeze(axis 1) -> next layer ... -> y [T, B, H];
// h, c [L, B, H] (Concat of every layer's Y_h / Y_c, or the single layer's directly).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const ONNX_PROTO = `
syntax = "proto3";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; }
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  AttributeType type = 20;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; string doc_string = 3; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string doc_string = 6;
  string domain = 7;
}
message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  string producer_version = 3;
  string domain = 4;
  int64 model_version = 5;
  string doc_string = 6;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message TensorProto {
  enum DataType { UNDEFINED = 0; FLOAT = 1; INT64 = 7; }
  repeated int64 dims = 1;
  int32 data_type = 2;
  string name = 8;
  bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
`;

const FLOAT = 1, INT64 = 7;
const ATTR_INT = 2;

let modelType;
function ModelProto() {
  if (!modelType) {
    const protobuf = require('protobufjs');
    modelType = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  }
  return modelType;
}

/** PyTorch gate blocks i, f, g, o -> ONNX i, o, f, c: ONNX block k is PyTorch block ORDER[k]. */
const ORDER = [0, 3, 1, 2];
function reorderGates(src, H, cols) {
  const out = new Float32Array(src.length);
  for (let k = 0; k < 4; k++) out.set(src.subarray(ORDER[k] * H * cols, (ORDER[k] + 1) * H * cols), k * H * cols);
  return out;
}

const bytesOf = (ta) => new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength);
const floatTensor = (name, dims, data) => ({ name, dims, data_type: FLOAT, raw_data: bytesOf(data) });
const valueInfo = (name, dims) => ({
  name, type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
});

/**
 * Encodes the model. `params[name]` is a Float32Array (or `{ data }`) per PyTorch weight name.
 * @returns {Uint8Array} the .onnx file's bytes
 */
export function buildLstmOnnx({ I, H, L, B, T, params }) {
  const get = (n) => {
    const p = params[n];
    if (!p) throw new Error(`buildLstmOnnx: missing parameter ${n}`);
    return p.data ?? p;
  };
  const nodes = [], inits = [];
  inits.push({ name: 'squeeze_axes', dims: [1], data_type: INT64, raw_data: bytesOf(new BigInt64Array([1n])) });
  let input = 'x';
  const hs = [], cs = [];
  for (let l = 0; l < L; l++) {
    const In = l === 0 ? I : H;
    const W = reorderGates(get(`weight_ih_l${l}`), H, In);
    const R = reorderGates(get(`weight_hh_l${l}`), H, H);
    const Bias = new Float32Array(8 * H);
    Bias.set(reorderGates(get(`bias_ih_l${l}`), H, 1), 0);
    Bias.set(reorderGates(get(`bias_hh_l${l}`), H, 1), 4 * H);
    inits.push(floatTensor(`W${l}`, [1, 4 * H, In], W), floatTensor(`R${l}`, [1, 4 * H, H], R),
      floatTensor(`B${l}`, [1, 8 * H], Bias));
    const last = l === L - 1;
    const yh = last && L === 1 ? 'h' : `Y_h${l}`;
    const yc = last && L === 1 ? 'c' : `Y_c${l}`;
    nodes.push({ op_type: 'LSTM', name: `lstm${l}`, input: [input, `W${l}`, `R${l}`, `B${l}`], output: [`Y${l}`, yh, yc],
      attribute: [{ name: 'hidden_size', type: ATTR_INT, i: H }] });
    const out = last ? 'y' : `X${l + 1}`;
    nodes.push({ op_type: 'Squeeze', name: `squeeze${l}`, input: [`Y${l}`, 'squeeze_axes'], output: [out] });
    hs.push(yh); cs.push(yc);
    input = out;
  }
  if (L > 1) {
    nodes.push({ op_type: 'Concat', name: 'concat_h', input: hs, output: ['h'], attribute: [{ name: 'axis', type: ATTR_INT, i: 0 }] });
    nodes.push({ op_type: 'Concat', name: 'concat_c', input: cs, output: ['c'], attribute: [{ name: 'axis', type: ATTR_INT, i: 0 }] });
  }
  const model = {
    ir_version: 7, producer_name: 'lstm-native-bench', producer_version: '1',
    opset_import: [{ domain: '', version: 14 }],
    graph: {
      name: `lstm_I${I}_H${H}_L${L}`, node: nodes, initializer: inits,
      input: [valueInfo('x', [T, B, I])],
      output: [valueInfo('y', [T, B, H]), valueInfo('h', [L, B, H]), valueInfo('c', [L, B, H])],
    },
  };
  const Type = ModelProto();
  const err = Type.verify(model);
  if (err) throw new Error(`buildLstmOnnx: ${err}`);
  return Type.encode(Type.fromObject(model)).finish();
}
