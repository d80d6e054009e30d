/** What @repnets/blocks/onnx exports on every platform; the entries add `saveOnnx`. */
export {
  exportOnnx,
  type OnnxExportOptions,
  type OnnxInputLayout,
  type OnnxOpset,
  onnxSupportedLayers,
} from './export.js';
export {
  type CalibrationBatch,
  type CalibrationMethod,
  type CalibrationSet,
  exportOnnxInt8,
  type OnnxInt8Options,
  type OnnxInt8Result,
  type QuantizedLayerReport,
} from './int8.js';
export {
  type AttributeProto,
  decodeOnnx,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';
