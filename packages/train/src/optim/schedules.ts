/**
 * Learning-rate schedules as pure functions of the global step, so a resumed
 * run computes the same rate as an uninterrupted one without saved state.
 */

export type ScheduleConfig =
  | { readonly type: 'constant'; readonly warmupEpochs?: number; readonly warmupStartLr?: number }
  | {
      /** Cosine decay to `minLr` over the steps after warm-up (per step, as timm with t_in_epochs=False). */
      readonly type: 'cosine';
      readonly warmupEpochs?: number;
      /** Rate at step 0 of the warm-up (default 0: the first step already moves). */
      readonly warmupStartLr?: number;
      readonly minLr?: number;
    }
  | {
      /** Multiply by `gamma` every `stepEpochs` epochs after warm-up. */
      readonly type: 'step';
      readonly stepEpochs: number;
      readonly gamma?: number;
      readonly warmupEpochs?: number;
      readonly warmupStartLr?: number;
    };

/** `config` with every default spelled out: what the rate uses and what a checkpoint records. */
export function resolveSchedule(config: ScheduleConfig) {
  const warmup = {
    warmupEpochs: config.warmupEpochs ?? 0,
    warmupStartLr: config.warmupStartLr ?? 0,
  };
  switch (config.type) {
    case 'constant':
      return { type: config.type, ...warmup };
    case 'cosine':
      return { type: config.type, ...warmup, minLr: config.minLr ?? 0 };
    case 'step':
      return {
        type: config.type,
        ...warmup,
        stepEpochs: config.stepEpochs,
        gamma: config.gamma ?? 0.1,
      };
  }
}

/** The learning rate for global step `step` (0-based) of a run of `epochs` x `stepsPerEpoch`. */
export function learningRate(
  config: ScheduleConfig,
  baseLr: number,
  step: number,
  stepsPerEpoch: number,
  epochs: number,
): number {
  const c = resolveSchedule(config);
  const warmup = Math.round(c.warmupEpochs * stepsPerEpoch);
  if (step < warmup) {
    const start = c.warmupStartLr;
    // (step + 1): the last warm-up step reaches baseLr, the first is not wasted at `start`.
    return start + ((baseLr - start) * (step + 1)) / warmup;
  }
  switch (c.type) {
    case 'constant':
      return baseLr;
    case 'cosine': {
      const minLr = c.minLr;
      const span = Math.max(1, epochs * stepsPerEpoch - warmup);
      const t = Math.min(1, (step - warmup) / span);
      return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos(Math.PI * t));
    }
    case 'step': {
      if (!(c.stepEpochs > 0))
        throw new Error(`schedule 'step': stepEpochs must be > 0, got ${c.stepEpochs}`);
      const epoch = Math.floor((step - warmup) / stepsPerEpoch);
      return baseLr * c.gamma ** Math.floor(epoch / c.stepEpochs);
    }
  }
}
