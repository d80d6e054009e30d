/**
 * The browser build's stand-in for `classify-file.ts`: the same export, without
 * sharp or node:fs in the browser graph.
 */
import type { Classification, ClassifierModel, ClassifyOptions } from './classify.js';

export function classifyFile(
  _model: ClassifierModel,
  path: string,
  _options?: Omit<ClassifyOptions, 'preprocessed'>,
): Promise<Classification[]> {
  return Promise.reject(
    new Error(
      `classifyFile('${path}'): reading image files needs Node; in a browser pass an ImageData, a canvas or a tensor to classify()`,
    ),
  );
}
