import { useState } from "react";

import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";

import { getSession } from "../api/get-session";
import { consoleErrorText } from "../utils/refusal";

type SignInFormProps = {
  /** Why the admin is here again (a token refused since), shown above the form. */
  notice: string | null;
  onSignedIn: (token: string, admin: string) => void;
};

/** Asks for an admin token and checks it with the API before anything else is shown. */
export function SignInForm({ notice, onSignedIn }: SignInFormProps) {
  const [token, setToken] = useState("");
  const [checking, setChecking] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const submit = async () => {
    const value = token.trim();
    if (value === "") {
      setProblem("Please enter your admin token.");
      return;
    }
    setChecking(true);
    setProblem(null);
    try {
      const admin = await getSession(value);
      onSignedIn(value, admin);
    } catch (error) {
      setProblem(consoleErrorText(error));
      setChecking(false);
    }
  };

  return (
    <section className="panel admin-sign-in" aria-labelledby="admin-sign-in-title" data-testid="admin-sign-in">
      <h1 id="admin-sign-in-title" className="screen-title">
        Console
      </h1>
      <p>For moderators and auditors. Sign in with the admin token you were given.</p>
      {notice && (
        <Notice tone="warning" testId="admin-signed-out-notice">
          <p>{notice}</p>
        </Notice>
      )}
      <form
        className="token-form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <div className="field">
          <label className="field-label" htmlFor="admin-token">
            Admin token
          </label>
          <input
            id="admin-token"
            name="admin-token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={token}
            onChange={(event) => setToken(event.target.value)}
            aria-invalid={problem ? true : undefined}
            aria-describedby="admin-token-hint"
            data-testid="admin-token-input"
          />
          <span className="field-hint" id="admin-token-hint">
            Kept in this tab only, until you sign out or close it.
          </span>
        </div>
        {problem && (
          <Notice tone="error" testId="admin-sign-in-error">
            <p>{problem}</p>
          </Notice>
        )}
        <button type="submit" className="button button--primary" disabled={checking} data-testid="admin-sign-in-submit">
          {checking ? (
            <>
              <Spinner label="Checking" /> Checking…
            </>
          ) : (
            "Sign in"
          )}
        </button>
      </form>
    </section>
  );
}
