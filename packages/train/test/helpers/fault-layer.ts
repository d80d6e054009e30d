/**
 * A pass-through layer that fails on purpose inside one replica worker at its
 * n-th training call: by throwing, or by ending its thread. Registered for
 * serialization, so a model holding it can be rebuilt in the workers when
 * this module is among `workerModules`.
 */
import { workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';

export interface FaultArgs extends tf.serialization.ConfigDict {
  /** The replica rank that fails. */
  rank: number;
  /** Its training call (1-based) that fails. */
  call: number;
  mode: 'throw' | 'exit';
}

export class FaultAtCall extends tf.layers.Layer {
  static readonly className = 'FaultAtCall';
  private calls = 0;
  constructor(private readonly fault: FaultArgs & { name?: string }) {
    super({ name: fault.name });
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const rank = (workerData as { rank?: number } | null)?.rank;
    if (kwargs.training && rank === this.fault.rank && ++this.calls === this.fault.call) {
      if (this.fault.mode === 'exit') process.exit(3);
      throw new Error(`injected failure at training call ${this.fault.call}`);
    }
    return x;
  }
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      rank: this.fault.rank,
      call: this.fault.call,
      mode: this.fault.mode,
    };
  }
}
tf.serialization.registerClass(FaultAtCall);
