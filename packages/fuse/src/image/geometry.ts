/**
 * The sizes timm's eval transform resizes and crops to, with torchvision's and
 * Python's rounding, so that every pixel lands where it does in PyTorch.
 */

/** Python's round(): halves to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's Resize(int): the shorter side becomes `size`, the longer int(size * long / short). */
export function shorterSideSize(height: number, width: number, size: number): [number, number] {
  if (width <= height) return [Math.trunc((size * height) / width), size];
  return [size, Math.trunc((size * width) / height)];
}

/**
 * timm's ResizeKeepRatio (longest = 0): scale by the smaller of the two
 * ratios to the target, each side rounded with round().
 */
export function keepRatioSize(
  height: number,
  width: number,
  target: readonly [number, number],
): [number, number] {
  const ratio = Math.min(height / target[0], width / target[1]);
  return [roundHalfEven(height / ratio), roundHalfEven(width / ratio)];
}

export interface CenterCropPlan {
  /** Zero rows/columns added before cropping when the crop is larger than the image. */
  readonly padTop: number;
  readonly padLeft: number;
  /** Offset of the crop in the padded image. */
  readonly top: number;
  readonly left: number;
}

/** torchvision's CenterCrop: pad with zeros (floor before, ceil after) if needed, then offsets round((in - crop) / 2). */
export function centerCropPlan(
  height: number,
  width: number,
  cropHeight: number,
  cropWidth: number,
): CenterCropPlan {
  const padTop = cropHeight > height ? Math.floor((cropHeight - height) / 2) : 0;
  const padLeft = cropWidth > width ? Math.floor((cropWidth - width) / 2) : 0;
  const paddedHeight = Math.max(cropHeight, height);
  const paddedWidth = Math.max(cropWidth, width);
  return {
    padTop,
    padLeft,
    top: roundHalfEven((paddedHeight - cropHeight) / 2),
    left: roundHalfEven((paddedWidth - cropWidth) / 2),
  };
}
