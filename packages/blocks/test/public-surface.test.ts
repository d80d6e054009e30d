/**
 * The names each entry of @repnets/blocks exports, values and types, Node and
 * browser alike. Adding a name to a user's imports is a decision made here, in
 * the diff of this file, not a side effect of an `export` inside the package.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exportedNames } from '@repnets/devkit';
import { describe, expect, it } from 'vitest';

const src = (path: string) => fileURLToPath(new URL(`../src/${path}`, import.meta.url));

const MAIN = [
  'ActivationName',
  'BNOptions',
  'BlockShape',
  'BranchBlock',
  'BranchBlockArgs',
  'BranchValues',
  'ChannelShuffle',
  'ChannelShuffleArgs',
  'ChannelSplit',
  'ChannelSplitArgs',
  'CheckpointModelOptions',
  'Classification',
  'ClassifierModel',
  'ClassifyImage',
  'ClassifyOptions',
  'ConvBN',
  'ConvBNArgs',
  'CustomL2Regularized',
  'DeployConv',
  'FileSystemOptions',
  'FoldedLayer',
  'FromPretrainedOptions',
  'GroupConv2D',
  'GroupConv2DArgs',
  'HEAD_LAYER',
  'ImportStateDictOptions',
  'ImportedStateDict',
  'MODEL_JSON',
  'MobileOneBlock',
  'MobileOneBlockArgs',
  'ModelFolderFiles',
  'ModelFolderOptions',
  'ModelOptions',
  'PretrainedModel',
  'PretrainedModelOptions',
  'QARepVGGBlock',
  'QARepVGGBlockArgs',
  'RecordModelOptions',
  'RepVGGBlock',
  'RepVGGBlockArgs',
  'Reparameterizable',
  'ReparameterizeResult',
  'ResetHeadOptions',
  'SEBlock',
  'SEBlockArgs',
  'SEPosition',
  'StateDictLayout',
  'ToStateDictOptions',
  'TorchSource',
  'TrainedBareConv',
  'TrainedBranches',
  'TrainedConvBranch',
  'WEIGHTS_BIN',
  'WeightQuantization',
  'ZooName',
  'ZooParams',
  'assertFiniteWeights',
  'classify',
  'classifyFile',
  'createModel',
  'fileSystem',
  'fromPretrained',
  'hasCustomL2',
  'importStateDict',
  'isReparameterizable',
  'layerStages',
  'listModels',
  'loadLayersModelFile',
  'modelFolderFilesOf',
  'modelFromFused',
  'modelFromRecord',
  'modelFromStateDict',
  'reparameterize',
  'resetHead',
  'toStateDict',
  'zooParams',
];

const ONNX = [
  'AttributeProto',
  'CalibrationBatch',
  'CalibrationMethod',
  'CalibrationSet',
  'GraphProto',
  'ModelProto',
  'NodeProto',
  'OnnxExportOptions',
  'OnnxInputLayout',
  'OnnxInt8Options',
  'OnnxInt8Result',
  'OnnxOpset',
  'QuantizedLayerReport',
  'TensorProto',
  'ValueInfoProto',
  'decodeOnnx',
  'exportOnnx',
  'exportOnnxInt8',
  'onnxSupportedLayers',
  'saveOnnx',
  'saveOnnxInt8',
];

const KERNELS = [
  'BN_RUNNING_STATS_KERNEL',
  'BN_TRAINING_GRAD_KERNEL',
  'BN_TRAINING_KERNEL',
  'batchNormTraining',
  'groupedConv2d',
];

describe('each entry exports exactly its pinned names', () => {
  it.each([
    ['@repnets/blocks (Node)', 'index.ts', MAIN],
    ['@repnets/blocks (browser)', 'browser.ts', MAIN],
    ['@repnets/blocks/onnx (Node)', 'onnx/index.ts', ONNX],
    ['@repnets/blocks/onnx (browser)', 'onnx/browser.ts', ONNX],
    ['@repnets/blocks/kernels', 'kernels.ts', KERNELS],
  ])('%s', (_entry, file, names) => {
    expect(exportedNames(src(file))).toEqual(names);
  });
});

it('package.json exports these entries and no other', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  expect(Object.keys(pkg.exports)).toEqual(['.', './onnx', './kernels', './package.json']);
});
