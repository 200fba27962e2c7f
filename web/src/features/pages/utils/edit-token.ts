/**
 * The edit token lives in the URL fragment (`/<slug>/edit#token=…`), which browsers never
 * send to servers. Once read, it is kept in sessionStorage for this tab, so a reload works
 * after the fragment has been cleared from the address bar.
 */

const storageKey = (slug: string) => `valentine:edit-token:${slug.toLowerCase()}`;

/** The token in a location fragment such as `#token=abc`, or `null`. */
export function tokenFromHash(hash: string): string | null {
  const params = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
  const token = params.get("token")?.trim();
  return token ? token : null;
}

/**
 * The token from whatever people paste: a whole edit link, a `#token=` fragment or the
 * bare token.
 */
export function tokenFromInput(input: string): string | null {
  const text = input.trim();
  if (text === "") return null;
  const at = text.indexOf("#");
  if (at >= 0) return tokenFromHash(text.slice(at));
  if (text.startsWith("token=")) return tokenFromHash(text);
  return /^[A-Za-z0-9_-]+$/.test(text) ? text : null;
}

export function rememberToken(slug: string, token: string): void {
  try {
    window.sessionStorage.setItem(storageKey(slug), token);
  } catch {
    // Storage can be disabled; the token then lasts as long as the page.
  }
}

export function recallToken(slug: string): string | null {
  try {
    return window.sessionStorage.getItem(storageKey(slug));
  } catch {
    return null;
  }
}

export function forgetToken(slug: string): void {
  try {
    window.sessionStorage.removeItem(storageKey(slug));
  } catch {
    // Nothing to forget.
  }
}
