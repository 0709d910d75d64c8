import React, { useState } from 'react';

/**
 * One tab stop for a list of items (ARIA's "roving tabindex"): the item that had the focus last
 * (else ``preferred``, else the first) is reached with Tab; ArrowDown/ArrowUp, Home and End move
 * the focus among the items. Items carry ``data-roving`` with their key; where one container
 * holds several such lists (the columns of a table), each list's items also carry
 * ``data-roving-group`` with the ``group`` given here.
 */
export function useRovingFocus(keys: readonly string[], preferred?: string, group?: string) {
  const [focused, setFocused] = useState<string | undefined>(undefined);
  const listed = (key: string | undefined) => (key !== undefined && keys.includes(key) ? key : undefined);
  const tabStop = listed(focused) ?? listed(preferred) ?? keys[0];
  return {
    /** The tabIndex of the item with ``key``. */
    tabIndex: (key: string) => (key === tabStop ? 0 : -1),
    /** Props for the list's container. */
    container: {
      onFocus: (event: React.FocusEvent<HTMLElement>) => {
        const item = event.target as HTMLElement;
        if (item.dataset.roving !== undefined && item.dataset.rovingGroup === group) {
          setFocused(item.dataset.roving);
        }
      },
      onKeyDown: (event: React.KeyboardEvent<HTMLElement>) => {
        if (moveFocus(event.currentTarget, event.target as HTMLElement, event.key)) {
          event.preventDefault();
        }
      }
    }
  };
}

/** Move the focus from ``from`` to another item of ``container`` for ``key``; false: not a moving key. */
export function moveFocus(container: HTMLElement, from: HTMLElement, key: string): boolean {
  const items = Array.from(container.querySelectorAll<HTMLElement>('[data-roving]')).filter(
    item => item.dataset.rovingGroup === from.dataset.rovingGroup
  );
  const at = items.indexOf(from);
  const target =
    key === 'ArrowDown' ? items[at + 1] : key === 'ArrowUp' ? items[at - 1] : key === 'Home' ? items[0] : key === 'End' ? items[items.length - 1] : null;
  if (at < 0 || target === null) {
    return false;
  }
  target?.focus();
  return true;
}
