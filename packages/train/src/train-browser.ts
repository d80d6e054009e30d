/**
 * `train()` in a browser: the same loop, in the page's thread, without
 * checkpoint files (save the model from a callback instead) or worker threads.
 */
import type { Dataset } from './data/types.js';
import type { ModelLike } from './loop/model.js';
import type { ProgressSink } from './loop/progress.js';
import type { TrainOptions, TrainResult } from './loop/train-options.js';
import { type TrainPlatform, trainOn } from './train.js';

/** Progress lines on the console: a page has no stdout. */
function consoleSink(): ProgressSink {
  let pending = '';
  return {
    write(text: string) {
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) console.log(line);
    },
  };
}

const BROWSER: TrainPlatform = {
  name: 'in a browser',
  output: consoleSink,
  cores: () => 1,
};

/**
 * Trains `model` on `data.train` (and evaluates on `data.test` after every
 * epoch) in this thread. `checkpointDir`, `resume` and `workers > 1` need Node
 * and are refused naming why; `workers: 'auto'` is 1.
 */
export function train(
  model: ModelLike,
  data: { train: Dataset; test?: Dataset },
  options: TrainOptions,
): Promise<TrainResult> {
  return trainOn(BROWSER, model, data, options);
}
