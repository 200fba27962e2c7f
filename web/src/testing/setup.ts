import { cleanup } from "@testing-library/react";
import { afterEach, vi } from "vitest";

import { forgetWritePosition } from "@/lib/write-position";

// jsdom has no canvas; the app already copes with a missing 2D context, so say so
// quietly instead of letting jsdom print "not implemented" for every canvas.
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

afterEach(() => {
  cleanup();
  window.sessionStorage.clear();
  window.localStorage.clear();
  forgetWritePosition();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});
