import { afterEach, describe, expect, it, vi } from "vitest";

import {
  describeRevealTime,
  hasRevealed,
  localInputToDate,
  localInputToRfc3339,
  revealInputBounds,
  revealTimeProblem,
  rfc3339ToLocalInput,
  toRfc3339,
} from "./reveal-time";

/** A date whose `getTimezoneOffset` says `offsetMinutes` east of UTC, as a browser in that zone would. */
function inZone(date: Date, offsetMinutes: number): Date {
  vi.spyOn(date, "getTimezoneOffset").mockReturnValue(-offsetMinutes);
  return date;
}

afterEach(() => vi.restoreAllMocks());

describe("toRfc3339", () => {
  it("writes the local time with the browser's offset, east or west of UTC", () => {
    const date = new Date(2027, 1, 14, 9, 30, 5);
    expect(toRfc3339(inZone(date, 60))).toBe("2027-02-14T09:30:05+01:00");
    expect(toRfc3339(inZone(date, -300))).toBe("2027-02-14T09:30:05-05:00");
    expect(toRfc3339(inZone(date, 330))).toBe("2027-02-14T09:30:05+05:30");
    expect(toRfc3339(inZone(date, -570))).toBe("2027-02-14T09:30:05-09:30");
    expect(toRfc3339(inZone(date, 0))).toBe("2027-02-14T09:30:05+00:00");
  });

  it("names the same instant the browser means", () => {
    const date = new Date(2027, 6, 1, 23, 45);
    expect(Date.parse(toRfc3339(date))).toBe(date.getTime());
  });
});

describe("localInputToRfc3339", () => {
  it("reads a datetime-local value as local time", () => {
    const text = localInputToRfc3339("2027-02-14T09:30");
    expect(text).toMatch(/^2027-02-14T09:30:00[+-]\d{2}:\d{2}$/);
    expect(Date.parse(text!)).toBe(new Date(2027, 1, 14, 9, 30).getTime());
  });

  it("refuses what is not a date and time, or no real day", () => {
    expect(localInputToRfc3339("")).toBeNull();
    expect(localInputToRfc3339("tomorrow")).toBeNull();
    expect(localInputToRfc3339("2027-02-14")).toBeNull();
    expect(localInputToRfc3339("2027-02-30T10:00")).toBeNull();
    expect(localInputToRfc3339("2027-13-01T10:00")).toBeNull();
    expect(localInputToDate("2027-02-14T25:00")).toBeNull();
  });
});

describe("rfc3339ToLocalInput", () => {
  it("shows a stored time in the browser's zone, whatever offset it was written with", () => {
    const at = new Date(2027, 1, 14, 9, 30);
    expect(rfc3339ToLocalInput(at.toISOString())).toBe("2027-02-14T09:30");
    expect(rfc3339ToLocalInput(toRfc3339(at))).toBe("2027-02-14T09:30");
  });

  it("is blank for none or nonsense", () => {
    expect(rfc3339ToLocalInput(null)).toBe("");
    expect(rfc3339ToLocalInput("soon")).toBe("");
  });
});

describe("revealTimeProblem", () => {
  const now = new Date(2027, 1, 1, 12, 0).getTime();

  it("takes blank (opens at once) and a time within the year", () => {
    expect(revealTimeProblem("", now)).toBeNull();
    expect(revealTimeProblem("2027-02-14T09:30", now)).toBeNull();
  });

  it("asks for a future time within a year", () => {
    expect(revealTimeProblem("2027-02-01T11:59", now)).toBe("Choose a time in the future");
    expect(revealTimeProblem("2027-02-01T12:00", now)).toBe("Choose a time in the future");
    expect(revealTimeProblem("2028-02-14T09:30", now)).toBe("Choose a time within a year from now");
    expect(revealTimeProblem("2027-02-31T09:30", now)).toBe("Choose a date and a time");
  });

  it("offers picker bounds from the next minute to a year ahead", () => {
    expect(revealInputBounds(now)).toEqual({ min: "2027-02-01T12:01", max: "2028-02-01T12:00" });
  });
});

describe("hasRevealed", () => {
  it("is true without a time, and once the time has come", () => {
    const now = Date.parse("2027-02-14T09:00:00Z");
    expect(hasRevealed(null, now)).toBe(true);
    expect(hasRevealed("2027-02-14T09:00:00Z", now)).toBe(true);
    expect(hasRevealed("2027-02-14T10:00:01+01:00", now)).toBe(false);
    expect(describeRevealTime("2027-02-14T09:00:00Z")).toMatch(/2027/);
  });
});
