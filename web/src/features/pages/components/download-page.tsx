import { useEffect, useRef, useState } from "react";

import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { ApiError, errorMessage } from "@/lib/api-client";
import { saveJsonFile } from "@/lib/save-file";
import { isAbortError } from "@/lib/sleep";

import { exportPage } from "../api/export-page";
import { exportFileName } from "../utils/export-file";

type DownloadPageProps = { slug: string; token: string };

/** "Download my page": the page and its every change, saved as a JSON file. */
export function DownloadPage({ slug, token }: DownloadPageProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const pending = useRef<AbortController | null>(null);
  useEffect(() => () => pending.current?.abort(), []);

  const download = async () => {
    if (busy) return;
    const controller = new AbortController();
    pending.current = controller;
    setBusy(true);
    setError(null);
    try {
      const data = await exportPage(slug, token, controller.signal);
      saveJsonFile(exportFileName(data.slug, data.exported_at), data);
    } catch (e) {
      if (controller.signal.aborted || isAbortError(e)) return;
      setError(
        e instanceof ApiError && (e.status === 401 || e.status === 403)
          ? "Your edit link is no longer accepted for this page."
          : errorMessage(e),
      );
    } finally {
      if (!controller.signal.aborted) setBusy(false);
    }
  };

  return (
    <>
      <p id="download-page-hint">
        A file with your page as it is now and every change made to it, to keep on your device.
      </p>
      {error && (
        <Notice tone="error" title="We couldn't download your page" testId="download-error">
          <p>{error}</p>
        </Notice>
      )}
      <button
        type="button"
        className="button"
        onClick={() => void download()}
        disabled={busy}
        aria-describedby="download-page-hint"
        data-testid="download-page"
      >
        {busy ? (
          <>
            <Spinner label="Preparing your file" /> Preparing your file…
          </>
        ) : (
          "Download my page"
        )}
      </button>
    </>
  );
}
