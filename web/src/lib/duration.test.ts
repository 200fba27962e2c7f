import { describe, expect, it } from "vitest";

import { clockFace, describeDuration, splitDuration } from "./duration";

describe("splitDuration", () => {
  it("splits into days, hours, minutes and seconds, rounding up to a whole second", () => {
    expect(splitDuration(((2 * 24 + 3) * 3600 + 4 * 60 + 5) * 1000)).toEqual({
      days: 2,
      hours: 3,
      minutes: 4,
      seconds: 5,
    });
    expect(splitDuration(1)).toEqual({ days: 0, hours: 0, minutes: 0, seconds: 1 });
    expect(splitDuration(9_001)).toEqual({ days: 0, hours: 0, minutes: 0, seconds: 10 });
  });

  it("is all zero for nothing, the past or nonsense", () => {
    const zero = { days: 0, hours: 0, minutes: 0, seconds: 0 };
    expect(splitDuration(0)).toEqual(zero);
    expect(splitDuration(-5000)).toEqual(zero);
    expect(splitDuration(Number.NaN)).toEqual(zero);
    expect(splitDuration(Number.POSITIVE_INFINITY)).toEqual(zero);
  });
});

describe("clockFace", () => {
  it("shows only the units it needs", () => {
    expect(clockFace(65_000)).toBe("01:05");
    expect(clockFace(3_600_000)).toBe("01:00:00");
    expect(clockFace((86_400 + 61) * 1000)).toBe("1d 00:01:01");
    expect(clockFace(0)).toBe("00:00");
  });
});

describe("describeDuration", () => {
  it("says the two largest units in words", () => {
    expect(describeDuration((2 * 86_400 + 3 * 3600 + 59) * 1000)).toBe("2 days, 3 hours");
    expect(describeDuration((86_400 + 30) * 1000)).toBe("1 day");
    expect(describeDuration(61_000)).toBe("1 minute, 1 second");
    expect(describeDuration(0)).toBe("0 seconds");
  });
});
