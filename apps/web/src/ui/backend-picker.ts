/** One radio button per backend; unavailable ones are disabled and say why on hover. */
import type { BackendName, BackendStatus } from '../backends';
import { h } from './dom';

export function renderBackendPicker(
  container: HTMLElement,
  statuses: readonly BackendStatus[],
  active: string,
  onPick: (name: BackendName) => void,
): void {
  container.replaceChildren(
    ...statuses.map((s) => {
      const input = h('input', {
        type: 'radio',
        name: 'backend',
        value: s.name,
        checked: s.name === active,
        disabled: !s.available,
      });
      input.addEventListener('change', () => input.checked && onPick(s.name));
      return h(
        'label',
        {
          class: `backend-option${s.available ? '' : ' unavailable'}`,
          title: s.detail,
          'data-backend': s.name,
        },
        input,
        h('span', {}, s.name),
        h('small', {}, s.available ? 'available' : 'unavailable'),
      );
    }),
  );
}
