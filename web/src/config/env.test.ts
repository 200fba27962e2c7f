import { describe, expect, it } from "vitest";

import { parseEnv } from "./env";

describe("parseEnv", () => {
  it("defaults to the origin that served the app", () => {
    expect(parseEnv({})).toEqual({ API_URL: "" });
    expect(parseEnv({ VITE_API_URL: "  " })).toEqual({ API_URL: "" });
  });

  it("takes an http(s) URL without its trailing slash", () => {
    expect(parseEnv({ VITE_API_URL: "https://api.valentine.example/" })).toEqual({
      API_URL: "https://api.valentine.example",
    });
  });

  it("refuses anything else, loudly", () => {
    expect(() => parseEnv({ VITE_API_URL: "ftp://x" })).toThrow(/VITE_API_URL/);
    expect(() => parseEnv({ VITE_API_URL: "api.example" })).toThrow(/VITE_API_URL/);
  });
});
