import { describe, expect, it } from "vitest";

import { dailyViews, describeAnswer, describeNoAnswer, describeViews } from "./describe";

const today = new Date("2026-12-14T23:30:00Z");

describe("dailyViews", () => {
  it("covers the last 14 UTC days up to today, days without views included", () => {
    const days = dailyViews(
      [
        { day: "2026-12-03", views: 5 },
        { day: "2026-12-14", views: 2 },
      ],
      today,
    );
    expect(days).toHaveLength(14);
    expect(days[0]).toEqual({ day: "2026-12-01", views: 0 });
    expect(days[2]).toEqual({ day: "2026-12-03", views: 5 });
    expect(days.at(-1)).toEqual({ day: "2026-12-14", views: 2 });
    expect(days.filter((d) => d.views === 0)).toHaveLength(12);
  });

  it("reaches back to the first day with views, up to a month", () => {
    expect(dailyViews([{ day: "2026-11-25", views: 1 }], today)[0]).toEqual({ day: "2026-11-25", views: 1 });
    expect(dailyViews([{ day: "2026-01-01", views: 1 }], today)).toHaveLength(31);
  });

  it("counts days in UTC whatever the hour", () => {
    expect(dailyViews([], new Date("2026-12-14T00:00:00Z")).at(-1)?.day).toBe("2026-12-14");
  });
});

describe("the words for it", () => {
  it("tells the answer", () => {
    const at = "2026-12-03T20:15:00Z";
    expect(describeAnswer({ answer: "yes", dodges: 2, answered_at: at })).toBe('Said yes after "No" ran away twice');
    expect(describeAnswer({ answer: "yes", dodges: 1, answered_at: at })).toBe('Said yes after "No" ran away once');
    expect(describeAnswer({ answer: "yes", dodges: 7, answered_at: at })).toBe('Said yes after "No" ran away 7 times');
    expect(describeAnswer({ answer: "yes", dodges: 0, answered_at: at })).toBe("Said yes right away");
    expect(describeAnswer({ answer: "heart", dodges: 0, answered_at: at })).toBe("Sent a heart back");
    expect(describeNoAnswer("proposal")).toBe("No answer yet");
    expect(describeNoAnswer("envelope")).toBe("No heart back yet");
  });

  it("counts views", () => {
    expect([0, 1, 12].map(describeViews)).toEqual(["No views yet", "1 view", "12 views"]);
  });
});
