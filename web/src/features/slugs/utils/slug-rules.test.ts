import { describe, expect, it } from "vitest";

import { slugFormatProblem } from "./slug-rules";

describe("slugFormatProblem", () => {
  it("accepts letters, digits and inner hyphens of 3 to 50 characters", () => {
    for (const slug of ["abc", "Alice-and-Bob", "a-1", "x".repeat(50), "2026"]) {
      expect(slugFormatProblem(slug)).toBeNull();
    }
  });

  it("says what is wrong in the API's words and order", () => {
    expect(slugFormatProblem("ab")).toBe("Slug must be at least 3 characters");
    expect(slugFormatProblem("x".repeat(51))).toBe("Slug must be at most 50 characters");
    expect(slugFormatProblem("-abc")).toBe("Slug must start and end with a letter or number");
    expect(slugFormatProblem("abc-")).toBe("Slug must start and end with a letter or number");
    // Characters are checked first, so a short slug with a space is about the space.
    expect(slugFormatProblem("a b")).toBe("Slug can only contain letters, numbers and hyphens");
  });

  it("never trims: whitespace, dots and non-ASCII letters are invalid", () => {
    for (const slug of ["alice\n", " alice", "al.ice", "..", "café", "alice_bob", "a/b"]) {
      expect(slugFormatProblem(slug)).toBe("Slug can only contain letters, numbers and hyphens");
    }
  });
});
