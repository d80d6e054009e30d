/**
 * The names each entry of package.json "exports" gives a user, pinned: adding
 * or removing a public name is a decision made in this file, not a side effect
 * of an export elsewhere.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exportedNames } from '@repnets/devkit';
import { describe, expect, it } from 'vitest';

const src = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

describe('public surface', () => {
  it('pins every entry of package.json "exports"', () => {
    const { exports } = JSON.parse(readFileSync(src('package.json'), 'utf8'));
    expect(Object.keys(exports)).toEqual([
      '.',
      './node',
      './wasm-asm',
      './measure',
      './hub',
      './image',
      './package.json',
    ]);
  });

  it("'.' (src/index.ts)", () => {
    expect(exportedNames(src('src/index.ts'))).toEqual([
      'ACNetBlockParams',
      'ARCHITECTURES',
      'Activation',
      'ActivationNHWC',
      'ArchError',
      'ArchOptions',
      'ArchitectureName',
      'AssumedStride',
      'AvgPoolKernelArgs',
      'BatchNorm',
      'BlockDimensions',
      'BlockFamily',
      'BlockGeometry',
      'BlockInfo',
      'BlockKeys',
      'BlockKind',
      'BlockRecord',
      'BranchRoles',
      'ConvBN',
      'ConvBranch',
      'DeployedBlockEntry',
      'ExpectedKey',
      'ExpectedKeysOptions',
      'FloatTensor',
      'FoldBranchesArgs',
      'FoldEngine',
      'FoldInto',
      'FoldedConv',
      'FuseError',
      'FuseStateDictResult',
      'FusedBlock',
      'IdentityKernelArgs',
      'IntTensor',
      'Kernel',
      'KernelHWIM',
      'KernelHWIO',
      'KernelLayout',
      'KernelOIHW',
      'KeyRole',
      'LAYOUT_NAMES',
      'LayoutName',
      'MemoryEstimate',
      'MemoryEstimateOptions',
      'MobileOneArch',
      'MobileOneBlockEntry',
      'MobileOneBlockParams',
      'NetworkFamily',
      'NetworkRecord',
      'NetworkShape',
      'ParseStateDictOptions',
      'ParsedStateDict',
      'QARepVGGBlockEntry',
      'QARepVGGBlockParams',
      'ReadSafetensorsOptions',
      'ReadTorchCheckpointOptions',
      'ReferenceConvOptions',
      'RepVGGArch',
      'RepVGGBlockEntry',
      'RepVGGBlockParams',
      'ReparamBlock',
      'SEPlacement',
      'SafeTensor',
      'SafeTensors',
      'SafetensorsDType',
      'SafetensorsFloatDType',
      'SafetensorsIntDType',
      'Shape4',
      'ShapeMismatch',
      'SqueezeExcite',
      'StateDict',
      'StateDictError',
      'StateDictKeys',
      'StateDictKeysOptions',
      'StateDictProblems',
      'StateTensor',
      'StrideSource',
      'StrippedPrefix',
      'TensorSize',
      'TensorToWrite',
      'WriteSafetensorsOptions',
      'architecture',
      'avgPoolKernel',
      'blockNamed',
      'blockWeights',
      'convertKernel',
      'deployStateDictShapes',
      'detectLayout',
      'estimateMemory',
      'foldACNetBlock',
      'foldBatchNorm',
      'foldBranches',
      'foldEngine',
      'foldMobileOneBlock',
      'foldPostBatchNorm',
      'foldQARepVGGBlock',
      'foldRepVGGBlock',
      'foldReparamBlock',
      'fuseStateDict',
      'identityKernel',
      'isArchitectureName',
      'makeKernel',
      'mergeSequentialConvs',
      'mobileoneRecord',
      'numberToF16Bits',
      'padKernel',
      'parseStateDict',
      'qarepvggRecord',
      'readSafetensors',
      'readTorchCheckpoint',
      'referenceConv2d',
      'repvggRecord',
      'setFoldEngine',
      'shapeFor',
      'stateDictKeys',
      'sumBranches',
      'toHWIM',
      'toHWIO',
      'toOIHW',
      'trainStateDictShapes',
      'writeSafetensors',
    ]);
  });

  it("'./hub' in Node (src/hub/index.ts)", () => {
    expect(exportedNames(src('src/hub/index.ts'))).toEqual([
      'DEFAULT_HUB_ENDPOINT',
      'HubDownloadOptions',
      'HubError',
      'HubErrorCode',
      'HubFileRef',
      'HubModelConfig',
      'HubModelFiles',
      'HubProgress',
      'cachedHubFile',
      'hubCacheDir',
      'hubDownload',
      'hubFetch',
      'hubModelFiles',
      'readHubConfig',
    ]);
  });

  it("'./hub' in a browser (src/hub/browser.ts)", () => {
    expect(exportedNames(src('src/hub/browser.ts'))).toEqual([
      'DEFAULT_HUB_ENDPOINT',
      'HUB_CACHE_NAME',
      'HubError',
      'HubErrorCode',
      'HubFetchOptions',
      'HubFileRef',
      'HubModelConfig',
      'HubProgress',
      'hubFetch',
      'readHubConfig',
    ]);
  });

  it("'./image' (src/image/index.ts)", () => {
    expect(exportedNames(src('src/image/index.ts'))).toEqual([
      'DEFAULT_CROP_PCT',
      'EvalTransformConfig',
      'IMAGENET_CLASSES',
      'IMAGENET_DEFAULT_MEAN',
      'IMAGENET_DEFAULT_STD',
      'Interpolation',
      'PixelWindow',
      'RawImage',
      'ResampleFilter',
      'ResampleOptions',
      'TransformedImage',
      'evalTransform',
      'parsePretrainedCfg',
      'resampleBytes',
      'resampleFloat',
    ]);
  });

  it("'./measure' (src/measure.ts)", () => {
    expect(exportedNames(src('src/measure.ts'))).toEqual([
      'MachineInfo',
      'Summary',
      'machineInfo',
      'summarize',
    ]);
  });

  it("'./node' (src/io/node.ts)", () => {
    expect(exportedNames(src('src/io/node.ts'))).toEqual([
      'AtomicFile',
      'AtomicWriteData',
      'AtomicWriteError',
      'NotARegularFileError',
      'OpenedRegularFile',
      'StaleTempOptions',
      'TempFileName',
      'WriteFileAtomicOptions',
      'checkRegularFile',
      'fileKind',
      'loadSafetensorsFile',
      'openRegularFile',
      'parseTempName',
      'readRegularFile',
      'readRegularFileSync',
      'readTorchFile',
      'removeStaleTempFiles',
      'saveSafetensorsFile',
      'staleTempFiles',
      'tempPathFor',
      'writeFileAtomic',
      'writeFileAtomicSync',
      'writeFilesAtomic',
    ]);
  });

  it("'./wasm-asm' (src/engine/wasm-asm.ts)", () => {
    expect(exportedNames(src('src/engine/wasm-asm.ts'))).toEqual([
      'F32',
      'F64',
      'I32',
      'V128',
      'ValType',
      'WasmFunction',
      'WasmMemory',
      'assembleModule',
      'instantiate',
      'op',
      'sleb',
      'uleb',
    ]);
  });
});
