import { describe, expect, it, vi } from "vitest";

import { forgetPin, pinProblem, recallPin, rememberPin } from "./page-pin";

describe("pinProblem", () => {
  it("takes 4 to 64 characters, counted as people see them", () => {
    expect(pinProblem("1234")).toBeNull();
    expect(pinProblem("our song")).toBeNull();
    expect(pinProblem("💌💌💌💌")).toBeNull();
    expect(pinProblem("x".repeat(64))).toBeNull();
    expect(pinProblem("123")).toBe("Use at least 4 characters");
    expect(pinProblem("💌💌")).toBe("Use at least 4 characters");
    expect(pinProblem("x".repeat(65))).toBe("Use at most 64 characters (this is 65)");
  });

  it("refuses only spaces and control characters", () => {
    expect(pinProblem("     ")).toMatch(/not only spaces/);
    expect(pinProblem("12\n34")).toMatch(/can't be typed/);
    expect(pinProblem("12\u000734")).toMatch(/can't be typed/);
  });
});

describe("the PIN kept for a page", () => {
  it("is kept per page in this tab, whatever the slug's case", () => {
    expect(recallPin("AliceAndBob")).toBeNull();
    rememberPin("AliceAndBob", "1402");
    expect(recallPin("aliceandbob")).toBe("1402");
    expect(recallPin("someone-else")).toBeNull();
    expect(window.localStorage.length).toBe(0);
    forgetPin("ALICEANDBOB");
    expect(recallPin("AliceAndBob")).toBeNull();
  });

  it("does without storage", () => {
    vi.spyOn(Storage.prototype, "setItem").mockImplementation(() => {
      throw new Error("denied");
    });
    vi.spyOn(Storage.prototype, "getItem").mockImplementation(() => {
      throw new Error("denied");
    });
    expect(() => rememberPin("AliceAndBob", "1402")).not.toThrow();
    expect(recallPin("AliceAndBob")).toBeNull();
    vi.restoreAllMocks();
  });
});
