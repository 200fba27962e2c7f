import { describe, expect, it } from "vitest";

import { clockOffset, msUntil, serverNow } from "./server-clock";

const LOCAL = Date.parse("2027-02-14T09:00:00.000Z");

describe("clockOffset", () => {
  it("measures a server clock ahead of the browser's, from the middle of the header's second", () => {
    expect(clockOffset("Sun, 14 Feb 2027 09:00:30 GMT", LOCAL)).toBe(30_500);
  });

  it("measures a server clock behind the browser's as negative", () => {
    expect(clockOffset("Sun, 14 Feb 2027 08:58:00 GMT", LOCAL)).toBe(-119_500);
  });

  it("trusts the browser when the header is missing or unreadable", () => {
    expect(clockOffset(null, LOCAL)).toBe(0);
    expect(clockOffset(undefined, LOCAL)).toBe(0);
    expect(clockOffset("", LOCAL)).toBe(0);
    expect(clockOffset("soon", LOCAL)).toBe(0);
    expect(clockOffset("Sun, 14 Feb 2027 09:00:30 GMT", Number.NaN)).toBe(0);
  });
});

describe("msUntil", () => {
  it("counts on the server's clock", () => {
    // The server is a minute ahead: a reveal two minutes away on the browser's clock is one minute away.
    expect(msUntil("2027-02-14T09:02:00Z", 60_000, LOCAL)).toBe(60_000);
    expect(serverNow(60_000, LOCAL)).toBe(LOCAL + 60_000);
  });

  it("reads times with any offset", () => {
    expect(msUntil("2027-02-14T10:00:10+01:00", 0, LOCAL)).toBe(10_000);
    expect(msUntil("2027-02-14T04:00:10-05:00", 0, LOCAL)).toBe(10_000);
  });

  it("never goes below zero, and a bad time is due now", () => {
    expect(msUntil("2027-02-14T08:00:00Z", 0, LOCAL)).toBe(0);
    expect(msUntil("not a time", 0, LOCAL)).toBe(0);
  });
});
