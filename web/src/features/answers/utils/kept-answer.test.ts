import { describe, expect, it } from "vitest";

import { keepAnswer, recallAnswer } from "./kept-answer";

const yes = { answer: "yes", dodges: 2, answered_at: "2026-12-03T20:15:00Z", already: false } as const;

describe("the kept answer", () => {
  it("is kept per page: its slug, in any case, and its id", () => {
    keepAnswer("AliceAndBob", 2, yes);
    expect(recallAnswer("AliceAndBob", 2)).toEqual(yes);
    expect(recallAnswer("aliceandbob", 2)).toEqual(yes);
    // The same address, now a new page: it has not been answered.
    expect(recallAnswer("AliceAndBob", 3)).toBeNull();
    expect(recallAnswer("someone-else", 2)).toBeNull();
  });

  it("lasts across reloads, in localStorage", () => {
    keepAnswer("a-page", 9, { answer: "heart", dodges: 0, answered_at: null, already: true });
    expect(window.localStorage.getItem("valentine:answer:a-page:9")).toContain('"heart"');
  });

  it("ignores what it cannot read", () => {
    window.localStorage.setItem("valentine:answer:a-page:1", "{not json");
    window.localStorage.setItem("valentine:answer:a-page:2", JSON.stringify({ answer: "maybe" }));
    expect(recallAnswer("a-page", 1)).toBeNull();
    expect(recallAnswer("a-page", 2)).toBeNull();
  });
});
