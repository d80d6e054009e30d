/**
 * `repnets models`: the zoo, read from the registry the code builds from
 * (`listModels()` of @repnets/blocks, which is @repnets/fuse's
 * `ARCHITECTURES`, and each name's record), with each
 * model's family, blocks and parameters at its default size. Parameters are
 * counted from the records, so listing takes no time even for RepVGG-B3.
 */
import { formatCount } from '@repnets/bench';
import { listModels, zooParams } from '@repnets/blocks';
import { architecture } from '@repnets/fuse';
import { type Command, humanOut, parse, printJson } from './common.js';

const USAGE = `repnets models [--json]
  Every model name train --model takes: family, re-parameterizable blocks, parameters in
  train and deploy form at the default size (224x224 input and 1000 classes; SimpleNet
  32x32 and 10), default input size and classes.`;

const FAMILY_NAMES: Readonly<Record<string, string>> = {
  repvgg: 'RepVGG',
  mobileone: 'MobileOne',
  repshufflenetv2: 'RepShuffleNetV2',
  simplenet: 'SimpleNet',
};

interface ZooEntry {
  readonly name: string;
  readonly family: string;
  readonly blocks: number;
  readonly params: { readonly train: number; readonly deploy: number };
  /** Default input height and width. */
  readonly input: number;
  readonly classes: number;
}

function zooEntries(): ZooEntry[] {
  return listModels().map((name) => {
    const record = architecture(name);
    return {
      name,
      family: record.family,
      blocks: record.blocks.length,
      params: zooParams(name),
      input: record.input.height,
      classes: record.numClasses,
    };
  });
}

export const models: Command = {
  name: 'models',
  summary: 'the model zoo: names, families, parameters',
  usage: USAGE,
  async run(argv) {
    const { values, help } = parse('models', argv, {}, 0);
    if (help) return void console.log(USAGE);
    const entries = zooEntries();
    if (values.json) return printJson(entries);
    const say = humanOut(false);
    const rows = [
      ['name', 'family', 'deploy', 'train', 'blocks', 'input'],
      ...entries.map((e) => [
        e.name,
        FAMILY_NAMES[e.family] ?? e.family,
        formatCount(e.params.deploy),
        formatCount(e.params.train),
        String(e.blocks),
        `${e.input}x${e.input}, ${e.classes} classes`,
      ]),
    ];
    const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
    for (const r of rows)
      say(
        r
          .map((c, j) => c.padEnd(widths[j]!))
          .join('  ')
          .trimEnd(),
      );
    say('params: deploy form (what runs after folding) and train form (every branch, BN included)');
  },
};
