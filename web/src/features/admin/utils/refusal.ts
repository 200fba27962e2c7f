import { ApiError, describeWait, errorMessage } from "@/lib/api-client";

/** Whether the API refused the token itself (missing, wrong, or the console turned off). */
export function isTokenRefusal(error: unknown): error is ApiError {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}

/** What to tell an admin about a failed console request. */
export function consoleErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "admin_token_required") return "Please enter your admin token.";
    if (error.code === "wrong_admin_token") return "This token is not accepted. Check that you copied all of it.";
    if (error.code === "admin_disabled")
      return "The console is turned off on this server: no admin token is configured.";
    if (error.status === 429) {
      const wait = error.retryAfter !== null ? describeWait(error.retryAfter) : "a little while";
      return `Too many requests. Try again in ${wait}.`;
    }
  }
  return errorMessage(error);
}
