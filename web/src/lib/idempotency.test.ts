import { describe, expect, it, vi } from "vitest";

import { IdempotencyKeys, newIdempotencyKey } from "./idempotency";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("IdempotencyKeys", () => {
  it("gives a retry of the same body the same key", () => {
    const keys = new IdempotencyKeys();
    const first = keys.keyFor('{"slug":"alice"}');
    expect(first).toMatch(UUID_V4);
    expect(keys.keyFor('{"slug":"alice"}')).toBe(first);
  });

  it("gives a changed body a new key", () => {
    const keys = new IdempotencyKeys();
    const first = keys.keyFor('{"slug":"alice"}');
    const second = keys.keyFor('{"slug":"alice2"}');
    expect(second).not.toBe(first);
    expect(keys.keyFor('{"slug":"alice"}')).not.toBe(first);
  });

  it("starts afresh after reset", () => {
    const keys = new IdempotencyKeys();
    const first = keys.keyFor("body");
    keys.reset();
    expect(keys.keyFor("body")).not.toBe(first);
  });
});

describe("newIdempotencyKey", () => {
  it("makes a v4 UUID even where crypto.randomUUID is missing (plain http)", () => {
    const real = globalThis.crypto;
    vi.stubGlobal("crypto", {
      getRandomValues: <T extends ArrayBufferView>(array: T) => real.getRandomValues(array as never) as T,
    });
    expect(globalThis.crypto.randomUUID).toBeUndefined();
    const keys = new Set(Array.from({ length: 50 }, () => newIdempotencyKey()));
    expect(keys.size).toBe(50);
    for (const key of keys) expect(key).toMatch(UUID_V4);
  });
});
