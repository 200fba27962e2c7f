import { describe, expect, it } from "vitest";

import { forgetToken, recallToken, rememberToken, tokenFromHash, tokenFromInput } from "./edit-token";

const TOKEN = "CCUpzItJt1DXRo2sRDeD_Ld4rqi0efZWlqmvMw79JTk";

describe("tokenFromHash", () => {
  it("reads #token=", () => {
    expect(tokenFromHash(`#token=${TOKEN}`)).toBe(TOKEN);
    expect(tokenFromHash(`token=${TOKEN}`)).toBe(TOKEN);
    expect(tokenFromHash(`#x=1&token=${TOKEN}`)).toBe(TOKEN);
  });

  it("finds nothing in an empty or unrelated fragment", () => {
    expect(tokenFromHash("")).toBeNull();
    expect(tokenFromHash("#")).toBeNull();
    expect(tokenFromHash("#token=")).toBeNull();
    expect(tokenFromHash("#section")).toBeNull();
  });
});

describe("tokenFromInput", () => {
  it("takes a whole edit link, a fragment or the bare token", () => {
    expect(tokenFromInput(`https://valentine.example/Alice/edit#token=${TOKEN}`)).toBe(TOKEN);
    expect(tokenFromInput(`  #token=${TOKEN} `)).toBe(TOKEN);
    expect(tokenFromInput(`token=${TOKEN}`)).toBe(TOKEN);
    expect(tokenFromInput(TOKEN)).toBe(TOKEN);
  });

  it("refuses what cannot be a token", () => {
    expect(tokenFromInput("")).toBeNull();
    expect(tokenFromInput("https://valentine.example/Alice")).toBeNull();
    expect(tokenFromInput("not a token")).toBeNull();
  });
});

describe("remembered tokens", () => {
  it("are kept per page, whatever the slug's casing", () => {
    rememberToken("AliceAndBob", TOKEN);
    expect(recallToken("aliceandbob")).toBe(TOKEN);
    expect(recallToken("someone-else")).toBeNull();
    forgetToken("ALICEANDBOB");
    expect(recallToken("AliceAndBob")).toBeNull();
  });
});
