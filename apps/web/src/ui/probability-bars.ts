/** The class probabilities as horizontal bars, the predicted class highlighted. */
import { CLASS_NAMES } from '../meta';
import { h } from './dom';

export function renderBars(container: HTMLElement, probs: Float32Array | null): void {
  const top = probs ? probs.indexOf(Math.max(...probs)) : -1;
  container.replaceChildren(
    ...CLASS_NAMES.map((name, c) => {
      const p = probs?.[c] ?? 0;
      return h(
        'div',
        { class: `bar${c === top ? ' top' : ''}`, 'data-class': c },
        h('span', { class: 'bar-label' }, name),
        h(
          'span',
          { class: 'bar-track' },
          h('span', { class: 'bar-fill', style: `width: ${(100 * p).toFixed(1)}%` }),
        ),
        h('span', { class: 'bar-value' }, probs ? `${(100 * p).toFixed(1)}%` : ''),
      );
    }),
  );
}
