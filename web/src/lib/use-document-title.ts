import { useEffect } from "react";

const APP_NAME = "Valentine";

/** Sets the tab's title while the calling component is shown. */
export function useDocumentTitle(title: string | null): void {
  useEffect(() => {
    const previous = document.title;
    document.title = title ? `${title} · ${APP_NAME}` : APP_NAME;
    return () => {
      document.title = previous;
    };
  }, [title]);
}
