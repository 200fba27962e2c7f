import { describe, expect, it } from "vitest";

import { ApiError } from "@/lib/api-client";
import { lastWritePosition } from "@/lib/write-position";
import { json, mockFetch } from "@/testing/http";

import { answerFailure, sendAnswer } from "./send-answer";

const answered = { answer: "yes", dodges: 2, answered_at: "2026-12-03T20:15:00Z" };

async function failureOf(status: number, body: unknown, headers: Record<string, string> = {}) {
  mockFetch(() => json(status, body, headers));
  const error = await sendAnswer("AliceAndBob", { answer: "yes", dodges: 2 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  return answerFailure(error);
}

describe("sendAnswer", () => {
  it("posts the reply and remembers the write's position", async () => {
    const { calls } = mockFetch(() => json(201, answered, { "Valentine-Position": "57" }));
    await expect(sendAnswer("Alice&Bob", { answer: "yes", dodges: 2 })).resolves.toEqual(answered);
    expect(calls[0]).toMatchObject({
      method: "POST",
      url: "/api/pages/Alice%26Bob/answer",
      body: { answer: "yes", dodges: 2 },
    });
    expect(lastWritePosition()).toBe(57);
  });

  it("refuses an answer of the wrong shape", async () => {
    mockFetch(() => json(201, { answer: "maybe", dodges: 0, answered_at: "x" }));
    await expect(sendAnswer("a-page", { answer: "heart", dodges: 0 })).rejects.toMatchObject({
      code: "unexpected_response",
    });
  });
});

describe("answerFailure", () => {
  it("takes 409 already_answered as answered all the same", async () => {
    expect(await failureOf(409, { detail: "This page was already answered", code: "already_answered" })).toEqual({
      kind: "already",
    });
  });

  it("does not offer to resend what the API will refuse again", async () => {
    expect(await failureOf(422, { detail: "A proposal is answered yes", code: "invalid" })).toEqual({
      kind: "refused",
      message: "A proposal is answered yes",
    });
    expect(await failureOf(404, { detail: "Page not found", code: "not_found" })).toMatchObject({
      kind: "refused",
    });
  });

  it("offers a retry after an outage, a limit or no answer at all", async () => {
    expect(await failureOf(503, { detail: "The service is busy", code: "unavailable" })).toEqual({
      kind: "retry",
      message: "The service is busy",
    });
    expect(await failureOf(429, { detail: "Too many", code: "rate_limited" }, { "Retry-After": "30" })).toEqual({
      kind: "retry",
      message: "Whoa, that's a lot of love at once! Please try again in 30 seconds.",
    });
    mockFetch(() => {
      throw new TypeError("Failed to fetch");
    });
    const offline = await sendAnswer("a-page", { answer: "heart", dodges: 0 }).catch((e: unknown) => e);
    expect(answerFailure(offline)).toMatchObject({ kind: "retry", message: expect.stringMatching(/connection/) });
  });

  it("waits for a page that has not opened yet, and asks for a page's PIN", async () => {
    expect(await failureOf(409, { detail: "Not yet", code: "not_revealed" })).toMatchObject({ kind: "retry" });
    expect(await failureOf(401, { detail: "PIN needed", code: "pin_required" })).toMatchObject({ kind: "refused" });
  });

  it("sends the PIN the page was opened with", async () => {
    const { calls } = mockFetch(() => json(201, { answer: "heart", dodges: 0, answered_at: "2027-02-14T09:00:00Z" }));
    await sendAnswer("a-page", { answer: "heart", dodges: 0 }, { pin: "1402" }).catch(() => undefined);
    expect(calls[0]?.headers["x-page-pin"]).toBe("1402");
  });
});
