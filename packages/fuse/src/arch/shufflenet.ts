/**
 * RepShuffleNetV2 as records: ShuffleNetV2 (Ma et al., ECCV 2018; stage output
 * channels from Table 5) with every depthwise conv a depthwise RepVGG block and
 * the stem a RepVGG block; the 1x1 convs are conv+BN blocks. Our layout of the
 * original RepNets project's idea.
 */
import {
  ArchError,
  type ArchOptions,
  type BlockRecord,
  block,
  type NetworkRecord,
  resolveInput,
} from './records.js';

export const SHUFFLENET_ARCHS = {
  repshufflenetv2_x0_5: [24, 48, 96, 192, 1024],
  repshufflenetv2_x1_0: [24, 116, 232, 464, 1024],
} as const satisfies Record<string, readonly number[]>;

/** Units per stage (stages 2-4). */
export const SHUFFLENET_REPEATS = [4, 8, 4] as const;

/** The units of a RepShuffleNetV2, in order: name, stage, index, stride (2 for the first of a stage). */
export function shufflenetUnits() {
  return SHUFFLENET_REPEATS.flatMap((n, s) =>
    Array.from({ length: n }, (_, u) => ({
      name: `stage${s + 2}_unit${u}`,
      stage: s + 2,
      index: u,
      stride: u === 0 ? 2 : 1,
    })),
  );
}

/** Stage channels after width multipliers (one per stage; the last repeats), kept even for the channel split. */
function scaled(channels: readonly number[], w: readonly number[] | undefined): number[] {
  return channels.map((c, j) =>
    w ? Math.max(2, Math.round((c * (w[Math.min(j, w.length - 1)] ?? 1)) / 2) * 2) : c,
  );
}

export function shufflenetRecord(
  name: string,
  channels: readonly number[],
  o: ArchOptions = {},
): NetworkRecord {
  const base = resolveInput(name, o);
  if (channels.length !== 5)
    throw new ArchError(
      name,
      `needs 5 widths (stem, stages 2-4, conv5), got [${channels.join(', ')}]`,
    );
  // Scaled one for one: c[0]..c[4] exist.
  const c = scaled(channels, o.widthMultipliers);
  const rep = (
    r: Omit<BlockRecord, 'kind' | 'branches' | 'se' | 'kernelSize' | 'activation'>,
    activation: 'relu' | 'linear',
  ) =>
    block(name, {
      ...r,
      kind: 'repvgg',
      kernelSize: 3,
      branches: { kxk: 1, scale: true, identity: r.inChannels === r.outChannels && r.stride === 1 },
      se: 'none',
      activation,
    });
  const pw = (n: string, stage: number, index: number, cin: number, cout: number) =>
    block(name, {
      name: n,
      kind: 'convbn',
      stage,
      index,
      inChannels: cin,
      outChannels: cout,
      kernelSize: 1,
      stride: 1,
      groups: 1,
      branches: { kxk: 1, scale: false, identity: false },
      se: 'none',
      activation: 'relu',
    });
  const blocks: BlockRecord[] = [
    rep(
      {
        name: 'stem',
        stage: 1,
        index: 0,
        inChannels: base.input.channels,
        outChannels: c[0]!,
        stride: base.stemStride,
        groups: 1,
      },
      'relu',
    ),
  ];
  let prev = c[0]!;
  for (const u of shufflenetUnits()) {
    const out = c[u.stage - 1]!;
    const half = out / 2;
    const at = { stage: u.stage, index: u.index };
    const dw = (n: string, ch: number) =>
      rep(
        { name: n, ...at, inChannels: ch, outChannels: ch, stride: u.stride, groups: ch },
        'linear',
      );
    if (u.stride === 2) {
      blocks.push(
        dw(`${u.name}_left_dw`, prev),
        pw(`${u.name}_left_pw`, u.stage, u.index, prev, half),
      );
    }
    const rightIn = u.stride === 2 ? prev : half;
    blocks.push(
      pw(`${u.name}_right_pw1`, u.stage, u.index, rightIn, half),
      dw(`${u.name}_right_dw`, half),
      pw(`${u.name}_right_pw2`, u.stage, u.index, half, half),
    );
    prev = out;
  }
  blocks.push(pw('conv5', 5, 0, prev, c[4]!));
  return { name, family: 'repshufflenetv2', ...base, blocks };
}
