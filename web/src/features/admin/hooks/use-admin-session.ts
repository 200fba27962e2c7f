import { useCallback, useEffect, useState } from "react";

import { getSession } from "../api/get-session";
import { forgetAdminToken, recallAdminToken, rememberAdminToken } from "../utils/admin-token";
import { consoleErrorText, isTokenRefusal } from "../utils/refusal";

export type AdminSessionState =
  | { kind: "signed-out"; notice: string | null }
  | { kind: "checking" }
  | { kind: "signed-in"; token: string; admin: string }
  /** The kept token could not be checked (no answer, too many requests): try again. */
  | { kind: "failed"; message: string };

/**
 * Who is signed in to the console. A token kept in this tab is checked again on arrival; one
 * the API refuses is forgotten.
 */
export function useAdminSession() {
  const [state, setState] = useState<AdminSessionState>(() =>
    recallAdminToken() === null ? { kind: "signed-out", notice: null } : { kind: "checking" },
  );
  const [round, setRound] = useState(0);

  useEffect(() => {
    const token = recallAdminToken();
    if (token === null) return;
    const controller = new AbortController();
    setState({ kind: "checking" });
    getSession(token, controller.signal).then(
      (admin) => setState({ kind: "signed-in", token, admin }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        if (isTokenRefusal(error)) {
          forgetAdminToken();
          setState({ kind: "signed-out", notice: consoleErrorText(error) });
        } else {
          setState({ kind: "failed", message: consoleErrorText(error) });
        }
      },
    );
    return () => controller.abort();
  }, [round]);

  const signedIn = useCallback((token: string, admin: string) => {
    rememberAdminToken(token);
    setState({ kind: "signed-in", token, admin });
  }, []);

  const signOut = useCallback((notice?: string) => {
    forgetAdminToken();
    setState({ kind: "signed-out", notice: notice ?? null });
  }, []);

  const retry = useCallback(() => setRound((n) => n + 1), []);

  return { state, signedIn, signOut, retry };
}
