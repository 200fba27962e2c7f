import { useState } from "react";

import { tokenFromInput } from "@/features/pages/utils/edit-token";

/** Takes the private edit link (or just its token) when the address bar has none. */
export function TokenForm({ onToken }: { onToken: (token: string) => void }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="token-form"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        const token = tokenFromInput(value);
        if (!token) {
          setError("That doesn't look like an edit link. It ends with #token= and a long code.");
          return;
        }
        setError(null);
        onToken(token);
      }}
    >
      <div className={`field ${error ? "field--error" : ""}`}>
        <label className="field-label" htmlFor="edit-token">
          Private edit link
        </label>
        <input
          id="edit-token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={value}
          onChange={(event) => setValue(event.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby="edit-token-error"
          data-testid="token-input"
        />
        <p className="field-error" id="edit-token-error">
          {error}
        </p>
      </div>
      <button type="submit" className="button button--primary" data-testid="use-token">
        Open the editor
      </button>
    </form>
  );
}
