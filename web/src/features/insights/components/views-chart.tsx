import type { CSSProperties } from "react";

import { dailyViews, type DayViews } from "../utils/describe";

// Days are UTC days, as the API counts them; shown as such, so a bar never shifts a day.
const dayNumber = new Intl.DateTimeFormat(undefined, { day: "numeric", timeZone: "UTC" });
const fullDay = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  month: "short",
  day: "numeric",
  timeZone: "UTC",
});

type ViewsChartProps = { byDay: DayViews[]; today?: Date };

/**
 * Views per day as small bars, the last 14 days at least, days without views included.
 * The bars are a picture; screen readers get the same numbers as a table.
 */
export function ViewsChart({ byDay, today = new Date() }: ViewsChartProps) {
  const days = dailyViews(byDay, today);
  const most = Math.max(1, ...days.map((d) => d.views));
  const label = (day: string) => fullDay.format(new Date(`${day}T00:00:00Z`));
  return (
    <figure className="views-chart" data-testid="views-chart">
      <figcaption className="views-chart-caption">Views per day, last {days.length} days (UTC)</figcaption>
      <div className="views-chart-bars" aria-hidden="true">
        {days.map(({ day, views }) => (
          <div
            key={day}
            className="views-chart-day"
            title={`${label(day)}: ${views === 1 ? "1 view" : `${views} views`}`}
          >
            <span className="views-chart-count">{views > 0 ? views : ""}</span>
            <span
              className={`views-chart-bar ${views === 0 ? "is-empty" : ""}`}
              style={{ "--share": views / most } as CSSProperties}
            />
            <span className="views-chart-label">{dayNumber.format(new Date(`${day}T00:00:00Z`))}</span>
          </div>
        ))}
      </div>
      <table className="visually-hidden" data-testid="views-table">
        <caption>Views per day</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            <th scope="col">Views</th>
          </tr>
        </thead>
        <tbody>
          {days.map(({ day, views }) => (
            <tr key={day}>
              <th scope="row">
                <time dateTime={day}>{label(day)}</time>
              </th>
              <td>{views}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
