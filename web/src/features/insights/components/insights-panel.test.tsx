import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { sampleInsights } from "@/testing/http";

import { InsightsPanel } from "./insights-panel";

const today = new Date("2026-12-14T12:00:00Z");

describe("InsightsPanel", () => {
  it("says plainly that nothing happened yet", () => {
    render(<InsightsPanel insights={sampleInsights} templateId="proposal" link="live" today={today} />);
    expect(screen.getByTestId("insights-opened").textContent).toContain("Not opened yet");
    expect(screen.getByTestId("insights-opened").dataset.state).toBe("waiting");
    expect(screen.getByTestId("insights-views").textContent).toContain("No views yet");
    expect(screen.getByTestId("insights-answer").textContent).toContain("No answer yet");
    expect(screen.getByTestId("insights-link").textContent).toMatch(/Live/);
  });

  it("shows the first open, the views and the answer with their times", () => {
    render(
      <InsightsPanel
        insights={{
          ...sampleInsights,
          first_opened_at: "2026-12-03T20:14:00Z",
          views_total: 7,
          views_by_day: [
            { day: "2026-12-03", views: 5 },
            { day: "2026-12-14", views: 2 },
          ],
          answer: { answer: "yes", dodges: 2, answered_at: "2026-12-03T20:15:00Z" },
        }}
        templateId="proposal"
        link="polling"
        today={today}
      />,
    );
    const opened = screen.getByTestId("insights-opened");
    expect(opened.dataset.state).toBe("opened");
    expect(opened.querySelector("time")?.getAttribute("dateTime")).toBe("2026-12-03T20:14:00Z");
    expect(screen.getByTestId("insights-views").textContent).toContain("7 views");
    const answer = screen.getByTestId("insights-answer");
    expect(answer.textContent).toContain('Said yes after "No" ran away twice');
    expect(answer.querySelector("time")?.getAttribute("dateTime")).toBe("2026-12-03T20:15:00Z");
    // The facts are announced as they change.
    expect(opened.closest("[aria-live=polite]")).not.toBeNull();
    expect(screen.getByTestId("insights-link").dataset.link).toBe("polling");
  });

  it("draws 14 days of bars as a picture, with the same numbers in a table", () => {
    render(
      <InsightsPanel
        insights={{ ...sampleInsights, views_total: 5, views_by_day: [{ day: "2026-12-03", views: 5 }] }}
        templateId="classic"
        link="live"
        today={today}
      />,
    );
    const chart = screen.getByTestId("views-chart");
    expect(chart.querySelector(".views-chart-bars")?.getAttribute("aria-hidden")).toBe("true");
    expect(chart.querySelectorAll(".views-chart-bar")).toHaveLength(14);
    const table = within(screen.getByRole("table", { name: "Views per day" }));
    const rows = table.getAllByRole("row").slice(1);
    expect(rows).toHaveLength(14);
    expect(rows.map((r) => r.querySelector("td")?.textContent)).toEqual([
      "0",
      "0",
      "5",
      ...Array.from({ length: 11 }, () => "0"),
    ]);
    expect(rows[2]?.querySelector("time")?.getAttribute("dateTime")).toBe("2026-12-03");
    expect(screen.getByTestId("insights-answer").textContent).toContain("No heart back yet");
  });
});
