/**
 * TF.js falls back to its plain-JS cpu backend without a word. Training there
 * is not an error, but it is rarely what anyone meant (the train README's quick
 * start: seconds on wasm, more than 10 minutes on cpu), so it is said once, on
 * stderr, unless cpu was asked for by name.
 */
import type { BackendChoice } from './choice.js';

let warned = false;
let chosenByName = false;

/** Called when a caller asks for the cpu backend by name: no warning then. */
export function cpuChosenByName(): void {
  chosenByName = true;
}

function warnOnce(why: string): void {
  if (warned || chosenByName) return;
  warned = true;
  console.warn(
    `@repnets/train: training on TF.js's plain-JS cpu backend, far slower than wasm (${why}). Pass 'cpu' to selectBackend to mean it.`,
  );
}

/** After selectBackend('auto'): warns when nothing faster than cpu started, saying why wasm did not. */
export function warnIfCpu(choice: BackendChoice): void {
  if (choice.backend !== 'cpu') return;
  const wasm = choice.tried.find((t) => t.name === 'wasm');
  warnOnce(wasm && !wasm.ok ? `wasm: ${wasm.detail}` : 'no faster backend started');
}

/** At the start of train(): warns when the active backend is cpu and nobody chose it. */
export function warnIfUnchosenCpu(backend: string): void {
  if (backend === 'cpu') warnOnce("no backend was selected; call selectBackend('auto') first");
}
