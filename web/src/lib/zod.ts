import * as z from "zod/mini";

// Answers are checked with zod's small build. `jitless` keeps it from probing for
// `new Function`, which the app's Content-Security-Policy forbids (and reports).
z.config({ jitless: true });

export { z };
