/**
 * A page's PIN, as its visitor typed it. Once the API has accepted it, it is kept in
 * sessionStorage for this tab (never longer), so a reload does not ask again.
 */

export const PIN_MIN = 4;
export const PIN_MAX = 64;

const storageKey = (slug: string) => `valentine:pin:${slug.toLowerCase()}`;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `pin` cannot protect a page, or `null` when it can. Taken as typed: spaces count. */
export function pinProblem(pin: string): string | null {
  const length = [...pin].length;
  if (length < PIN_MIN) return `Use at least ${PIN_MIN} characters`;
  if (length > PIN_MAX) return `Use at most ${PIN_MAX} characters (this is ${length})`;
  if (pin.trim() === "") return "Use letters, digits or symbols, not only spaces";
  if (CONTROL.test(pin)) return "The PIN contains a character that can't be typed";
  return null;
}

export function rememberPin(slug: string, pin: string): void {
  try {
    window.sessionStorage.setItem(storageKey(slug), pin);
  } catch {
    // Without storage the PIN lasts as long as the page.
  }
}

export function recallPin(slug: string): string | null {
  try {
    return window.sessionStorage.getItem(storageKey(slug)) || null;
  } catch {
    return null;
  }
}

export function forgetPin(slug: string): void {
  try {
    window.sessionStorage.removeItem(storageKey(slug));
  } catch {
    // Nothing kept.
  }
}
