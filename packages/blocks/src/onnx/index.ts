/**
 * @repnets/blocks/onnx: ONNX export of TF.js models, train form or deploy form.
 * A separate entry point, so `@repnets/blocks` itself never loads protobufjs.
 */
export {
  exportOnnx,
  type OnnxExportOptions,
  type OnnxOpset,
  onnxSupportedLayers,
} from './export.js';
export {
  type AttributeProto,
  decodeOnnx,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';
export { saveOnnx } from './save.js';
