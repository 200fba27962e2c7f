import type { InsightsAnswer } from "../types/insights";

/** "once", "twice", "3 times". */
function times(n: number): string {
  if (n === 1) return "once";
  if (n === 2) return "twice";
  return `${n} times`;
}

/** The answer in words: `Said yes after "No" ran away twice`, "Sent a heart back". */
export function describeAnswer(answer: InsightsAnswer): string {
  if (answer.answer === "heart") return "Sent a heart back";
  if (answer.dodges <= 0) return "Said yes right away";
  return `Said yes after "No" ran away ${times(answer.dodges)}`;
}

/** What is still awaited: a yes from a proposal, a heart from every other design. */
export function describeNoAnswer(templateId: string): string {
  return templateId === "proposal" ? "No answer yet" : "No heart back yet";
}

export function describeViews(total: number): string {
  if (total === 0) return "No views yet";
  return total === 1 ? "1 view" : `${total} views`;
}

export type DayViews = { day: string; views: number };

const DAY_MS = 24 * 60 * 60 * 1000;

/** `YYYY-MM-DD` of `date` in UTC, the days the API counts in. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/**
 * One entry per UTC day, days without views included, oldest first, up to `today`: the
 * last `minDays` days, reaching further back (up to `maxDays`) to the first day with views.
 */
export function dailyViews(byDay: DayViews[], today: Date, minDays = 14, maxDays = 31): DayViews[] {
  const counts = new Map(byDay.map((d) => [d.day, d.views]));
  const end = Date.parse(utcDay(today));
  const earliest = byDay.reduce((min, d) => {
    const at = Date.parse(d.day);
    return Number.isNaN(at) ? min : Math.min(min, at);
  }, end);
  const span = Math.min(maxDays, Math.max(minDays, Math.round((end - earliest) / DAY_MS) + 1));
  const days: DayViews[] = [];
  for (let i = span - 1; i >= 0; i -= 1) {
    const day = utcDay(new Date(end - i * DAY_MS));
    days.push({ day, views: counts.get(day) ?? 0 });
  }
  return days;
}
