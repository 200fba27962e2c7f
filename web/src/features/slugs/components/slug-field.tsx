import { Spinner } from "@/components/ui/spinner";

import type { SlugStatus } from "../hooks/use-slug-check";

type SlugFieldProps = {
  value: string;
  onChange: (value: string) => void;
  status: SlugStatus;
  /** Shown before the input: where the page will live, e.g. `valentine.example/`. */
  prefix: string;
  /** Addresses to offer when the status brings none of its own. */
  ideas?: string[];
  onSubmit?: () => void;
};

/** The page address, with a live ✓/✗ verdict and clickable suggestions. */
export function SlugField({ value, onChange, status, prefix, ideas = [], onSubmit }: SlugFieldProps) {
  const suggestions = status.state === "unavailable" && status.suggestions.length > 0 ? status.suggestions : ideas;
  return (
    <div className="field slug-field">
      <label className="field-label" htmlFor="slug">
        Your page's address
      </label>
      <div className={`slug-input-row slug-input-row--${status.state}`}>
        <span className="slug-prefix" aria-hidden="true">
          <span className="slug-prefix-text">{prefix}</span>
        </span>
        <input
          id="slug"
          name="slug"
          type="text"
          inputMode="url"
          autoComplete="off"
          autoCapitalize="none"
          autoCorrect="off"
          spellCheck={false}
          placeholder="alice-and-bob"
          value={value}
          aria-describedby="slug-status slug-rules"
          aria-invalid={status.state === "unavailable" ? true : undefined}
          data-testid="slug-input"
          onChange={(event) => onChange(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter") {
              event.preventDefault();
              onSubmit?.();
            }
          }}
        />
      </div>
      <p id="slug-rules" className="field-hint">
        3–50 letters, numbers or hyphens.
      </p>
      <p
        id="slug-status"
        className={`slug-status slug-status--${status.state}`}
        data-testid="slug-status"
        data-state={status.state}
        aria-live="polite"
      >
        <StatusText status={status} />
      </p>
      {suggestions.length > 0 && (
        <div className="suggestions" data-testid="slug-suggestions">
          <p className="suggestions-label">{status.state === "unavailable" ? "These are free:" : "Ideas:"}</p>
          <ul className="chip-list">
            {suggestions.map((suggestion) => (
              <li key={suggestion}>
                <button
                  type="button"
                  className="chip"
                  data-testid="slug-suggestion"
                  onClick={() => onChange(suggestion)}
                >
                  {suggestion}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function StatusText({ status }: { status: SlugStatus }) {
  switch (status.state) {
    case "idle":
      return <>Pick something short and sweet.</>;
    case "checking":
      return (
        <>
          <Spinner label="Checking" /> Checking…
        </>
      );
    case "available":
      return (
        <>
          <span className="status-icon" aria-hidden="true">
            ✓
          </span>{" "}
          <span className="visually-hidden">Available: </span>
          {status.slug} is free
        </>
      );
    case "unavailable":
      return (
        <>
          <span className="status-icon" aria-hidden="true">
            ✗
          </span>{" "}
          <span className="visually-hidden">Not available: </span>
          {status.reason}
        </>
      );
    case "error":
      return (
        <>
          <span className="status-icon" aria-hidden="true">
            !
          </span>{" "}
          {status.message}
        </>
      );
  }
}
