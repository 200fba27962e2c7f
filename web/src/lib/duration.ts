/** A span of time in whole days, hours, minutes and seconds. */
export type Parts = { days: number; hours: number; minutes: number; seconds: number };

/** Splits `ms` into days, hours, minutes and seconds, rounding up to the next whole second. */
export function splitDuration(ms: number): Parts {
  const total = Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : 0;
  return {
    days: Math.floor(total / 86_400),
    hours: Math.floor((total % 86_400) / 3600),
    minutes: Math.floor((total % 3600) / 60),
    seconds: total % 60,
  };
}

const two = (n: number) => String(n).padStart(2, "0");

/** "3d 04:05:06", "04:05:06" or "05:06": a countdown's face. */
export function clockFace(ms: number): string {
  const { days, hours, minutes, seconds } = splitDuration(ms);
  if (days > 0) return `${days}d ${two(hours)}:${two(minutes)}:${two(seconds)}`;
  if (hours > 0) return `${two(hours)}:${two(minutes)}:${two(seconds)}`;
  return `${two(minutes)}:${two(seconds)}`;
}

const unit = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** "2 days, 3 hours", "5 minutes, 1 second": the same in words, its two largest units, for screen readers. */
export function describeDuration(ms: number): string {
  const { days, hours, minutes, seconds } = splitDuration(ms);
  const parts = [
    [days, "day"],
    [hours, "hour"],
    [minutes, "minute"],
    [seconds, "second"],
  ] as const;
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return "0 seconds";
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, name]) => unit(n, name))
    .join(", ");
}
