import { Notice } from "@/components/ui/notice";

import { useAdmin } from "../hooks/admin-context";
import { consoleErrorText, isTokenRefusal } from "../utils/refusal";

type ConsoleErrorProps = { error: unknown; onRetry?: () => void; testId?: string };

/** A failed console request: what went wrong, a retry, and a way back to sign-in when the token was refused. */
export function ConsoleError({ error, onRetry, testId }: ConsoleErrorProps) {
  const { signOut } = useAdmin();
  const refused = isTokenRefusal(error);
  return (
    <Notice tone="error" testId={testId ?? "console-error"}>
      <p>{consoleErrorText(error)}</p>
      <div className="button-row">
        {refused ? (
          <button type="button" className="button button--small" onClick={() => signOut(consoleErrorText(error))}>
            Sign in again
          </button>
        ) : (
          onRetry && (
            <button type="button" className="button button--small" onClick={onRetry}>
              Try again
            </button>
          )
        )}
      </div>
    </Notice>
  );
}
