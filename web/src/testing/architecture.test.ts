import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";

import { describe, expect, it } from "vitest";

// The layout's import rules (shared code → features → app), checked on every test run.
const SRC = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(name) ? [path] : [];
  });
}

const files = sourceFiles(SRC).map((path) => ({
  path: relative(SRC, path).split(sep).join("/"),
  text: readFileSync(path, "utf8"),
}));

function imports(text: string): string[] {
  return [...text.matchAll(/from\s+["']([^"']+)["']/g)].map((m) => m[1]!);
}

describe("source layout", () => {
  it("keeps shared code (components, config, lib) free of features and app", () => {
    const offenders = files
      .filter((f) => /^(components|config|lib)\//.test(f.path))
      .flatMap((f) =>
        imports(f.text)
          .filter((i) => /^@\/(features|app)\//.test(i))
          .map((i) => `${f.path} → ${i}`),
      );
    expect(offenders).toEqual([]);
  });

  it("keeps each feature to itself: features never import one another or the app", () => {
    const offenders = files
      .filter((f) => f.path.startsWith("features/"))
      .flatMap((f) => {
        const own = f.path.split("/")[1];
        return imports(f.text)
          .filter((i) => i.startsWith("@/app/") || (i.startsWith("@/features/") && i.split("/")[2] !== own))
          .map((i) => `${f.path} → ${i}`);
      });
    expect(offenders).toEqual([]);
  });

  it("has no barrel files", () => {
    const barrels = files.filter((f) => /(^|\/)index\.tsx?$/.test(f.path) && /^\s*export \* from/m.test(f.text));
    expect(barrels.map((f) => f.path)).toEqual([]);
  });

  it("never injects raw HTML", () => {
    const html = ["dangerously", "SetInnerHTML"].join("");
    const offenders = files.filter((f) => f.text.includes(html) || /\.innerHTML\s*=/.test(f.text)).map((f) => f.path);
    expect(offenders).toEqual([]);
  });
});
