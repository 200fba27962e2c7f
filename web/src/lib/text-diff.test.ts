import { describe, expect, it } from "vitest";

import { diffWords } from "./text-diff";

describe("diffWords", () => {
  it("keeps what both share and marks what changed, word by word", () => {
    expect(diffWords("Meet me at noon", "Meet me at dawn")).toEqual([
      { kind: "same", text: "Meet me at " },
      { kind: "removed", text: "noon" },
      { kind: "added", text: "dawn" },
    ]);
  });

  it("gives each text back when its parts are joined", () => {
    const before = "Roses are red,\nviolets are blue";
    const after = "Roses are red,\nskies are blue,\nand so are you";
    const parts = diffWords(before, after);
    const text = (kinds: string[]) =>
      parts
        .filter((p) => kinds.includes(p.kind))
        .map((p) => p.text)
        .join("");
    expect(text(["same", "removed"])).toBe(before);
    expect(text(["same", "added"])).toBe(after);
  });

  it("handles an empty side", () => {
    expect(diffWords("", "Hello")).toEqual([{ kind: "added", text: "Hello" }]);
    expect(diffWords("Hello", "")).toEqual([{ kind: "removed", text: "Hello" }]);
    expect(diffWords("", "")).toEqual([]);
  });

  it("shows very long texts whole rather than comparing them slowly", () => {
    const before = "a ".repeat(600);
    const after = "b ".repeat(600);
    expect(diffWords(before, after)).toEqual([
      { kind: "removed", text: before },
      { kind: "added", text: after },
    ]);
  });
});
