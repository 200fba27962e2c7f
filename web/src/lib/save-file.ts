/** How long the file's object URL is kept: the browser reads it after the click returns. */
const REVOKE_AFTER_MS = 10_000;

/**
 * Hands `value` to the browser as a JSON file named `fileName` (indented by two spaces),
 * through an object URL and a short-lived `<a download>`.
 */
export function saveJsonFile(fileName: string, value: unknown): void {
  const blob = new Blob([`${JSON.stringify(value, null, 2)}\n`], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  try {
    link.click();
  } finally {
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
  }
}
