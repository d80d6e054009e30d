/** The training loop's platform-free parts; each entry adds its own `train`. */
export type { Checkpoint, CheckpointMeta, SavedTensor } from './checkpoint.js';
export {
  type DivergedAt,
  type LastFiniteCheckpoint,
  nonFiniteWeight,
  TrainingDivergedError,
} from './diverged.js';
export { type EvalOptions, type EvalResult, evaluate } from './evaluate.js';
export { batchMetrics, MetricSums } from './metrics.js';
export {
  clipByGlobalNorm,
  Optimizer,
  type OptimizerConfig,
  type OptimizerState,
  type Param,
} from './optimizers.js';
export { closestName } from './option-keys.js';
export {
  type EpochRecord,
  formatDuration,
  formatEpoch,
  Progress,
  type ProgressMode,
  type ProgressSink,
  type StepReport,
} from './progress.js';
export {
  defaultOptimizer,
  mnistRecipe,
  type Recipe,
  type RecipeChoices,
  recipeFor,
  zooModelOptions,
} from './recipes.js';
export { learningRate, type ScheduleConfig } from './schedules.js';
export type { TrainCallbacks, TrainOptions, TrainResult } from './train-options.js';
