/**
 * `repnets export state-dict MODEL --layout timm|official --out X.safetensors`:
 * a RepNets model (a `repnets train` run folder, or a TF.js model folder) as a
 * PyTorch state dict that timm's or the authors' module of that layout loads
 * with strict=True, so a network fine-tuned here goes back to PyTorch.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toStateDict } from '@repnets/blocks';
import { saveSafetensorsFile } from '@repnets/fuse/node';
import { humanOut, printJson, UsageError } from './common.js';
import { isTrainForm, loadModel, modelJsonPath } from './models.js';
import { checkWritable, modelFiles, refuseOverwritingInputs } from './paths.js';

export const EXPORT_STATE_DICT_USAGE = `repnets export state-dict <run|model> --out FILE.safetensors [--layout timm|official] [--form train|deploy] [--model NAME] [--json]
  Writes a RepVGG, MobileOne or QARepVGG model (a repnets train run folder, whose train/
  model is taken, or a TF.js model folder) as a PyTorch state dict in timm's (default) or
  the authors' key layout (QARepVGG: the authors' only, cxxgtxy/QARepVGG), loadable with load_state_dict(strict=True). --form deploy writes
  each block as its one folded conv (the layout's own deploy keys). --model names the
  architecture when the model's own name is not one.`;

const LAYOUTS = ['timm', 'official'] as const;

/** A run folder's train form, or the model path as given. */
function modelPath(input: string): string {
  const trained = join(input, 'train');
  return existsSync(join(trained, 'model.json')) ? trained : input;
}

/** Runs `repnets export state-dict` with the arguments `export` parsed. */
export async function exportStateDict(
  input: string,
  values: Record<string, string | boolean | undefined>,
): Promise<void> {
  for (const flag of ['opset', 'input-layout'] as const) {
    if (values[flag] !== undefined)
      throw new UsageError(`export: --${flag} is for onnx, not state-dict`);
  }
  const out = values.out as string | undefined;
  if (!out) throw new UsageError('export: --out FILE.safetensors is required');
  const layout = (values.layout as string | undefined) ?? 'timm';
  if (!(LAYOUTS as readonly string[]).includes(layout))
    throw new UsageError(`export: --layout must be timm or official, got '${layout}'`);
  const form = values.form as string | undefined;
  if (form !== undefined && form !== 'train' && form !== 'deploy')
    throw new UsageError(`export: --form must be train or deploy, got '${form}'`);
  checkWritable('export', 'out', out, 'file', 'model.safetensors');
  const path = modelPath(input);
  const json = modelJsonPath(path);
  if (json) refuseOverwritingInputs('export', modelFiles(json), [out]);
  const model = await loadModel(path);
  try {
    const name = values.model as string | undefined;
    const stateDict = toStateDict(model, {
      layout: layout as (typeof LAYOUTS)[number],
      ...(form ? { form: form as 'train' | 'deploy' } : {}),
      ...(name ? { model: name } : {}),
    });
    // timm's own hub files carry this metadata; safetensors' torch loader reads it.
    await saveSafetensorsFile(out, stateDict, { format: 'pt' });
    const written = form ?? (isTrainForm(model) ? 'train' : 'deploy');
    const summary = {
      format: 'state-dict',
      input: path,
      out,
      layout,
      form: written,
      tensors: stateDict.size,
    };
    humanOut(values.json === true)(
      `wrote ${out} (${written} form, ${layout} layout, ${stateDict.size} tensors) from ${path}`,
    );
    if (values.json) printJson(summary);
  } finally {
    model.dispose();
  }
}
