const KEY = "valentine:admin-token";

/**
 * The admin token, kept in this tab's sessionStorage only: it is gone when the tab closes,
 * and never reaches localStorage, a cookie or the address bar.
 */
export function recallAdminToken(): string | null {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function rememberAdminToken(token: string): void {
  try {
    window.sessionStorage.setItem(KEY, token);
  } catch {
    // Storage refused (private mode): the token lasts as long as the page.
  }
}

export function forgetAdminToken(): void {
  try {
    window.sessionStorage.removeItem(KEY);
  } catch {
    // Nothing kept.
  }
}

/** The `Authorization` header of every console request. */
export function adminHeaders(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}
