import { dirname } from 'node:path';
import { type CpuDotProduct, cpuDotProduct } from '@repnets/bench';
import { DATASET_NAMES } from '@repnets/train';
import { calibrationFor, calibSource } from './calibration.js';
import {
  type Command,
  humanOut,
  intFlag,
  numFlag,
  oneOf,
  parse,
  printJson,
  UsageError,
} from './common.js';
import { removeKilledRunTemps } from './leftovers.js';
import { isTrainForm, loadModel, modelJsonPath } from './models.js';
import { checkWritable, modelFiles, refuseOverwritingInputs } from './paths.js';

const USAGE = `repnets quantize <deploy-model> --calib DIR|mnist|cifar10|cifar100 --out FILE.onnx
    [--data-dir DIR] [--calib-size N] [--method minmax|percentile|mse] [--percentile P]
    [--reduce-range] [--opset N] [--json]
  Post-training static quantization of a deploy-form TF.js model (fold it first
  with repnets fuse) to ONNX QDQ: int8 per-channel weights, uint8 activations
  calibrated on N images (default 256): a folder of images (any layout, labels
  ignored, spread evenly over its files) or the training split of a data set
  (--calib-dataset NAME also names one; cifar needs --data-dir), prepared as
  evaluation prepares them (resized to the model's input). --reduce-range: 7-bit
  weights, for x86 CPUs without VNNI. Prints the SQNR of the worst layers.`;

const METHODS = ['minmax', 'percentile', 'mse'] as const;

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a deploy-form model to int8 ONNX (QDQ) with a calibration set',
  usage: USAGE,
  async run(argv) {
    const { values, positionals, help } = parse(
      'quantize',
      argv,
      {
        out: { type: 'string' },
        calib: { type: 'string' },
        'calib-dataset': { type: 'string' },
        'data-dir': { type: 'string' },
        'calib-size': { type: 'string' },
        method: { type: 'string' },
        percentile: { type: 'string' },
        'reduce-range': { type: 'boolean', default: false },
        opset: { type: 'string' },
      },
      1,
    );
    if (help) return void console.log(USAGE);
    const [input] = positionals as [string];
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('quantize: --out FILE.onnx is required');
    const source = calibSource(
      'quantize',
      values.calib as string | undefined,
      values['calib-dataset'] as string | undefined,
    );
    if (!source) {
      throw new UsageError(
        `quantize: --calib is required: a folder of images, or a data set (one of ${DATASET_NAMES.filter((n) => n !== 'folder').join(', ')})`,
      );
    }
    if (source.kind === 'folder' && values['data-dir'] !== undefined)
      throw new UsageError('quantize: --data-dir goes with --calib cifar10|cifar100, not a folder');
    const calibSize = intFlag('quantize', 'calib-size', values['calib-size']) ?? 256;
    const method = oneOf('quantize', 'method', values.method, METHODS) ?? 'minmax';
    const percentile = numFlag('quantize', 'percentile', values.percentile);
    if (percentile !== undefined && method !== 'percentile')
      throw new UsageError('quantize: --percentile goes with --method percentile');
    const opset = intFlag('quantize', 'opset', values.opset, 13, 17);
    checkWritable('quantize', 'out', out, 'file', 'model.int8.onnx');
    const json = modelJsonPath(input);
    if (json) refuseOverwritingInputs('quantize', modelFiles(json), [out]);
    const say = humanOut(values.json === true);
    await removeKilledRunTemps(
      [{ dir: dirname(out), ours: (name) => name.endsWith('.onnx') }],
      say,
    );

    const model = await loadModel(input);
    if (isTrainForm(model)) {
      throw new Error(
        `quantize: '${input}' is in train form; fold it first: repnets fuse ${input} --out DEPLOY_DIR`,
      );
    }
    const { batches: calibration, from } = await calibrationFor('quantize', model, input, source, {
      count: calibSize,
      ...(values['data-dir'] ? { dataDir: values['data-dir'] as string } : {}),
      say,
    });
    const { saveOnnxInt8 } = await import('@repnets/blocks/onnx');
    const r = await saveOnnxInt8(model, calibration, out, {
      method,
      reduceRange: values['reduce-range'] === true,
      ...(percentile === undefined ? {} : { percentile }),
      ...(opset ? { opset: opset as 13 | 14 | 15 | 16 | 17 } : {}),
    });
    const layers = r.quantized.map((q) => ({
      layer: q.layer,
      op: q.op,
      weightSqnrDb: round(q.weightSqnrDb),
      inputSqnrDb: round(q.input.sqnrDb),
      ...(q.output ? { outputSqnrDb: round(q.output.sqnrDb) } : {}),
    }));
    say(
      `wrote ${out} (${r.bytes.length} bytes): ${r.quantized.length} layers int8, ${r.skipped.length} float, ${method} calibration on ${r.calibrationImages} ${from}`,
    );
    for (const s of r.skipped) say(`  float: ${s.layer}: ${s.why}`);
    const worst = [...layers]
      .sort(
        (a, b) => Math.min(a.weightSqnrDb, a.inputSqnrDb) - Math.min(b.weightSqnrDb, b.inputSqnrDb),
      )
      .slice(0, 3);
    for (const l of worst)
      say(`  lowest SQNR: ${l.layer}: weights ${l.weightSqnrDb} dB, input ${l.inputSqnrDb} dB`);
    const warning = saturationWarning(values['reduce-range'] === true);
    if (warning) say(warning);
    if (values.json) {
      printJson({
        out,
        input,
        bytes: r.bytes.length,
        ...(source.kind === 'dataset' ? { dataset: source.dataset } : { calibFolder: source.dir }),
        method,
        calibrationImages: r.calibrationImages,
        reduceRange: values['reduce-range'] === true,
        layers,
        skipped: r.skipped,
      });
    }
  },
};

/**
 * Without VNNI, ONNX Runtime's x86 int8 convs multiply u8 x s8 pairs with
 * int16 saturation: measured (bench:ptq) it cost a trained QARepVGG on MNIST
 * 3.9 points of top-1 with 8-bit weights and nothing with 7-bit ones. The
 * machine that quantizes is often the one that runs the model, so say so here.
 */
export function saturationWarning(
  reduceRange: boolean,
  cpu: CpuDotProduct | null = cpuDotProduct(),
): string | undefined {
  if (reduceRange || cpu === null || cpu.found.length > 0 || !cpu.avx2) return undefined;
  return 'note: this CPU has AVX2 but no integer dot-product instructions (VNNI): ONNX Runtime here runs 8-bit weights with int16 saturation, which can cost accuracy (measured: a QARepVGG on MNIST 98.9% -> 95.1% top-1); to run on such CPUs, quantize with --reduce-range (7-bit weights)';
}

/** dB to 0.01 (an exact layer's Infinity prints as null in --json). */
const round = (db: number): number => (Number.isFinite(db) ? Math.round(db * 100) / 100 : db);
