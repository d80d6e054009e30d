import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Command, humanOut, intFlag, parse, printJson, UsageError } from './common.js';
import { isTrainForm, loadModel, modelJsonPath } from './models.js';
import { checkWritable, modelFiles, refuseOverwritingInputs } from './paths.js';

const USAGE = `repnets export onnx <model> --out FILE.onnx [--opset N] [--json]
  Exports a TF.js model (train or deploy form; model.json or its folder) to ONNX:
  NCHW convs with native groups, input NHWC as in TF.js.`;

export const exportCommand: Command = {
  name: 'export',
  summary: 'export a model to ONNX',
  usage: USAGE,
  async run(argv) {
    const { values, positionals, help } = parse(
      'export',
      argv,
      { out: { type: 'string' }, opset: { type: 'string' } },
      2,
    );
    if (help) return void console.log(USAGE);
    if (positionals[0] !== 'onnx')
      throw new UsageError(`export: the only format is 'onnx', got '${positionals[0]}'`);
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('export: --out FILE.onnx is required');
    const opset = intFlag('export', 'opset', values.opset, 13);
    if (opset !== undefined && opset > 17)
      throw new UsageError(`export: --opset must be 13 to 17, got ${opset}`);
    checkWritable('export', 'out', out, 'file');
    const json = modelJsonPath(positionals[1]!);
    if (json) refuseOverwritingInputs('export', modelFiles(json), [out]);
    const model = await loadModel(positionals[1]!);
    // The exporter loads protobuf only when asked for.
    const { saveOnnx } = await import('@repnets/blocks/onnx');
    await mkdir(dirname(out), { recursive: true });
    await saveOnnx(model, out, opset ? { opset: opset as 13 | 14 | 15 | 16 | 17 } : {});
    const summary = {
      format: 'onnx',
      input: positionals[1],
      out,
      form: isTrainForm(model) ? 'train' : 'deploy',
      opset: opset ?? 13,
    };
    humanOut(values.json === true)(`wrote ${out} (${summary.form} form, opset ${summary.opset})`);
    if (values.json) printJson(summary);
  },
};
