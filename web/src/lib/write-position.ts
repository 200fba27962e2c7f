/**
 * Read-your-writes across servers. Every write the API answers carries the stream position
 * of its event (`Valentine-Position`); this browser remembers the highest one and sends it
 * on reads (`Valentine-Min-Position`), so whichever server answers waits until its copy of
 * the pages has caught up with that write. An author who creates a page through one server
 * and opens it through another never sees "not found" or the page before their change.
 *
 * Kept in localStorage, so a page opened in a new tab right after writing it is covered
 * too. It is a number, nothing personal; without storage it lasts as long as the page.
 */

/** Header of a write answer: where its event landed. */
export const POSITION_HEADER = "Valentine-Position";

/** Header of a read: answer only once at least this position is applied. */
export const MIN_POSITION_HEADER = "Valentine-Min-Position";

const KEY = "valentine:position";

let inMemory: number | null = null;

function parse(value: string | null): number | null {
  if (value === null || !/^\d{1,16}$/.test(value.trim())) return null;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : null;
}

/** The position of this browser's latest write, if it made one. */
export function lastWritePosition(): number | null {
  try {
    return parse(window.localStorage.getItem(KEY)) ?? inMemory;
  } catch {
    return inMemory;
  }
}

/** Remembers the `Valentine-Position` of a write answer; a position never moves back. */
export function rememberWritePosition(header: string | null): void {
  const position = parse(header);
  if (position === null) return;
  const known = lastWritePosition();
  if (known !== null && known >= position) return;
  inMemory = position;
  try {
    window.localStorage.setItem(KEY, String(position));
  } catch {
    // Storage is off or full: the position lasts as long as the page.
  }
}

/** Forgets it (for tests). */
export function forgetWritePosition(): void {
  inMemory = null;
  try {
    window.localStorage.removeItem(KEY);
  } catch {
    // Nothing kept.
  }
}
