import { useCallback, useEffect, useRef, useState } from "react";

import { ApiError, errorMessage } from "@/lib/api-client";

import { uploadPhoto } from "../api/upload-photo";
import { photoRefusal } from "../utils/photo-rules";

export type PhotoUpload =
  | { state: "none" }
  | { state: "uploading" }
  | { state: "done" }
  /** `canRetry` is false when sending the same file again will be refused again. */
  | { state: "failed"; message: string; canRetry: boolean };

/**
 * Sends the photo chosen while creating, once the page exists, and offers to send it
 * again when that fails: the page itself is made either way.
 */
export function usePhotoUpload(slug: string, editToken: string, photo: File | null) {
  const [upload, setUpload] = useState<PhotoUpload>(photo ? { state: "uploading" } : { state: "none" });
  const started = useRef(false);

  const send = useCallback(async () => {
    if (!photo) return;
    setUpload({ state: "uploading" });
    try {
      await uploadPhoto(slug, photo, editToken);
      setUpload({ state: "done" });
    } catch (error) {
      const refused = error instanceof ApiError && [413, 415, 422].includes(error.status);
      const message = error instanceof ApiError ? photoRefusal(error.code, errorMessage(error)) : errorMessage(error);
      setUpload({ state: "failed", message, canRetry: !refused });
    }
  }, [slug, editToken, photo]);

  useEffect(() => {
    if (started.current || !photo) return;
    started.current = true;
    void send();
  }, [photo, send]);

  return { upload, retry: send };
}
