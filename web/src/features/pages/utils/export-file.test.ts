import { describe, expect, it } from "vitest";

import { exportFileName } from "./export-file";

describe("exportFileName", () => {
  it("names the file after the slug and the author's own day of the export", () => {
    const lateEvening = new Date(2026, 11, 2, 23, 30);
    expect(exportFileName("AliceAndBob", lateEvening.toISOString())).toBe("valentine-AliceAndBob-2026-12-02.json");
    const newYear = new Date(2027, 0, 1, 0, 5);
    expect(exportFileName("x-y-z", newYear.toISOString())).toBe("valentine-x-y-z-2027-01-01.json");
  });

  it("uses today when the export's time cannot be read", () => {
    expect(exportFileName("abc", "soon", new Date(2026, 1, 14, 9))).toBe("valentine-abc-2026-02-14.json");
  });
});
