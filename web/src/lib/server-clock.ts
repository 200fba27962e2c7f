/**
 * The server's clock, as seen from the browser. A page that opens at a set time counts
 * down on the server's time, not on a browser clock that may be minutes off: every answer's
 * `Date` header says what time the server had, and the difference is applied to
 * `Date.now()` until the next answer.
 */

/** `Date` has whole seconds: the server's time lies somewhere in the second it names. */
const HALF_SECOND_MS = 500;

/**
 * How far the server's clock is ahead of this browser's (negative: behind), in
 * milliseconds, from an answer's `Date` header and the browser's time when it arrived.
 * `0` when the header is missing or unreadable: the browser's own clock is the best guess.
 */
export function clockOffset(dateHeader: string | null | undefined, receivedAt: number): number {
  if (!dateHeader) return 0;
  const server = Date.parse(dateHeader);
  if (Number.isNaN(server) || !Number.isFinite(receivedAt)) return 0;
  return server + HALF_SECOND_MS - receivedAt;
}

/** The server's time now, given the offset measured by `clockOffset`. */
export function serverNow(offsetMs: number, localNow: number = Date.now()): number {
  return localNow + offsetMs;
}

/** Milliseconds left until `at` (an ISO time) on the server's clock; never negative; `0` for a bad time. */
export function msUntil(at: string, offsetMs: number, localNow: number = Date.now()): number {
  const target = Date.parse(at);
  if (Number.isNaN(target)) return 0;
  return Math.max(0, target - serverNow(offsetMs, localNow));
}
