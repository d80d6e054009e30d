/**
 * The PyTorch key layouts of RepVGG, MobileOne and QARepVGG checkpoints, spelled
 * here for the tests from the sources' own module definitions, deliberately
 * NOT from @repnets/fuse's KEY_SCHEMES: a wrong name or shape there must show
 * up as a test failure, not be generated on both sides.
 *
 * - timm `byobnet.py`: stem `stem`, blocks `stages.N.M`; `RepVggBlock` holds
 *   `identity` (BN), `conv_kxk` and `conv_1x1` (ConvNormAct: `conv` + `bn`),
 *   `attn` (SEModule `fc1`/`fc2`); `MobileOneBlock` holds `identity`,
 *   `conv_kxk.N`, `conv_scale`, `attn`; deploy `reparam_conv`; classifier
 *   `head.fc`.
 * - DingXiaoH/RepVGG `repvgg.py`: `stage0`, `stageS.M`; `se` (`down`/`up`),
 *   `rbr_identity`, `rbr_dense`, `rbr_1x1` (each `conv` + `bn`), deploy
 *   `rbr_reparam`; `linear`.
 * - apple/ml-mobileone `mobileone.py`: `stage0`, `stageS.M`; `se`
 *   (`reduce`/`expand`), `rbr_skip`, `rbr_conv.N`, `rbr_scale`, deploy
 *   `reparam_conv`; `linear`.
 * - cxxgtxy/QARepVGG `repvgg.py` (`QARepVGGBlockV2` in DingXiaoH's skeleton):
 *   `stage0`, `stageS.M`; `rbr_identity` an nn.Identity (no tensors),
 *   `rbr_dense` (`conv` + `bn`), `rbr_1x1` a bare Conv2d (`rbr_1x1.weight`),
 *   then `bn` after the sum; deploy `rbr_reparam`; `linear`. timm has none.
 */
import type { BlockRecord, LayoutName, NetworkFamily, NetworkRecord } from '@repnets/fuse';

export type TorchSource = 'timm' | 'official';
export const TORCH_SOURCES: readonly TorchSource[] = ['timm', 'official'];

/** The block family a PyTorch source writes: RepVGG, MobileOne or QARepVGG blocks. */
export type TorchFamily = 'repvgg' | 'mobileone' | 'qarepvgg';

/**
 * Which PyTorch block family each zoo family's checkpoints are written in, or
 * why there is none. A Record over every NetworkFamily: a new family does not
 * compile until it says which.
 */
export const TORCH_FAMILY: Readonly<
  Record<NetworkFamily, TorchFamily | { readonly none: string }>
> = {
  repvgg: 'repvgg',
  // A chain of three RepVGG blocks: the RepVGG layouts hold it block for block.
  simplenet: 'repvgg',
  mobileone: 'mobileone',
  // The official layout only: timm has no QARepVGG (see NAMES).
  qarepvgg: 'qarepvgg',
  repshufflenetv2: {
    none: 'a two-branch graph (channel split and shuffle, conv+BN 1x1 blocks, blocks without ReLU) that none of the four PyTorch layouts describes',
  },
};

/** The layout name @repnets/fuse should detect for a source and family (a TorchLayout's pair always has one). */
export const fuseLayoutName = (source: TorchSource, family: TorchFamily) =>
  `${source}-${family}` as LayoutName;

/** Module paths, relative to the block, of one block's parts in one source. */
export interface TorchBlock {
  readonly record: BlockRecord;
  /** The block's module path: `stem`, `stages.0.1`, `stage0`, `stage1.1`. */
  readonly path: string;
  /** kxk conv+BN modules (`<m>.conv.weight`, `<m>.bn.*`), absolute. */
  readonly kxk: readonly string[];
  /** The 1x1 conv+BN module, absolute. */
  readonly scale?: string;
  /** The identity BatchNorm2d module, absolute. */
  readonly identity?: string;
  /** QARepVGG: the 1x1 is a bare conv (`<scale>.weight`), the identity a plain `x`, and `post` the BN after the sum. */
  readonly bareScale?: boolean;
  readonly bareIdentity?: boolean;
  readonly post?: string;
  /** The SE's reduce and expand 1x1 convs (with bias), absolute, and its reduced width. */
  readonly se?: { readonly down: string; readonly up: string; readonly hidden: number };
  /** The one conv with bias the source's own re-parameterization leaves, absolute. */
  readonly deploy: string;
}

export interface TorchLayout {
  readonly source: TorchSource;
  readonly family: TorchFamily;
  readonly blocks: readonly TorchBlock[];
  /** The classifier Linear module: `head.fc` (timm) or `linear` (official). */
  readonly classifier: string;
}

/**
 * The SE's reduced width in each source. timm RepVGG-D2se: SEModule with
 * rd_ratio 1/16, rd_divisor 1 (a rounding); timm MobileOne: SEModule's
 * make_divisible(c/16, 8); official RepVGG: c // 16; official MobileOne:
 * int(c * 0.0625). The official rules give 0 below 16 channels, a module
 * PyTorch cannot build; the tests' narrow models take 1 there.
 */
function seHidden(
  source: TorchSource,
  family: Exclude<TorchFamily, 'qarepvgg'>,
  c: number,
): number {
  if (source === 'timm' && family === 'repvgg') return Math.max(1, Math.round(c / 16));
  if (source === 'timm') return Math.max(8, Math.floor((c / 16 + 4) / 8) * 8);
  return Math.max(1, Math.floor(c / 16));
}

function blockPath(source: TorchSource, b: BlockRecord): string {
  if (source === 'timm') return b.stage === 0 ? 'stem' : `stages.${b.stage - 1}.${b.index}`;
  return b.stage === 0 ? 'stage0' : `stage${b.stage}.${b.index}`;
}

const NAMES = {
  timm: {
    repvgg: {
      kxk: 'conv_kxk',
      indexed: false,
      scale: 'conv_1x1',
      id: 'identity',
      se: ['attn', 'fc1', 'fc2'],
      deploy: 'reparam_conv',
    },
    mobileone: {
      kxk: 'conv_kxk',
      indexed: true,
      scale: 'conv_scale',
      id: 'identity',
      se: ['attn', 'fc1', 'fc2'],
      deploy: 'reparam_conv',
    },
  },
  official: {
    repvgg: {
      kxk: 'rbr_dense',
      indexed: false,
      scale: 'rbr_1x1',
      id: 'rbr_identity',
      se: ['se', 'down', 'up'],
      deploy: 'rbr_reparam',
    },
    mobileone: {
      kxk: 'rbr_conv',
      indexed: true,
      scale: 'rbr_scale',
      id: 'rbr_skip',
      se: ['se', 'reduce', 'expand'],
      deploy: 'reparam_conv',
    },
  },
} as const;

/** cxxgtxy/QARepVGG's QARepVGGBlockV2 module names (no SE: RepNets' QARepVGG has none to match). */
const QA_NAMES = { kxk: 'rbr_dense', scale: 'rbr_1x1', post: 'bn', deploy: 'rbr_reparam' } as const;

/** Why the timm source has no QARepVGG layout. */
export const NO_TIMM_QAREPVGG =
  "timm's byobnet has RepVGG and MobileOne blocks but no QARepVGG (BN on the 3x3 branch and after the sum only)";

/** The PyTorch module layout of `record` in `source`, or the reason there is none. */
export function torchLayout(
  record: NetworkRecord,
  source: TorchSource,
): TorchLayout | { readonly none: string } {
  const family = TORCH_FAMILY[record.family];
  if (typeof family !== 'string') return family;
  const classifier = source === 'timm' ? 'head.fc' : 'linear';
  if (family === 'qarepvgg') {
    if (source === 'timm') return { none: NO_TIMM_QAREPVGG };
    const blocks = record.blocks.map((b): TorchBlock => {
      if (b.kind !== family || b.activation !== 'relu' || b.se !== 'none')
        throw new Error(`${record.name}: block ${b.name} is not a QARepVGG block with ReLU, no SE`);
      const path = blockPath(source, b);
      return {
        record: b,
        path,
        deploy: `${path}.${QA_NAMES.deploy}`,
        kxk: [`${path}.${QA_NAMES.kxk}`],
        scale: `${path}.${QA_NAMES.scale}`,
        bareScale: true,
        bareIdentity: b.branches.identity,
        post: `${path}.${QA_NAMES.post}`,
      };
    });
    return { source, family, blocks, classifier };
  }
  const n = NAMES[source][family];
  const blocks = record.blocks.map((b): TorchBlock => {
    if (b.kind !== family || b.activation !== 'relu')
      throw new Error(`${record.name}: block ${b.name} is not a ${family} block with ReLU`);
    const path = blockPath(source, b);
    const [se, down, up] = n.se;
    return {
      record: b,
      path,
      deploy: `${path}.${n.deploy}`,
      kxk: Array.from({ length: b.branches.kxk }, (_, j) =>
        n.indexed ? `${path}.${n.kxk}.${j}` : `${path}.${n.kxk}`,
      ),
      ...(b.branches.scale ? { scale: `${path}.${n.scale}` } : {}),
      ...(b.branches.identity ? { identity: `${path}.${n.id}` } : {}),
      ...(b.se !== 'none'
        ? {
            se: {
              down: `${path}.${se}.${down}`,
              up: `${path}.${se}.${up}`,
              hidden: seHidden(source, family, b.outChannels),
            },
          }
        : {}),
    };
  });
  return { source, family, blocks, classifier };
}
