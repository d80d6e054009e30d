import { foldRepVGGBlock, makeKernel, toOIHW } from '@repnets/fuse';

const C = 8;
const filled = (n: number, v: number) => new Float32Array(n).fill(v);
const bn = (gamma: number) => ({
  gamma: filled(C, gamma),
  beta: filled(C, 0.1),
  mean: filled(C, 0.2),
  variance: filled(C, 0.9),
  eps: 1e-3, // read it from the layer: TF.js defaults to 1e-3, PyTorch to 1e-5
});

// A trained RepVGG block in TF.js layout (HWIO): 3x3 conv+BN, 1x1 conv+BN, identity BN.
const folded = foldRepVGGBlock({
  dense: { kernel: makeKernel('HWIO', [3, 3, C, C], filled(9 * C * C, 0.01)), bn: bn(1.5) },
  conv1x1: { kernel: makeKernel('HWIO', [1, 1, C, C], filled(C * C, 0.02)), bn: bn(0.5) },
  identity: bn(1),
});

console.log(folded.kernel.layout, folded.kernel.shape.join('x'), folded.bias.length);
// -> HWIO 3x3x8x8 8   (one conv: y = conv(x, kernel, pad 1) + bias)
console.log(toOIHW(folded.kernel).shape.join('x'));
// -> 8x8x3x3          (the same kernel for PyTorch / ONNX)
