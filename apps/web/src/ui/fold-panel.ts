/**
 * What folding did to the network: every block's parallel branches and the one
 * conv that replaced them, with the weights each side holds, and the totals
 * (including the accuracy of both forms, which should agree).
 */
import type { FoldedBlock, ModelsMeta } from '../meta';
import { count, h } from './dom';

const pct = (a: number) => `${(100 * a).toFixed(2)}%`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

function blockRow(b: FoldedBlock): HTMLElement {
  return h(
    'tr',
    { 'data-block': b.name },
    h(
      'th',
      { scope: 'row' },
      b.name,
      h('small', { class: 'detail' }, `${b.inChannels}→${b.outChannels}, stride ${b.stride}`),
    ),
    h(
      'td',
      {},
      h(
        'div',
        { class: 'branches' },
        ...b.branchKinds.map((k) => h('span', { class: 'chip before' }, k)),
      ),
    ),
    h('td', { class: 'arrow', 'aria-hidden': 'true' }, '→'),
    h('td', {}, h('span', { class: 'chip after' }, b.foldedKind)),
    h('td', { class: 'num' }, `${count(b.trainParams)} → ${count(b.deployParams)}`),
  );
}

function howItFolds(meta: ModelsMeta): string {
  const identity = meta.folded.some((b) => b.branchKinds.includes('identity BN'));
  return [
    "Each branch's BatchNorm is folded into its conv with the running statistics (kernel × γ/σ, bias β − μγ/σ),",
    identity
      ? 'the 1×1 kernel is zero-padded to 3×3, an identity branch becomes a 3×3 kernel with a single 1 at the centre,'
      : 'the 1×1 kernel is zero-padded to 3×3,',
    'and the kernels and biases add up.',
    identity
      ? ''
      : 'No block of this compact model has an identity branch: each one changes the channel count or the resolution.',
    `Largest logit difference between the two forms over the ${count(meta.testExamples)} test digits: ${meta.maxAbsLogitDiff.toExponential(1)}.`,
    'Parameter counts include the training form’s BatchNorm running statistics.',
  ]
    .filter(Boolean)
    .join(' ');
}

export function renderFoldPanel(container: HTMLElement, meta: ModelsMeta): void {
  const branchesBefore = meta.folded.reduce((n, b) => n + b.branches, 0);
  const saved = 1 - meta.deploy.params / meta.train.params;
  const figure = (label: string, before: string, after: string) =>
    h(
      'div',
      { class: 'figure' },
      h('span', { class: 'figure-label' }, label),
      h('span', {}, before, h('span', { class: 'arrow' }, ' → '), h('strong', {}, after)),
    );
  container.replaceChildren(
    h(
      'div',
      { class: 'figures' },
      figure(
        'branches',
        `${branchesBefore} in ${meta.folded.length} blocks`,
        `${meta.folded.length} convs`,
      ),
      figure(
        'parameters',
        count(meta.train.params),
        `${count(meta.deploy.params)} (−${(100 * saved).toFixed(0)}%)`,
      ),
      figure('weights file', kb(meta.train.weightBytes), kb(meta.deploy.weightBytes)),
      figure('test accuracy', pct(meta.train.accuracy), pct(meta.deploy.accuracy)),
    ),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'fold-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'block'),
            h('th', {}, 'training form: parallel branches, summed'),
            h('th', {}),
            h('th', {}, 'deploy form'),
            h('th', { class: 'num' }, 'params'),
          ),
        ),
        h('tbody', {}, ...meta.folded.map(blockRow)),
      ),
    ),
    h('p', { class: 'note' }, howItFolds(meta)),
  );
}
