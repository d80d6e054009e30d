/**
 * The entry point of a replica worker thread: builds the {@link Replica} from
 * its workerData and answers the training thread's messages, one at a time.
 * Any error goes back as a message; the training thread then ends the run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AbortedError } from './barrier.js';
import type { FromReplica, ReplicaInit, ToReplica } from './protocol.js';
import { Replica } from './replica.js';

const port = parentPort;
if (!port) throw new Error('@repnets/train: worker-entry runs only as a worker thread');
const send = (m: FromReplica) => port.postMessage(m);
const fail = (e: unknown) => {
  if (e instanceof AbortedError) return; // the training thread already knows why
  const err = e as Error;
  send({ type: 'error', message: String(err?.message ?? e), stack: err?.stack });
};

try {
  const replica = await Replica.create(workerData as ReplicaInit);
  port.on('message', (m: ToReplica) => {
    try {
      if (m.type === 'step') send({ type: 'stepped', metrics: replica.step(m) });
      else if (m.type === 'eval') send({ type: 'evaluated', metrics: replica.evaluate(m) });
      else if (m.type === 'state') send(replica.state(m.withSlots));
      else if (m.type === 'set-weights') {
        replica.setWeights(m.weights);
        send({ type: 'weights-set' });
      }
    } catch (e) {
      fail(e);
    }
  });
  send(replica.describe());
} catch (e) {
  fail(e);
}
