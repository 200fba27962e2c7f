/**
 * The time a page opens. The author picks a local date and time (`<input
 * type="datetime-local">`, which has no zone); the API takes RFC 3339 with an offset, so
 * the browser's own offset at that moment is written out, daylight saving included.
 */

/** The API's horizon is 366 days; the form asks for a little less, so a slow click still fits. */
export const REVEAL_HORIZON_MS = 365 * 24 * 3600 * 1000;

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

const two = (n: number) => String(Math.trunc(Math.abs(n))).padStart(2, "0");

/** The browser's local date for a `datetime-local` value, or `null` if it is not one (or does not exist locally). */
export function localInputToDate(value: string): Date | null {
  const match = LOCAL_INPUT.exec(value.trim());
  if (!match) return null;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = match.slice(1).map((n) => Number(n ?? 0));
  const date = new Date(year, month - 1, day, hour, minute, second);
  // Out-of-range parts roll over in Date; a value that does not read back is not a real time.
  if (
    date.getFullYear() !== year ||
    date.getMonth() !== month - 1 ||
    date.getDate() !== day ||
    date.getHours() !== hour ||
    date.getMinutes() !== minute
  ) {
    return null;
  }
  return date;
}

/** `date` in RFC 3339 with the browser's offset at that moment: `2027-02-14T09:30:00+01:00`. */
export function toRfc3339(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const zone = `${sign}${two(offset / 60)}:${two(offset % 60)}`;
  return (
    `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}` +
    `T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}${zone}`
  );
}

/** A `datetime-local` value as RFC 3339 with the browser's offset, or `null` if it is not a time. */
export function localInputToRfc3339(value: string): string | null {
  const date = localInputToDate(value);
  return date ? toRfc3339(date) : null;
}

/** An RFC 3339 time as a `datetime-local` value in the browser's zone (minutes), or `""`. */
export function rfc3339ToLocalInput(value: string | null): string {
  if (!value) return "";
  const at = Date.parse(value);
  if (Number.isNaN(at)) return "";
  const date = new Date(at);
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:${two(date.getMinutes())}`;
}

/** Why `value` cannot be the opening time, or `null` when it can (blank: opens at once). */
export function revealTimeProblem(value: string, now: number = Date.now()): string | null {
  if (value.trim() === "") return null;
  const date = localInputToDate(value);
  if (!date) return "Choose a date and a time";
  if (date.getTime() <= now) return "Choose a time in the future";
  if (date.getTime() > now + REVEAL_HORIZON_MS) return "Choose a time within a year from now";
  return null;
}

/** The `min` and `max` of the picker: from the next minute to a year ahead. */
export function revealInputBounds(now: number = Date.now()): { min: string; max: string } {
  const min = rfc3339ToLocalInput(new Date(now + 60_000).toISOString());
  const max = rfc3339ToLocalInput(new Date(now + REVEAL_HORIZON_MS).toISOString());
  return { min, max };
}

/** Whether the page's opening time has come (or there is none). */
export function hasRevealed(revealAt: string | null, now: number = Date.now()): boolean {
  if (!revealAt) return true;
  const at = Date.parse(revealAt);
  return Number.isNaN(at) || at <= now;
}

const longWhen = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

/** "Sunday, 14 February 2027 at 09:30", in the browser's language and zone. */
export function describeRevealTime(revealAt: string): string {
  const at = Date.parse(revealAt);
  return Number.isNaN(at) ? revealAt : longWhen.format(new Date(at));
}
