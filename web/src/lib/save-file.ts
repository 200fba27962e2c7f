/** How long the file's object URL is kept: the browser reads it after the click returns. */
const REVOKE_AFTER_MS = 10_000;

/** Hands `blob` to the browser as a file named `fileName`, through an object URL and a short-lived `<a download>`. */
export function saveBlobFile(fileName: string, blob: Blob): void {
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

/** Hands `value` to the browser as a JSON file named `fileName` (indented by two spaces). */
export function saveJsonFile(fileName: string, value: unknown): void {
  saveBlobFile(fileName, new Blob([`${JSON.stringify(value, null, 2)}\n`], { type: "application/json" }));
}
