/**
 * `Idempotency-Key` values for creates. The API treats the same key with the same body as
 * the same request, so a retry after a lost answer creates no second page.
 */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === "function") {
    return c.randomUUID();
  }
  // randomUUID exists only in secure contexts (https or localhost); getRandomValues is
  // everywhere, so an app opened over plain http on a LAN address still gets a v4 UUID.
  const bytes = c.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Hands out one key per distinct request body: asking again for the same body (a retry)
 * gives the same key; a changed body gets a fresh one.
 */
export class IdempotencyKeys {
  private body: string | null = null;
  private key = "";

  keyFor(body: string): string {
    if (body !== this.body) {
      this.body = body;
      this.key = newIdempotencyKey();
    }
    return this.key;
  }

  /** Forgets the current key, e.g. once its create has succeeded. */
  reset(): void {
    this.body = null;
    this.key = "";
  }
}
