import { dirname } from 'node:path';
import { type Command, humanOut, intFlag, parse, printJson, UsageError } from './common.js';
import { EXPORT_STATE_DICT_USAGE, exportStateDict } from './export-state-dict.js';
import { EXPORT_TFJS_USAGE, exportTfjs } from './export-tfjs.js';
import { removeKilledRunTemps } from './leftovers.js';
import { isTrainForm, loadModel, modelJsonPath } from './models.js';
import { checkWritable, modelFiles, refuseOverwritingInputs } from './paths.js';

const USAGE = `repnets export onnx <model> --out FILE.onnx [--opset N] [--input-layout nhwc|nchw] [--json]
  Exports a TF.js model (train or deploy form; model.json or its folder) to ONNX:
  NCHW convs with native groups, input NHWC as in TF.js, or NCHW as in PyTorch
  with --input-layout nchw (the input then goes straight into the first Conv).
${EXPORT_TFJS_USAGE}
${EXPORT_STATE_DICT_USAGE}`;

/** The formats `repnets export` writes, the first word of its arguments. */
const FORMATS = ['onnx', 'tfjs', 'state-dict'] as const;

export const exportCommand: Command = {
  name: 'export',
  summary: 'export a model to ONNX or a PyTorch state dict, or a checkpoint to TF.js models',
  usage: USAGE,
  async run(argv) {
    const { values, positionals, help } = parse(
      'export',
      argv,
      {
        out: { type: 'string' },
        opset: { type: 'string' },
        'input-layout': { type: 'string' },
        layout: { type: 'string' },
        form: { type: 'string' },
        model: { type: 'string' },
        quantize: { type: 'string' },
      },
      [1, 2],
    );
    if (help) return void console.log(USAGE);
    const out = values.out as string | undefined;
    const isFormat = (word: string | undefined) =>
      word !== undefined && (FORMATS as readonly string[]).includes(word);
    // parse() took one or two words: the format and the model, or one of them alone.
    const [format, input] = positionals;
    if (input === undefined && isFormat(format))
      throw new UsageError(
        `export: missing the model: repnets export ${format} MODEL --out ${out ?? 'FILE.onnx'}`,
      );
    if (input === undefined) {
      // `repnets export DIR --out x.onnx`: the model is there, the format word is not.
      throw new UsageError(
        `export: missing the format: repnets export ${FORMATS[0]} ${format} --out ${out ?? 'FILE.onnx'}`,
      );
    }
    if (!isFormat(format))
      throw new UsageError(`export: unknown format '${format}'; one of ${FORMATS.join(', ')}`);
    if (format !== 'tfjs' && values.quantize !== undefined)
      throw new UsageError(`export: --quantize is for tfjs, not ${format}`);
    if (format === 'state-dict') return exportStateDict(input, values);
    for (const flag of ['layout', 'form', 'model'] as const) {
      if (values[flag] !== undefined)
        throw new UsageError(`export: --${flag} is for state-dict, not ${format}`);
    }
    if (format === 'tfjs') {
      if (values['input-layout'] !== undefined)
        throw new UsageError('export: --input-layout is for onnx, not tfjs');
      return exportTfjs(input, values);
    }
    if (!out) throw new UsageError('export: --out FILE.onnx is required');
    const opset = intFlag('export', 'opset', values.opset, 13);
    if (opset !== undefined && opset > 17)
      throw new UsageError(`export: --opset must be 13 to 17, got ${opset}`);
    const layoutFlag = values['input-layout'] as string | undefined;
    const inputLayout = layoutFlag === undefined ? 'NHWC' : layoutFlag.toUpperCase();
    if (inputLayout !== 'NHWC' && inputLayout !== 'NCHW')
      throw new UsageError(`export: --input-layout must be nhwc or nchw, got '${layoutFlag}'`);
    checkWritable('export', 'out', out, 'file', 'model.onnx');
    const json = modelJsonPath(input);
    if (json) refuseOverwritingInputs('export', modelFiles(json), [out]);
    const say = humanOut(values.json === true);
    await removeKilledRunTemps(
      [{ dir: dirname(out), ours: (name) => name.endsWith('.onnx') }],
      say,
    );
    const model = await loadModel(input);
    // The exporter loads protobuf only when asked for.
    const { saveOnnx } = await import('@repnets/blocks/onnx');
    await saveOnnx(model, out, {
      inputLayout,
      ...(opset ? { opset: opset as 13 | 14 | 15 | 16 | 17 } : {}),
    });
    const summary = {
      format: 'onnx',
      input,
      out,
      form: isTrainForm(model) ? 'train' : 'deploy',
      opset: opset ?? 13,
      inputLayout,
    };
    const layoutNote = inputLayout === 'NCHW' ? ', NCHW input' : '';
    say(`wrote ${out} (${summary.form} form, opset ${summary.opset}${layoutNote})`);
    if (values.json) printJson(summary);
  },
};
