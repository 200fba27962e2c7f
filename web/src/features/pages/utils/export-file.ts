function twoDigits(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * `valentine-<slug>-<YYYY-MM-DD>.json`, dated with the author's own calendar day of the
 * export (today when `exportedAt` cannot be read).
 */
export function exportFileName(slug: string, exportedAt: string, now: Date = new Date()): string {
  const at = new Date(exportedAt);
  const day = Number.isNaN(at.getTime()) ? now : at;
  const date = `${day.getFullYear()}-${twoDigits(day.getMonth() + 1)}-${twoDigits(day.getDate())}`;
  return `valentine-${slug}-${date}.json`;
}
